import { spawnSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import path from 'node:path';

/** What a test needs to know about an external tool: where it is, or why its checks skip. */
export type Tool = {
  /** Absolute path, or null when the tool is not installed. */
  path: string | null;
  /** True when the checks should skip: the tool is missing and this is not CI. */
  skip: boolean;
  /** Message for an assertion that the tool exists (fails in CI, where a missing tool is a bug). */
  missing: string;
};

// Debian puts nginx in /usr/sbin, which a non-root PATH often lacks.
const EXTRA_DIRS = ['/usr/sbin', '/usr/local/sbin', '/usr/local/bin', '/usr/bin', '/sbin'];

/**
 * Finds an executable on PATH (plus the sbin directories). Outside CI a missing tool makes its
 * tests skip; with CI=true they run and fail on the `missing` message, as the CI setup
 * (.ci/apt-infra.txt) must have installed it.
 */
export function findTool(name: string, howToInstall: string): Tool {
  const dirs = [...(process.env.PATH ?? '').split(path.delimiter), ...EXTRA_DIRS].filter(Boolean);
  let found: string | null = null;
  for (const dir of dirs) {
    const candidate = path.join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      found = candidate;
      break;
    } catch {
      // not in this directory
    }
  }
  return {
    path: found,
    skip: found === null && process.env.CI !== 'true',
    missing: `${name} is not installed (${howToInstall})`,
  };
}

/** Result of a finished command. */
export type RunResult = { status: number | null; stdout: string; stderr: string; output: string };

/** Runs a command to completion without a shell; never throws on a non-zero exit. */
export function run(
  command: string,
  args: readonly string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): RunResult {
  const result = spawnSync(command, args, {
    cwd: options.cwd,
    env: options.env ?? process.env,
    encoding: 'utf8',
    timeout: options.timeoutMs ?? 60_000,
  });
  if (result.error) throw result.error;
  const stdout = result.stdout ?? '';
  const stderr = result.stderr ?? '';
  return { status: result.status, stdout, stderr, output: `${stdout}\n${stderr}` };
}

/** The repository root (test/infra/../..). */
export const REPO_ROOT = path.resolve(import.meta.dirname, '..', '..');
