import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Polls `check` until it returns true, at most `tries` times `intervalMs` apart.
 * @throws {Error} naming `what` when it never became true.
 */
export async function waitFor(
  what: string,
  check: () => Promise<boolean>,
  tries = 100,
  intervalMs = 100,
): Promise<void> {
  for (let attempt = 0; attempt < tries; attempt++) {
    if (await check().catch(() => false)) return;
    await sleep(intervalMs);
  }
  throw new Error(`gave up waiting for ${what} after ${tries} tries`);
}
