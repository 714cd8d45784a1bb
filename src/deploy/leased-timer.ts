import type { Store } from '../store/store.ts';

export type LeasedTimerOptions = {
  store: Pick<Store, 'tryLease'>;
  /** The lease's name: one holder at a time across every instance that shares the store. */
  name: string;
  /** This instance's identity in the lease table. */
  holder: string;
  everyMs: number;
  /** How long a lease outlives its holder's silence (longer than `everyMs`). */
  leaseMs: number;
  now: () => number;
  /** One pass of the work; should itself be idempotent, since a lease can lapse mid-pass. */
  work: () => Promise<void>;
  onError: (error: unknown) => void;
};

export type LeasedTimer = {
  /**
   * One pass now, unless one is running. `lease: false` skips the lease: the pass at start-up takes
   * it, because after a crash the old holder's lease would otherwise delay picking up what is in flight.
   */
  runNow: (options?: { lease?: boolean }) => Promise<void>;
  stop: () => void;
};

/**
 * Periodic work (reconciliation, lock reminders) that one instance at a time does: every `everyMs`
 * the instance that holds, or can take, the lease named `name` runs `work`. A pass still running
 * when the next tick comes is not started twice. Never throws: failures go to `onError`.
 * @throws {RangeError} when the lease would lapse between two ticks (`leaseMs <= everyMs`).
 */
export function startLeasedTimer(options: LeasedTimerOptions): LeasedTimer {
  if (!(options.everyMs > 0) || options.leaseMs <= options.everyMs) {
    throw new RangeError(`${options.name}: the lease must outlast the interval`);
  }
  let running = false;
  const runNow = async ({ lease = true }: { lease?: boolean } = {}) => {
    if (running) return;
    running = true;
    try {
      const held =
        !lease ||
        (await options.store.tryLease(options.name, options.holder, options.leaseMs, options.now()));
      if (held) await options.work();
    } catch (error) {
      options.onError(error);
    } finally {
      running = false;
    }
  };
  const timer = setInterval(() => void runNow(), options.everyMs);
  timer.unref?.();
  return { runNow, stop: () => clearInterval(timer) };
}
