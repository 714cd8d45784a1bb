import type { ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { runProcess } from './run-process.ts';

/**
 * Teardown that waits for the processes a test started instead of racing them.
 *
 * A temp dir is removed only once nothing uses it any more. Podman is the reason this exists:
 * when a container stops, its conmon runs `podman container cleanup` as a detached process
 * (not a child of anything the test started) that writes into the lab's storage and run
 * directories a few hundred milliseconds later. `rmSync` racing it failed with ENOTEMPTY.
 */

/** True once `child` has exited (by code or by signal). */
export function hasExited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

/**
 * Stops a child: SIGTERM, up to `graceMs` to exit, then SIGKILL, and waits for the exit either
 * way (a SIGKILLed process is gone within milliseconds unless the kernel is stuck).
 * @throws {Error} when it still has not exited 10 s after SIGKILL.
 */
export async function stopChild(child: ChildProcess, graceMs = 5000, signal: NodeJS.Signals = 'SIGTERM') {
  if (hasExited(child)) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill(signal);
  if (await Promise.race([exited.then(() => true), sleep(graceMs).then(() => false)])) return;
  child.kill('SIGKILL');
  const killed = await Promise.race([exited.then(() => true), sleep(10_000).then(() => false)]);
  if (!killed) throw new Error(`process ${child.pid} did not exit after SIGKILL`);
}

const within = (path: string, dir: string): boolean => path === dir || path.startsWith(`${dir}/`);

/**
 * Processes (other than this one) whose command line names `dir`, or whose working directory,
 * root or an open file is inside it. A unique temp dir is only ever named by what the test
 * started, so these are ours.
 */
export function processesUsing(dir: string): { pid: number; command: string }[] {
  const found: { pid: number; command: string }[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    const base = `/proc/${entry}`;
    try {
      const command = readFileSync(`${base}/cmdline`, 'utf8').split('\0').join(' ').trim();
      const links = [`${base}/cwd`, `${base}/root`];
      try {
        for (const fd of readdirSync(`${base}/fd`)) links.push(`${base}/fd/${fd}`);
      } catch {
        // fds of a process that is exiting, or not ours to read: cmdline and cwd still count
      }
      const uses =
        `${command} `.includes(`${dir}/`) ||
        `${command} `.includes(`${dir} `) ||
        links.some((link) => {
          try {
            return within(readlinkSync(link), dir);
          } catch {
            return false;
          }
        });
      if (uses) found.push({ pid: Number(entry), command: command || `[${entry}]` });
    } catch {
      // the process exited while we looked
    }
  }
  return found;
}

/** Mount points inside `dir` (podman's shm mounts, for instance), deepest first. */
export function mountsUnder(dir: string): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((line) => line.split(' ')[4] ?? '')
    .map((point) => point.replace(/\\040/g, ' '))
    .filter((point) => point.startsWith(`${dir}/`))
    .sort((a, b) => b.length - a.length);
}

/**
 * Waits until no process uses `dir`. After `timeoutMs` the ones still there are named and sent
 * SIGKILL by pid (they can only be the test's own), then waited for again.
 * @returns what had to be killed (empty on a clean stop), so a caller can report it.
 */
export async function waitUntilUnused(dir: string, timeoutMs = 30_000): Promise<string[]> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (processesUsing(dir).length === 0) return [];
    await sleep(100);
  }
  const stragglers = processesUsing(dir);
  for (const { pid } of stragglers) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  for (let i = 0; i < 100 && processesUsing(dir).length > 0; i++) await sleep(100);
  return stragglers.map(({ pid, command }) => `${pid} ${command}`);
}

/**
 * Removes a temp dir the test's processes worked in: waits until no process uses it, unmounts
 * what is mounted inside it, then removes it (with retries only as a last resort).
 * @returns processes that had to be killed first (empty on a clean stop).
 */
export async function removeWorkDir(dir: string): Promise<string[]> {
  if (!dir) return [];
  const killed = await waitUntilUnused(dir);
  for (const point of mountsUnder(dir)) {
    await runProcess('umount', ['--lazy', point], { timeoutMs: 10_000 }).catch(() => undefined);
  }
  rmSync(dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 });
  return killed;
}
