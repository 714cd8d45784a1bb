import { afterEach, describe, expect, it, vi } from 'vitest';
import { throttleQueues } from './throttle-queues.ts';

type Queue = {
  schedule: (options: object, job: (...args: never[]) => unknown, ...args: unknown[]) => Promise<unknown>;
};
type Group = { key: (key?: string) => Queue };
type Retry = {
  on: (event: string, listener: (error: unknown, info: { retryCount: number }) => unknown) => void;
  schedule: (job: (...args: never[]) => unknown, ...args: unknown[]) => Promise<unknown>;
};
const queues = throttleQueues() as { global: Group; write: Group; retryLimiter: Retry };

afterEach(() => {
  vi.useRealTimers();
});

describe('throttleQueues: what plugin-throttling asks of Bottleneck, without its setTimeout(0) steps', () => {
  it('starts a job in the same turn when nothing holds it back, and passes its arguments', async () => {
    const started: string[] = [];
    const job = queues.global.key('a').schedule({}, ((x: string) => started.push(x)) as never, 'go');
    // The job ran before any timer or I/O: only microtasks passed.
    await Promise.resolve();
    expect(started).toEqual(['go']);
    expect(await job).toBe(1);
  });

  it('runs at most 10 jobs of the global group at once, the rest in order as they finish', async () => {
    const release: (() => void)[] = [];
    let running = 0;
    let most = 0;
    const order: number[] = [];
    const jobs = Array.from({ length: 14 }, (_, i) =>
      queues.global.key('b').schedule({}, () => {
        running++;
        most = Math.max(most, running);
        order.push(i);
        return new Promise<void>((resolve) =>
          release.push(() => {
            running--;
            resolve();
          }),
        );
      }),
    );
    await new Promise((resolve) => setImmediate(resolve));
    expect(running).toBe(10);
    while (release.length > 0) {
      release.shift()?.();
      await new Promise((resolve) => setImmediate(resolve));
    }
    await Promise.all(jobs);
    expect(most).toBe(10);
    expect(order).toEqual([...Array(14).keys()]);
  });

  it('starts writes one at a time and a second apart; a retry (weight 0) does not queue', async () => {
    vi.useFakeTimers({ now: 0 });
    const starts: number[] = [];
    const write = () => queues.write.key('c').schedule({}, () => starts.push(Date.now()));
    const all = Promise.all([write(), write(), write()]);
    await vi.advanceTimersByTimeAsync(0);
    expect(starts).toEqual([0]);
    await queues.write.key('c').schedule({ priority: 0, weight: 0 }, () => starts.push(Date.now()));
    expect(starts).toEqual([0, 0]);
    await vi.advanceTimersByTimeAsync(999);
    expect(starts).toEqual([0, 0]);
    await vi.advanceTimersByTimeAsync(1);
    expect(starts).toEqual([0, 0, 1000]);
    await vi.advanceTimersByTimeAsync(1000);
    await all;
    expect(starts).toEqual([0, 0, 1000, 2000]);
  });

  it('sends a failed request again after the wait a `failed` listener returns, else rejects', async () => {
    vi.useFakeTimers({ now: 0 });
    const retry = throttleQueues().retryLimiter as Retry;
    const seen: number[] = [];
    retry.on('failed', (error, info) => {
      seen.push(info.retryCount);
      return String(error).includes('limited') && info.retryCount < 2 ? 3000 : undefined;
    });
    let calls = 0;
    const limited = retry.schedule((() => {
      calls++;
      return Promise.reject(new Error('rate limited'));
    }) as never);
    const outcome = limited.then(
      () => 'resolved',
      (error: Error) => error.message,
    );
    await vi.advanceTimersByTimeAsync(2999);
    expect(calls).toBe(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(calls).toBe(2);
    await vi.advanceTimersByTimeAsync(3000);
    expect(await outcome).toBe('rate limited');
    expect(calls).toBe(3);
    expect(seen).toEqual([0, 1, 2]);
    expect(await retry.schedule(((a: number, b: number) => a + b) as never, 2, 3)).toBe(5);
  });
});
