/**
 * Work started after a webhook was answered: GitHub gives a delivery 10 s, and a slow API (the
 * reviewers of a waiting run, a failed job's log) must not make it count the delivery as failed. A
 * follow-up that fails is logged and left to reconciliation, which repeats it.
 */
export type FollowUps = {
  /** Starts `task` now without waiting for it. */
  defer: (what: string, task: () => Promise<unknown>) => void;
  /** Resolves when every follow-up started so far has ended, or after `timeoutMs` (shutdown). */
  settle: (timeoutMs: number) => Promise<void>;
};

/** A tracker of follow-ups; `onError` hears of those that failed. */
export function createFollowUps(onError: (error: unknown, what: string) => void): FollowUps {
  const running = new Set<Promise<unknown>>();
  return {
    defer(what, task) {
      const promise = Promise.resolve()
        .then(task)
        .catch((error) => onError(error, what))
        .finally(() => running.delete(promise));
      running.add(promise);
    },
    async settle(timeoutMs) {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, timeoutMs);
      });
      await Promise.race([Promise.allSettled([...running]), timeout]);
      clearTimeout(timer);
    },
  };
}
