import { spawn } from 'node:child_process';

/** What a finished process left behind. */
export interface ProcessResult {
  code: number;
  output: string;
}

/** Options for {@link runProcess}. */
export interface RunOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  input?: string;
  /** Hard limit: the process and everything it started are killed after this many ms (default 60 s). */
  timeoutMs?: number;
  /** Called for every line of stdout or stderr, as it arrives. */
  onLine?: (line: string) => void;
}

/**
 * Runs a command to completion with stdout and stderr merged, bounded by a timeout.
 * Never throws for a non-zero exit; rejects only when the command cannot be started.
 *
 * The command runs in a process group of its own. On timeout the whole group is killed, not
 * only the command: a script killed alone leaves its children (ssh, docker-compose, curl)
 * running, writing into the test's temp dir while the test removes it. The promise settles on
 * `close`, after every process holding the output pipes has exited.
 */
export function runProcess(
  command: string,
  args: readonly string[],
  options: RunOptions = {},
): Promise<ProcessResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      env: options.env ?? process.env,
      cwd: options.cwd,
      stdio: [options.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
      detached: true,
    });
    let output = '';
    let pending = '';
    const onData = (chunk: Buffer): void => {
      const text = chunk.toString('utf8');
      output += text;
      if (!options.onLine) return;
      pending += text;
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) options.onLine(line);
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    const killGroup = (): void => {
      if (child.pid === undefined) return;
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        // the group is gone already
      }
    };
    const timer = setTimeout(killGroup, options.timeoutMs ?? 60_000);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (pending && options.onLine) options.onLine(pending);
      resolve({ code: code ?? (signal ? 128 : 1), output });
    });
    if (child.stdin) {
      // A command may exit before reading its input; that is its answer, not an error here.
      child.stdin.on('error', () => undefined);
      child.stdin.end(options.input);
    }
  });
}

/** Like {@link runProcess}, but throws with the output when the exit code is not 0. */
export async function runChecked(
  command: string,
  args: readonly string[],
  options: RunOptions = {},
): Promise<string> {
  const result = await runProcess(command, args, options);
  if (result.code !== 0) {
    throw new Error(`${command} ${args.join(' ')} exited ${result.code}:\n${result.output}`);
  }
  return result.output;
}
