import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';

/** A server the benchmark started in its own process, pinned to one core. */
export type ServerProcess = {
  name: string;
  url: string;
  pid: number;
  child: ChildProcess;
  /** Resident set size now, and its peak, in MB (10⁶ bytes, from /proc). */
  memory: () => { rssMB: number; peakMB: number };
  /** CPU time (user + system) used so far, in ms (from /proc). */
  cpuMs: () => number;
  stop: () => Promise<void>;
};

/** The cores of this machine the benchmark may pin to (its affinity, as `taskset -p` shows it). */
export function usableCores(): number[] {
  const status = readFileSync('/proc/self/status', 'utf8');
  const list = /Cpus_allowed_list:\s*(\S+)/.exec(status)?.[1] ?? '0';
  return list.split(',').flatMap((part) => {
    const [a, b] = part.split('-').map(Number) as [number, number | undefined];
    return Array.from({ length: (b ?? a) - a + 1 }, (_, i) => a + i);
  });
}

/** Pins this process (every thread) to `core`, so the load generator and the fakes stay off the servers' core. */
export function pinSelf(core: number): boolean {
  const run = spawnSync('taskset', ['-a', '-p', '-c', String(core), String(process.pid)], {
    stdio: 'ignore',
  });
  return run.status === 0;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Resolves once `url` answers over HTTP (any status, or only 2xx when `ok`), or rejects after
 * `timeoutMs`.
 */
export async function waitForHttp(
  url: string,
  timeoutMs: number,
  options: { child?: ChildProcess; ok?: boolean; everyMs?: number } = {},
): Promise<void> {
  const { child } = options;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child && child.exitCode !== null) throw new Error(`exited with ${child.exitCode} before answering`);
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(1000) });
      await response.arrayBuffer();
      if (response.ok || !options.ok) return;
    } catch {}
    if (Date.now() > deadline) throw new Error(`no answer from ${url} within ${timeoutMs} ms`);
    await sleep(options.everyMs ?? 10);
  }
}

function procMemory(pid: number): { rssMB: number; peakMB: number } {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kib = (key: string) => Number(new RegExp(`${key}:\\s*(\\d+)`).exec(status)?.[1] ?? 0);
    return { rssMB: (kib('VmRSS') * 1024) / 1e6, peakMB: (kib('VmHWM') * 1024) / 1e6 };
  } catch {
    return { rssMB: 0, peakMB: 0 };
  }
}

const TICK_MS = 1000 / 100;
function procCpuMs(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
    return (Number(fields[11]) + Number(fields[12])) * TICK_MS;
  } catch {
    return 0;
  }
}

/**
 * Starts `node <args>` pinned to `core` (`taskset -c`, util-linux) with `env`, and waits until
 * `readyPath` answers. Its stdout goes to /dev/null (where a service's logs would go is not what is
 * measured); stderr is kept and shown when it fails.
 */
export async function startServer(options: {
  name: string;
  args: string[];
  env: Record<string, string>;
  port: number;
  core: number | null;
  readyPath: string;
  /** Wait for a 2xx from `readyPath` (else any answer). */
  readyOk?: boolean;
  readyTimeoutMs?: number;
}): Promise<ServerProcess> {
  const node = [...process.execArgv.filter((a) => a.startsWith('--max-old')), ...options.args];
  const [command, args] =
    options.core === null
      ? [process.execPath, node]
      : ['taskset', ['-c', String(options.core), process.execPath, ...node]];
  // BENCH_SERVER_LOG=FILE keeps the servers' stdout (their logs) there, to see what a run did.
  const log = process.env.BENCH_SERVER_LOG ? openSync(process.env.BENCH_SERVER_LOG, 'a') : 'ignore';
  const child = spawn(command, args, {
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '',
      ...options.env,
      PORT: String(options.port),
    },
    stdio: ['ignore', log, 'pipe'],
  });
  if (typeof log === 'number') closeSync(log);
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  const url = `http://127.0.0.1:${options.port}`;
  try {
    await waitForHttp(`${url}${options.readyPath}`, options.readyTimeoutMs ?? 20_000, {
      child,
      ok: options.readyOk ?? false,
      everyMs: 5,
    });
  } catch (error) {
    child.kill('SIGKILL');
    throw new Error(`${options.name}: ${(error as Error).message}\n${stderr}`);
  }
  const pid = child.pid ?? 0;
  return {
    name: options.name,
    url,
    pid,
    child,
    memory: () => procMemory(pid),
    cpuMs: () => procCpuMs(pid),
    stop: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    },
  };
}
