import type { Config } from '../config.ts';
import type { EnvironmentSpec } from '../core/environment.ts';
import { findEnvironment } from '../core/environment.ts';

export type EnvironmentArgument =
  | { ok: true; env: EnvironmentSpec }
  | { ok: false; reason: 'usage' | 'unknown_environment'; message: string };

/**
 * The environment a command names, or why not: its usage line when none is given, the configured
 * names when the name is unknown. What the user typed is echoed clipped and without control
 * characters.
 */
export function environmentArgument(
  config: Readonly<Config>,
  given: string | undefined,
  usage: string,
): EnvironmentArgument {
  const names = config.environments.map((e) => e.name).join(', ');
  if (!given) return { ok: false, reason: 'usage', message: `${usage} Environments: ${names}.` };
  const env = findEnvironment(config.environments, given);
  if (!env) {
    return {
      ok: false,
      reason: 'unknown_environment',
      message: `There is no environment "${clipArgument(given)}". Environments: ${names}.`,
    };
  }
  return { ok: true, env };
}

/** A user's argument as it may be echoed: one line, control characters as spaces, at most 40 characters. */
export function clipArgument(text: string): string {
  const oneLine = text.replace(/\p{Cc}/gu, ' ');
  return oneLine.length > 40 ? `${oneLine.slice(0, 40)}…` : oneLine;
}
