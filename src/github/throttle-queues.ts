/**
 * The queues @octokit/plugin-throttling runs every request through, without Bottleneck. The plugin's
 * rate-limit handling is kept as it is (it reads GitHub's answers and asks `onRateLimit` /
 * `onSecondaryRateLimit`); only its scheduler is replaced, because Bottleneck yields to the event loop
 * with `setTimeout(0)` at every step of every job (at least 1 ms each, several per group): 11–16 ms
 * before a request left, against about 1 ms without the plugin (README, "Benchmarks"). These queues
 * keep GitHub's advice that the plugin encodes (at most 10 requests at once, writes one at a time and
 * a second apart) and start a job at once when nothing holds it back.
 */

type Job = (...args: never[]) => unknown;
type JobOptions = { weight?: number };

/** One queue: at most `maxConcurrent` jobs at once, starts at least `minTime` ms apart, first come first served. */
class Queue {
  readonly #maxConcurrent: number;
  readonly #minTime: number;
  #running = 0;
  #lastStart = Number.NEGATIVE_INFINITY;
  #timer: NodeJS.Timeout | null = null;
  readonly #waiting: (() => void)[] = [];

  constructor(maxConcurrent: number, minTime: number) {
    this.#maxConcurrent = maxConcurrent;
    this.#minTime = minTime;
  }

  /** Runs `job(...args)` in its turn (Bottleneck's `schedule(options, job, ...args)`). */
  async schedule(options: JobOptions, job: Job, ...args: never[]): Promise<unknown> {
    // A retry (weight 0 in the plugin) has waited out its rate limit already: it does not queue again.
    if (options.weight === 0) return job(...args);
    await new Promise<void>((resolve) => {
      this.#waiting.push(resolve);
      this.#next();
    });
    try {
      return await job(...args);
    } finally {
      this.#running--;
      this.#next();
    }
  }

  #next(): void {
    if (this.#timer || this.#running >= this.#maxConcurrent) return;
    const start = this.#waiting.shift();
    if (!start) return;
    const wait = this.#lastStart + this.#minTime - Date.now();
    if (wait > 0) {
      this.#waiting.unshift(start);
      this.#timer = setTimeout(() => {
        this.#timer = null;
        this.#next();
      }, wait);
      return;
    }
    this.#running++;
    this.#lastStart = Date.now();
    start();
    this.#next();
  }
}

/** Bottleneck's `Group`: one queue per key (the plugin keys by its `id`, one for the whole process). */
class Group {
  readonly #queues = new Map<string, Queue>();
  readonly #make: () => Queue;

  constructor(maxConcurrent: number, minTime = 0) {
    this.#make = () => new Queue(maxConcurrent, minTime);
  }

  key(key = ''): Queue {
    let queue = this.#queues.get(key);
    if (!queue) {
      queue = this.#make();
      this.#queues.set(key, queue);
    }
    return queue;
  }
}

type Failed = (error: unknown, info: { args: unknown[]; retryCount: number }) => unknown;

/**
 * Bottleneck as the plugin's retry limiter: runs the request, and when it fails asks the `failed`
 * listeners; a number from one of them is a wait in ms, after which the request is sent again.
 */
class RetryLimiter {
  readonly #failed: Failed[] = [];

  on(event: string, listener: Failed): void {
    if (event === 'failed') this.#failed.push(listener);
  }

  async schedule(job: Job, ...args: never[]): Promise<unknown> {
    for (let retryCount = 0; ; retryCount++) {
      try {
        return await job(...args);
      } catch (error) {
        const answers = await Promise.all(
          this.#failed.map((listener) => listener(error, { args, retryCount })),
        );
        const retryAfter = answers.find((answer) => answer !== null && answer !== undefined);
        if (retryAfter === undefined) throw error;
        await new Promise((resolve) => setTimeout(resolve, Math.trunc(Number(retryAfter)) || 0));
      }
    }
  }
}

// Shared by every client of the process, as the plugin shares its own groups: one GitHub identity's pace.
const shared = {
  global: new Group(10),
  auth: new Group(1),
  search: new Group(1, 2000),
  write: new Group(1, 1000),
  notifications: new Group(1, 3000),
};

/**
 * The `throttle` options that put the plugin on these queues: the process-wide groups, and a retry
 * limiter for this client (the plugin makes one per client too).
 */
export function throttleQueues(): Record<string, unknown> {
  return { ...shared, retryLimiter: new RetryLimiter() };
}
