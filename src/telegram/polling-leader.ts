import type { Store } from '../store/store.ts';

/** The lease one instance holds while it long-polls Telegram. */
export const POLLING_LEASE = 'telegram-polling';

export type PollingLeaderOptions = {
  store: Pick<Store, 'tryLease' | 'releaseLease'>;
  /** This instance's name in the lease table. */
  holder: string;
  /** How often the lease is renewed, or tried by an instance that waits to take over. */
  everyMs: number;
  /** How long the lease outlives a silent holder; more than `everyMs`. */
  leaseMs: number;
  now: () => number;
  /**
   * Starts long polling; the promise settles when polling stops (a `stop()`, or grammY giving up on
   * an error such as Telegram's 409 when another poller is still running).
   */
  start: () => Promise<void>;
  /** Stops long polling (grammY confirms the updates it took first). */
  stop: () => Promise<void>;
  onError: (error: unknown) => void;
  /** Told when this instance starts or stops being the poller. */
  onChange?: (polling: boolean) => void;
};

export type PollingLeader = {
  /** Whether this instance is the one polling. */
  polling: () => boolean;
  /** One round now: renew or take the lease, start or stop polling accordingly. */
  tick: () => Promise<void>;
  /** Stops polling if this instance polls, and gives the lease back so another takes over at once. */
  close: () => Promise<void>;
};

/**
 * Long polling with several instances: Telegram serves `getUpdates` to one client at a time (a second
 * poller ends the first with a 409), so exactly one instance polls, the one holding
 * {@link POLLING_LEASE} in the shared store. The holder renews it every `everyMs`; another instance
 * tries as often and takes over once the lease has lapsed, so a dead poller is replaced within about
 * `leaseMs + everyMs`. A holder that cannot renew (the store is down) stops polling once its lease may
 * have lapsed, rather than risk two pollers. Updates a dead poller took but never confirmed come again
 * to the next one; the update handler's claim on `update_id` keeps them to one effect.
 * @throws {RangeError} when the lease would lapse between two renewals (`leaseMs <= everyMs`).
 */
export function startPollingLeader(options: PollingLeaderOptions): PollingLeader {
  if (!(options.everyMs > 0) || options.leaseMs <= options.everyMs) {
    throw new RangeError('polling: the lease must outlast the renewal interval');
  }
  let polling = false;
  let closed = false;
  let renewedAt = Number.NEGATIVE_INFINITY;
  let round: Promise<void> | null = null;
  /** The polling loop while it runs: settles once the batch of updates in hand is handled. */
  let loop: Promise<void> | null = null;

  const setPolling = (next: boolean) => {
    if (polling === next) return;
    polling = next;
    options.onChange?.(next);
  };

  const begin = () => {
    setPolling(true);
    loop = options
      .start()
      .catch((error: unknown) => options.onError(error))
      .finally(() => {
        // Polling ended without a stop() from here (grammY gave up): the next round starts it again.
        setPolling(false);
        loop = null;
      });
  };

  const end = async () => {
    if (!polling) return;
    const running = loop;
    await options.stop().catch((error: unknown) => options.onError(error));
    // grammY's stop() confirms every update it took, handled or not: wait for the loop to finish the
    // ones in hand, or they would be confirmed to Telegram and never answered.
    if (running) await Promise.race([running, new Promise((resolve) => setTimeout(resolve, 5000).unref())]);
    setPolling(false);
  };

  const once = async () => {
    const now = options.now();
    let held = false;
    try {
      held = await options.store.tryLease(POLLING_LEASE, options.holder, options.leaseMs, now);
      if (held) renewedAt = now;
    } catch (error) {
      options.onError(error);
      // Not renewed: keep polling only while the last renewal still holds.
      held = polling && now - renewedAt < options.leaseMs - options.everyMs;
    }
    if (closed) return;
    if (held && !polling) begin();
    else if (!held && polling) await end();
  };

  const tick = () => {
    round ??= once().finally(() => {
      round = null;
    });
    return round;
  };

  const timer = setInterval(() => void tick(), options.everyMs);
  timer.unref?.();
  void tick();

  return {
    polling: () => polling,
    tick,
    close: async () => {
      closed = true;
      clearInterval(timer);
      await round;
      await end();
      await options.store
        .releaseLease(POLLING_LEASE, options.holder)
        .catch((error: unknown) => options.onError(error));
    },
  };
}
