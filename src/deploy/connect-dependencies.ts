/**
 * Start-up against dependencies that may be down. Each dependency (Telegram, GitHub) is probed on
 * its own; one that does not answer is probed again with growing waits (1 s, 2 s, 4 s, … 15 s) until
 * it does, while the service already serves (`/readyz` names what it still waits for). A probe that
 * says the credentials are wrong stops the start: waiting would never help.
 */

/** What one probe found: connected, or why not and whether trying again can help. */
export type ProbeResult = { ok: true } | { ok: false; fatal: boolean; problem: string };

export type Probe = () => Promise<ProbeResult>;

/** A dependency refused the bot's credentials (or configuration): the process should stop, exit code 2. */
export class DependencyRefused extends Error {
  readonly dependency: string;
  /** The CLI's exit code for a configuration problem. */
  readonly exitCode = 2;
  constructor(dependency: string, problem: string) {
    super(`${dependency}: ${problem}`);
    this.name = 'DependencyRefused';
    this.dependency = dependency;
  }
}

export type Dependencies = {
  /** The dependencies not connected yet, in the order they were given. */
  waitingFor: () => string[];
  /**
   * Resolves once every probe has been tried once: with the refusal when one refused the
   * credentials, else null (connected, or still trying in the background).
   */
  firstRound: Promise<DependencyRefused | null>;
  /** Resolves when a dependency refuses the credentials, in the first round or later (stop the service). */
  refused: Promise<DependencyRefused>;
  /** Stops the probes still waiting to try again. */
  stop: () => void;
};

export type ConnectOptions = {
  onConnected?: (name: string) => void;
  onRetry?: (name: string, problem: string, inMs: number) => void;
  /** The wait before try `n` (from 1) again; default 1 s doubling up to 15 s. */
  backoffMs?: (attempt: number) => number;
};

const defaultBackoff = (attempt: number) => Math.min(15_000, 1000 * 2 ** (attempt - 1));

/** Probes every dependency until it answers; see the top of this file. */
export function connectDependencies(
  probes: Record<string, Probe>,
  options: ConnectOptions = {},
): Dependencies {
  const waiting = new Set(Object.keys(probes));
  const timers = new Set<NodeJS.Timeout>();
  let stopped = false;
  let onRefused: (error: DependencyRefused) => void = () => {};
  const refused = new Promise<DependencyRefused>((resolve) => {
    onRefused = resolve;
  });
  const backoff = options.backoffMs ?? defaultBackoff;

  const attempt = async (name: string, probe: Probe, n: number): Promise<DependencyRefused | null> => {
    const result = await probe().catch(
      (error: unknown): ProbeResult => ({ ok: false, fatal: false, problem: String(error) }),
    );
    if (stopped) return null;
    if (result.ok) {
      waiting.delete(name);
      options.onConnected?.(name);
      return null;
    }
    if (result.fatal) {
      const error = new DependencyRefused(name, result.problem);
      onRefused(error);
      return error;
    }
    const inMs = backoff(n);
    options.onRetry?.(name, result.problem, inMs);
    const timer = setTimeout(() => {
      timers.delete(timer);
      void attempt(name, probe, n + 1);
    }, inMs);
    timers.add(timer);
    return null;
  };

  const firstRound = Promise.all(Object.entries(probes).map(([name, probe]) => attempt(name, probe, 1))).then(
    (results) => results.find((r) => r !== null) ?? null,
  );
  return {
    waitingFor: () => [...waiting],
    firstRound,
    refused,
    stop: () => {
      stopped = true;
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
    },
  };
}
