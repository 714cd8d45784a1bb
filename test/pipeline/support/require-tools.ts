import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

/** The first executable called `name` on PATH (or the absolute path itself), or null. */
export function which(name: string): string | null {
  const candidates = name.includes('/')
    ? [name]
    : (process.env.PATH ?? '')
        .split(delimiter)
        .concat(['/usr/sbin', '/sbin'])
        .map((dir) => join(dir, name));
  for (const candidate of candidates) {
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here; keep looking
    }
  }
  return null;
}

/** Names from `tools` that are not installed, each with the Debian package that provides it. */
export function missingTools(tools: Readonly<Record<string, string>>): string[] {
  return Object.entries(tools)
    .filter(([tool]) => which(tool) === null)
    .map(([tool, pkg]) => `${tool} (Debian package ${pkg})`);
}

/**
 * Why a suite that needs real tools cannot run here, or null when it can.
 * Under `CI=true` the caller turns a reason into a failure instead of a skip.
 */
export function unavailableReason(tools: Readonly<Record<string, string>>, needsRoot = false): string | null {
  const missing = missingTools(tools);
  const reasons: string[] = [];
  if (missing.length > 0) reasons.push(`missing ${missing.join(', ')}`);
  if (needsRoot && process.getuid?.() !== 0) reasons.push('needs root (sshd and rootful podman)');
  return reasons.length > 0 ? reasons.join('; ') : null;
}

/** True when a missing tool must fail the run rather than skip (CI promises every tool). */
export const mustHaveTools = process.env.CI === 'true';
