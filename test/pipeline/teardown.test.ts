import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { runProcess } from './support/run-process.ts';
import { processesUsing, removeWorkDir, waitUntilUnused } from './support/teardown.ts';

// The teardown helpers against what made host-scripts flaky: a process the test did not start
// directly (podman's detached `container cleanup`) still writing into the temp dir.
const dirs: string[] = [];
const tempDir = (): string => {
  const dir = mkdtempSync(join(tmpdir(), 'deploybot-teardown-'));
  dirs.push(dir);
  return dir;
};
afterEach(async () => {
  for (const dir of dirs.splice(0)) {
    await waitUntilUnused(dir, 5000);
    rmSync(dir, { recursive: true, force: true });
  }
});

/** Starts an orphaned writer (like conmon's exit command): not a child of this process. */
async function orphanWriter(dir: string, seconds: number): Promise<number> {
  const script = `i=0; while [ "$i" -lt ${seconds * 50} ]; do mkdir -p "$1/w/$i" && : >"$1/w/$i/f"; i=$((i+1)); sleep 0.02; done`;
  const started = await runProcess('sh', [
    '-c',
    `setsid sh -c '${script}' writer "$1" </dev/null >/dev/null 2>&1 & echo $!`,
    'sh',
    dir,
  ]);
  const pid = Number(started.output.trim());
  expect(pid).toBeGreaterThan(0);
  return pid;
}

/** Running, as opposed to gone or a zombie waiting for whoever adopted it to reap it. */
const alive = (pid: number): boolean => {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
};

/**
 * Whether `pid` is still running after a short grace. A killed process closes its pipes in the
 * kernel's exit path before it turns into a zombie, so `close` can be seen while /proc still
 * shows it running for a moment: CI once read it there (run of 227b638).
 */
async function stillAliveAfterGrace(pid: number): Promise<boolean> {
  for (let i = 0; i < 100 && alive(pid); i++) await sleep(20);
  return alive(pid);
}

describe('teardown', () => {
  it('removeWorkDir waits for a detached process still writing into the dir, then removes it', async () => {
    const dir = tempDir();
    const pid = await orphanWriter(dir, 1.5);
    await sleep(100);
    expect(processesUsing(dir).map((p) => p.pid)).toContain(pid);
    const killed = await removeWorkDir(dir);
    expect(killed).toEqual([]);
    expect(await stillAliveAfterGrace(pid)).toBe(false);
    expect(existsSync(dir)).toBe(false);
  });

  it('a process that never stops is killed by pid after the timeout, and named', async () => {
    const dir = tempDir();
    const pid = await orphanWriter(dir, 600);
    await sleep(100);
    const killed = await waitUntilUnused(dir, 500);
    expect(killed.join('\n')).toContain(`${pid} sh -c`);
    expect(await stillAliveAfterGrace(pid)).toBe(false);
    expect(processesUsing(dir)).toEqual([]);
  });

  it('finds a process by its working directory or an open file, not only its command line', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'held'), '');
    const run = runProcess('sh', ['-c', 'exec 3<held; sleep 1'], { cwd: dir });
    await sleep(200);
    expect(processesUsing(dir).length).toBeGreaterThan(0);
    await run;
    expect(processesUsing(dir)).toEqual([]);
  });

  it('runProcess on timeout kills what the command started too, not only the command', async () => {
    const dir = tempDir();
    const pidFile = join(dir, 'child.pid');
    const run = await runProcess('bash', ['-c', `sleep 300 & echo $! >"${pidFile}"; wait`], {
      timeoutMs: 500,
    });
    expect(run.code).toBe(128);
    const child = Number(readFileSync(pidFile, 'utf8').trim());
    expect(await stillAliveAfterGrace(child)).toBe(false);
  });
});
