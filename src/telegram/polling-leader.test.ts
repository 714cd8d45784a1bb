import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openStore } from '../store/open-store.ts';
import type { Store } from '../store/store.ts';
import { type PollingLeader, type PollingLeaderOptions, startPollingLeader } from './polling-leader.ts';

/** A poller as grammY's bot.start()/stop() behave: start's promise settles when polling stops. */
function poller() {
  let settle: (() => void) | null = null;
  const state = { starts: 0, stops: 0, running: false };
  return {
    state,
    start: () =>
      new Promise<void>((resolve) => {
        state.starts += 1;
        state.running = true;
        settle = () => {
          state.running = false;
          resolve();
        };
      }),
    stop: async () => {
      state.stops += 1;
      settle?.();
    },
    /** grammY gives up on its own (a 409 from Telegram). */
    crash: () => settle?.(),
  };
}

let store: Store;
let t = 0;
const leaders: PollingLeader[] = [];

beforeEach(async () => {
  store = await openStore(':memory:');
  await store.migrate();
  t = 1_000_000;
});

afterEach(async () => {
  for (const leader of leaders.splice(0)) await leader.close();
  await store.close();
});

function leader(holder: string, p: ReturnType<typeof poller>, over: Partial<PollingLeaderOptions> = {}) {
  const l = startPollingLeader({
    store,
    holder,
    everyMs: 60_000, // the tests tick by hand
    leaseMs: 90_000,
    now: () => t,
    start: p.start,
    stop: p.stop,
    onError: () => {},
    ...over,
  });
  leaders.push(l);
  return l;
}

describe('startPollingLeader', () => {
  it('lets exactly one of several instances poll', async () => {
    const ps = [poller(), poller(), poller()];
    const ls = ps.map((p, i) => leader(`i${i}`, p));
    for (const l of ls) await l.tick();
    for (const l of ls) await l.tick();
    expect(ls.filter((l) => l.polling())).toHaveLength(1);
    expect(ps.reduce((n, p) => n + p.state.starts, 0)).toBe(1);
  });

  it('hands over at once when the poller shuts down (the lease is given back)', async () => {
    const a = poller();
    const b = poller();
    const la = leader('a', a);
    await la.tick();
    const lb = leader('b', b);
    await lb.tick();
    expect([la.polling(), lb.polling()]).toEqual([true, false]);
    await la.close();
    expect(a.state).toMatchObject({ stops: 1, running: false });
    await lb.tick();
    expect(lb.polling()).toBe(true);
    expect(b.state.running).toBe(true);
  });

  it('takes over from a poller that died (kill -9) once its lease has lapsed, not before', async () => {
    const a = poller();
    const b = poller();
    const dead = startPollingLeader({
      store,
      holder: 'a',
      everyMs: 60_000,
      leaseMs: 90_000,
      now: () => t,
      start: a.start,
      stop: a.stop,
      onError: () => {},
    });
    await dead.tick();
    // It dies: no more renewals and no release (its timer is gone with the process).
    const lb = leader('b', b);
    t += 60_000;
    await lb.tick();
    expect(lb.polling()).toBe(false);
    t += 30_000;
    await lb.tick();
    expect(lb.polling()).toBe(true);
  });

  it('stops polling when it cannot renew for longer than the lease safely lasts', async () => {
    const a = poller();
    let down = false;
    const flaky: Pick<Store, 'tryLease' | 'releaseLease'> = {
      tryLease: (...args) => (down ? Promise.reject(new Error('store down')) : store.tryLease(...args)),
      releaseLease: (...args) => store.releaseLease(...args),
    };
    const errors: unknown[] = [];
    const la = leader('a', a, { store: flaky, onError: (e) => errors.push(e) });
    await la.tick();
    expect(la.polling()).toBe(true);
    down = true;
    t += 20_000;
    await la.tick();
    // The lease taken 20 s ago still holds for 70 s: keep polling through a short outage.
    expect(la.polling()).toBe(true);
    t += 20_000;
    await la.tick();
    // Another instance may take over by the next round: stop rather than risk two pollers.
    expect(la.polling()).toBe(false);
    expect(a.state).toMatchObject({ stops: 1, running: false });
    expect(errors.length).toBeGreaterThan(0);
    down = false;
    await la.tick();
    expect(la.polling()).toBe(true);
  });

  it('starts polling again when grammY gave up on its own while the lease is still held', async () => {
    const a = poller();
    const la = leader('a', a);
    await la.tick();
    a.crash();
    await new Promise((resolve) => setImmediate(resolve));
    expect(la.polling()).toBe(false);
    await la.tick();
    expect(la.polling()).toBe(true);
    expect(a.state.starts).toBe(2);
  });

  it('on close, waits for the updates in hand to be handled before it lets go', async () => {
    let finishBatch: () => void = () => {};
    let loopDone = false;
    const la = leader('a', {
      state: { starts: 0, stops: 0, running: false },
      crash: () => {},
      // grammY: stop() returns at once, the loop ends only after the batch it holds is handled.
      start: () =>
        new Promise<void>((resolve) => {
          finishBatch = () => {
            loopDone = true;
            resolve();
          };
        }),
      stop: async () => {},
    });
    await la.tick();
    const closing = la.close();
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(loopDone).toBe(false);
    let closed = false;
    void closing.then(() => {
      closed = true;
    });
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(closed).toBe(false);
    finishBatch();
    await closing;
    expect(await store.tryLease('telegram-polling', 'b', 1000, t)).toBe(true);
  });

  it('refuses a lease that would lapse between renewals', () => {
    const p = poller();
    expect(() =>
      startPollingLeader({
        store,
        holder: 'x',
        everyMs: 1000,
        leaseMs: 1000,
        now: () => t,
        start: p.start,
        stop: p.stop,
        onError: () => {},
      }),
    ).toThrow(RangeError);
  });
});
