import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type DeploymentDetail, emptyDetail, type NewDeployment } from '../core/deployment.ts';
import type { Confirmation, EnvironmentLock, Store } from './store.ts';
import { StoreError } from './store.ts';

/** What a driver's test file hands the contract: a fresh, empty, not yet migrated store. */
export type StoreFixture = {
  store: Store;
  /** Closes what the fixture opened and removes its data (temp files, schemas). */
  cleanup(): Promise<void>;
  /** Another store object on the same database (a second process or instance); absent for `:memory:`. */
  openAnother?: () => Promise<Store>;
};

const T0 = 1_700_000_000_000;
let sequence = 0;

function deployment(over: Partial<NewDeployment> = {}): NewDeployment {
  sequence += 1;
  return {
    id: `req-${sequence}`,
    environment: 'staging',
    action: 'deploy',
    ref: 'develop',
    sha: 'a'.repeat(40),
    subject: 'Fix the login form',
    author: 'ann',
    requesterId: 42,
    requesterName: 'Ann',
    chatId: -1001234567890,
    messageId: null,
    state: 'requested',
    runId: null,
    runUrl: null,
    detail: emptyDetail(),
    createdAt: T0,
    dispatchedAt: null,
    finishedAt: null,
    ...over,
  };
}

function confirmation(over: Partial<Confirmation> = {}): Confirmation {
  sequence += 1;
  return {
    id: `c${sequence}`.padEnd(22, 'x'),
    kind: 'deploy',
    deploymentId: 'req-1',
    requesterId: 42,
    chatId: -100123,
    createdAt: T0,
    expiresAt: T0 + 300_000,
    usedAt: null,
    ...over,
  };
}

function lock(over: Partial<EnvironmentLock> = {}): EnvironmentLock {
  return {
    environment: 'production',
    ownerId: 1,
    ownerName: 'Ops',
    reason: 'release freeze',
    createdAt: T0,
    expiresAt: T0 + 3_600_000,
    remindedAt: null,
    ...over,
  };
}

const richDetail: DeploymentDetail = {
  aheadBy: 0,
  baseSha: 'b'.repeat(40),
  jobs: [
    {
      id: 9_876_543_210,
      name: 'deploy (production)',
      status: 'completed',
      conclusion: 'failure',
      startedAt: T0,
      completedAt: null,
      steps: [{ number: 1, name: 'Health <check> & "verify"', status: 'completed', conclusion: 'failure' }],
      url: 'https://github.com/o/r/actions/runs/1/job/2?a=1&b=2',
    },
  ],
  approval: { reviewers: ['ops-team', 'Zoë'], url: null },
  environmentUrl: 'https://example.com/?q=<script>&x="y"',
  failure: {
    job: 'deploy',
    step: null,
    logTail: ['ошибка: 接続に失敗 🚀', 'tab\tquote" back\\slash', '\\u0000 literal', ''],
  },
  note: "<b>bold</b> & 'quoted'\nsecond line",
  confirmationId: 'AbC_-123456789012345678',
};

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}

/**
 * The behaviour every Store promises (src/store/store.ts), written only against the interface.
 * `makeStore` gives a fresh empty store per test; with `openAnother` the suite also checks that data
 * survives close + reopen and that two store objects on one database keep claims single.
 */
export function describeStoreContract(name: string, makeStore: () => Promise<StoreFixture>): void {
  describe(`Store contract: ${name}`, () => {
    let fixture: StoreFixture;
    let store: Store;
    const extra: Store[] = [];

    async function another(): Promise<Store> {
      if (fixture.openAnother === undefined) throw new Error('this fixture has no second store');
      const second = await fixture.openAnother();
      extra.push(second);
      await second.migrate();
      return second;
    }

    beforeEach(async () => {
      fixture = await makeStore();
      store = fixture.store;
      await store.migrate();
    });

    afterEach(async () => {
      for (const s of extra.splice(0)) await s.close();
      await fixture.cleanup();
    });

    describe('schema and lifecycle', () => {
      it('answers ping, and a second migrate() is a no-op that keeps the data', async () => {
        await store.ping();
        const d = await store.insertDeployment(deployment());
        await store.migrate();
        expect(await store.getDeployment(d.id)).toEqual(d);
      });

      it('fails with StoreError unavailable after close, and close is idempotent', async () => {
        await store.close();
        await store.close();
        const error = await rejection(store.ping());
        expect(error).toBeInstanceOf(StoreError);
        expect((error as StoreError).code).toBe('unavailable');
      });
    });

    describe('deployments', () => {
      it('inserts with version 1, deliveredVersion 0, updatedAt = createdAt, and reads back equal', async () => {
        const input = deployment({ detail: richDetail, runUrl: 'https://x/1', runId: 9_876_543_210 });
        const inserted = await store.insertDeployment(input);
        expect(inserted).toEqual({ ...input, version: 1, deliveredVersion: 0, updatedAt: input.createdAt });
        expect(await store.getDeployment(input.id)).toEqual(inserted);
        expect(await store.getDeployment('nope')).toBeNull();
      });

      it('refuses a duplicate id with StoreError duplicate and keeps the first', async () => {
        const first = await store.insertDeployment(deployment({ id: 'dup-1' }));
        const error = await rejection(store.insertDeployment(deployment({ id: 'dup-1', subject: 'other' })));
        expect(error).toBeInstanceOf(StoreError);
        expect((error as StoreError).code).toBe('duplicate');
        expect(await store.getDeployment('dup-1')).toEqual(first);
      });

      it('keeps null and 0 apart, and large ids as numbers', async () => {
        const zeros = deployment({
          requesterId: 0,
          chatId: 0,
          messageId: 0,
          runId: 0,
          dispatchedAt: 0,
          finishedAt: 0,
        });
        const nulls = deployment({ requesterId: null, chatId: null, messageId: null, runId: null });
        const big = deployment({ requesterId: 2 ** 52, chatId: -1_009_999_999_999, runId: 2 ** 53 - 1 });
        for (const d of [zeros, nulls, big]) {
          await store.insertDeployment(d);
          expect(await store.getDeployment(d.id)).toMatchObject(d);
        }
        const z = await store.getDeployment(zeros.id);
        expect([z?.requesterId, z?.chatId, z?.messageId, z?.runId, z?.finishedAt]).toEqual([0, 0, 0, 0, 0]);
        const n = await store.getDeployment(nulls.id);
        expect([n?.requesterId, n?.chatId, n?.messageId, n?.runId, n?.finishedAt]).toEqual([
          null,
          null,
          null,
          null,
          null,
        ]);
      });

      it('round-trips detail JSON exactly (unicode, <, &, >, quotes, escapes)', async () => {
        const d = await store.insertDeployment(deployment({ detail: richDetail, subject: 'Zoë <3 & 🚀' }));
        const got = await store.getDeployment(d.id);
        expect(got?.detail).toEqual(richDetail);
        expect(got?.subject).toBe('Zoë <3 & 🚀');
      });

      it('stores NUL and lone surrogates as U+FFFD (PostgreSQL cannot hold them)', async () => {
        const detail = { ...emptyDetail(), note: 'a\u0000b\uD800c' };
        const d = await store.insertDeployment(deployment({ detail, subject: 'x\u0000y' }));
        const got = await store.getDeployment(d.id);
        expect(got?.detail.note).toBe('a\uFFFDb\uFFFDc');
        expect(got?.subject).toBe('x\uFFFDy');
      });

      it('finds by run id; a run id belongs to one deployment only', async () => {
        const d = await store.insertDeployment(deployment());
        expect(await store.findDeploymentByRunId(555)).toBeNull();
        const updated = await store.updateDeployment(d.id, 1, { runId: 555, state: 'dispatched' }, T0 + 1);
        expect(await store.findDeploymentByRunId(555)).toEqual(updated);
        const error = await rejection(store.insertDeployment(deployment({ runId: 555 })));
        expect((error as StoreError).code).toBe('duplicate');
      });

      it('updates at the expected version only, bumping version and updatedAt', async () => {
        const d = await store.insertDeployment(deployment({ messageId: 7 }));
        const patch = {
          state: 'dispatched',
          messageId: null,
          detail: richDetail,
          dispatchedAt: T0 + 5,
        } as const;
        const updated = await store.updateDeployment(d.id, 1, { ...patch, subject: undefined }, T0 + 10);
        expect(updated).toEqual({ ...d, ...patch, version: 2, updatedAt: T0 + 10 });
        expect(await store.getDeployment(d.id)).toEqual(updated);
        expect(await store.updateDeployment(d.id, 1, { state: 'failed' }, T0 + 20)).toBeNull();
        expect(await store.updateDeployment('missing', 1, { state: 'failed' }, T0 + 20)).toBeNull();
        expect(await store.getDeployment(d.id)).toEqual(updated);
        const bumped = await store.updateDeployment(d.id, 2, {}, T0 + 30);
        expect(bumped).toEqual({ ...updated, version: 3, updatedAt: T0 + 30 });
      });

      it('lets exactly one of concurrent updates with the same expected version win', async () => {
        const d = await store.insertDeployment(deployment());
        const results = await Promise.all(
          Array.from({ length: 10 }, (_, i) => store.updateDeployment(d.id, 1, { subject: `s${i}` }, T0 + i)),
        );
        const winners = results.filter((r) => r !== null);
        expect(winners).toHaveLength(1);
        expect(await store.getDeployment(d.id)).toEqual(winners[0]);
        expect(winners[0]?.version).toBe(2);
      });

      it('lists newest first by createdAt then id, with combinable filters', async () => {
        const put = (id: string, over: Partial<NewDeployment>) =>
          store.insertDeployment(deployment({ id, ...over }));
        await put('a', { createdAt: T0 + 1, environment: 'staging', state: 'succeeded', finishedAt: T0 + 9 });
        // b before c, so insertion order alone does not give the id tie-break.
        await put('b', { createdAt: T0 + 2, environment: 'staging', state: 'queued' });
        await put('c', { createdAt: T0 + 2, environment: 'production', state: 'in_progress' });
        await put('d', { createdAt: T0 + 3, environment: 'staging', state: 'failed', finishedAt: T0 + 9 });
        const ids = async (filter: Parameters<Store['listDeployments']>[0]) =>
          (await store.listDeployments(filter)).map((r) => r.id);
        expect(await ids({})).toEqual(['d', 'c', 'b', 'a']);
        expect(await ids({ environment: 'staging' })).toEqual(['d', 'b', 'a']);
        expect(await ids({ unfinished: true })).toEqual(['c', 'b']);
        expect(await ids({ states: ['queued', 'failed', 'in_progress'] })).toEqual(['d', 'c', 'b']);
        expect(await ids({ states: ['queued', 'failed'], environment: 'staging', unfinished: true })).toEqual(
          ['b'],
        );
        expect(await ids({ states: [] })).toEqual([]);
        expect(await ids({ environment: 'nowhere' })).toEqual([]);
        expect(await ids({ limit: 2 })).toEqual(['d', 'c']);
        expect(await ids({ limit: 0 })).toEqual([]);
        await expect(store.listDeployments({ limit: -1 })).rejects.toThrow(RangeError);
      });

      it('returns 50 by default and at most 500', async () => {
        for (let start = 0; start < 510; start += 51) {
          await Promise.all(
            Array.from({ length: 51 }, (_, i) =>
              store.insertDeployment(
                deployment({ id: `bulk-${String(start + i).padStart(4, '0')}`, createdAt: T0 + start + i }),
              ),
            ),
          );
        }
        const page = await store.listDeployments({});
        expect(page).toHaveLength(50);
        expect(page[0]?.id).toBe('bulk-0509');
        expect(await store.listDeployments({ limit: 10_000 })).toHaveLength(500);
        expect(await store.listUndelivered(10_000)).toHaveLength(0);
      });

      it('lists edits owed (a message, version above deliveredVersion), oldest change first', async () => {
        const noMessage = await store.insertDeployment(deployment());
        const one = await store.insertDeployment(deployment({ messageId: 1 }));
        const two = await store.insertDeployment(deployment({ messageId: 2 }));
        await store.updateDeployment(two.id, 1, { state: 'queued' }, T0 + 5);
        await store.updateDeployment(one.id, 1, { state: 'queued' }, T0 + 9);
        await store.updateDeployment(noMessage.id, 1, { state: 'queued' }, T0 + 1);
        expect((await store.listUndelivered(10)).map((r) => r.id)).toEqual([two.id, one.id]);
        expect((await store.listUndelivered(1)).map((r) => r.id)).toEqual([two.id]);
        await store.markDelivered(two.id, 2);
        expect((await store.listUndelivered(10)).map((r) => r.id)).toEqual([one.id]);
      });

      it('markDelivered never lowers deliveredVersion nor raises it above version', async () => {
        const d = await store.insertDeployment(deployment({ messageId: 3 }));
        await store.updateDeployment(d.id, 1, { state: 'queued' }, T0 + 1);
        await store.updateDeployment(d.id, 2, { state: 'in_progress' }, T0 + 2);
        await store.markDelivered(d.id, 3);
        await store.markDelivered(d.id, 2);
        expect((await store.getDeployment(d.id))?.deliveredVersion).toBe(3);
        await store.markDelivered(d.id, 99);
        expect((await store.getDeployment(d.id))?.deliveredVersion).toBe(3);
        await store.updateDeployment(d.id, 3, { state: 'succeeded' }, T0 + 3);
        expect((await store.listUndelivered(10)).map((r) => r.id)).toEqual([d.id]);
        await store.markDelivered('missing', 1);
      });

      it('refuses fractional numbers as a caller error', async () => {
        const d = await store.insertDeployment(deployment());
        await expect(store.updateDeployment(d.id, 1, { state: 'queued' }, 1.5)).rejects.toThrow(RangeError);
      });
    });

    describe('confirmations', () => {
      it('inserts, reads back, and refuses a duplicate id', async () => {
        const c = confirmation({ kind: 'cancel' });
        await store.insertConfirmation(c);
        expect(await store.getConfirmation(c.id)).toEqual(c);
        expect(await store.getConfirmation('unknown-id')).toBeNull();
        const error = await rejection(store.insertConfirmation(c));
        expect((error as StoreError).code).toBe('duplicate');
      });

      it('is consumed once before expiry; then used; unknown and expired are refused', async () => {
        const c = confirmation();
        await store.insertConfirmation(c);
        const first = await store.consumeConfirmation(c.id, c.expiresAt - 1);
        expect(first).toEqual({ ok: true, confirmation: { ...c, usedAt: c.expiresAt - 1 } });
        expect(await store.consumeConfirmation(c.id, c.expiresAt - 1)).toEqual({ ok: false, reason: 'used' });
        expect(await store.consumeConfirmation('never-issued', T0)).toEqual({ ok: false, reason: 'unknown' });
        const late = confirmation();
        await store.insertConfirmation(late);
        expect(await store.consumeConfirmation(late.id, late.expiresAt)).toEqual({
          ok: false,
          reason: 'expired',
        });
        expect((await store.getConfirmation(late.id))?.usedAt).toBeNull();
      });

      it('lets exactly one of 20 concurrent consumes win', async () => {
        const c = confirmation();
        await store.insertConfirmation(c);
        const results = await Promise.all(
          Array.from({ length: 20 }, () => store.consumeConfirmation(c.id, T0 + 1)),
        );
        expect(results.filter((r) => r.ok)).toHaveLength(1);
        expect(results.filter((r) => !r.ok && r.reason === 'used')).toHaveLength(19);
      });
    });

    describe('deliveries', () => {
      it('remembers a (source, key) once; forgets the ones seen before a time', async () => {
        expect(await store.rememberDelivery('github', 'guid-1', T0)).toBe(true);
        expect(await store.rememberDelivery('github', 'guid-1', T0 + 1)).toBe(false);
        expect(await store.rememberDelivery('telegram', 'guid-1', T0 + 2)).toBe(true);
        expect(await store.rememberDelivery('telegram', '12345', T0 + 10)).toBe(true);
        // Strictly before: the one seen at exactly T0 + 2 stays.
        expect(await store.forgetDeliveries(T0 + 2)).toBe(1);
        expect(await store.forgetDeliveries(T0 + 2)).toBe(0);
        expect(await store.rememberDelivery('telegram', 'guid-1', T0 + 20)).toBe(false);
        expect(await store.rememberDelivery('github', 'guid-1', T0 + 20)).toBe(true);
      });

      it('lets exactly one of concurrent remembers of the same key be first', async () => {
        const results = await Promise.all(
          Array.from({ length: 10 }, () => store.rememberDelivery('github', 'g', T0)),
        );
        expect(results.filter(Boolean)).toHaveLength(1);
      });
    });

    describe('locks', () => {
      it('takes a free lock, refuses a held one, and replaces an expired one', async () => {
        const mine = lock();
        expect(await store.acquireLock(mine, T0)).toEqual({ ok: true, lock: mine });
        expect(await store.getLock('production', T0 + 1)).toEqual(mine);
        const theirs = lock({ ownerId: 2, ownerName: 'Dev', reason: 'mine now', createdAt: T0 + 5 });
        expect(await store.acquireLock(theirs, T0 + 5)).toEqual({ ok: false, held: mine });
        expect(await store.getLock('production', mine.expiresAt)).toBeNull();
        const later = { ...theirs, createdAt: mine.expiresAt, expiresAt: mine.expiresAt + 10 };
        expect(await store.acquireLock(later, mine.expiresAt)).toEqual({ ok: true, lock: later });
        expect(await store.getLock('production', mine.expiresAt)).toEqual(later);
      });

      it('lets exactly one of concurrent acquires win', async () => {
        const results = await Promise.all(
          Array.from({ length: 10 }, (_, i) => store.acquireLock(lock({ ownerId: i + 1 }), T0)),
        );
        const winners = results.filter((r) => r.ok);
        expect(winners).toHaveLength(1);
        const winner = winners[0]?.ok ? winners[0].lock : null;
        for (const r of results) if (!r.ok) expect(r.held).toEqual(winner);
      });

      it('lists unexpired locks by environment; release returns the lock only while it held', async () => {
        await store.acquireLock(lock({ environment: 'staging', expiresAt: T0 + 100 }), T0);
        await store.acquireLock(lock({ environment: 'production' }), T0);
        await store.acquireLock(lock({ environment: 'canary', expiresAt: T0 + 10 }), T0);
        expect((await store.listLocks(T0 + 50)).map((l) => l.environment)).toEqual(['production', 'staging']);
        expect(await store.releaseLock('production', T0 + 50)).toEqual(lock({ environment: 'production' }));
        expect(await store.getLock('production', T0 + 50)).toBeNull();
        expect(await store.releaseLock('production', T0 + 50)).toBeNull();
        expect(await store.releaseLock('canary', T0 + 50)).toBeNull();
        expect((await store.listLocks(T0)).map((l) => l.environment)).toEqual(['staging']);
      });

      it('marks a lock reminded once; a replacing lock starts unreminded', async () => {
        const l = lock({ expiresAt: T0 + 100 });
        await store.acquireLock(l, T0);
        expect(await store.markLockReminded('production', T0 + 1, T0 + 50)).toBe(false);
        expect(await store.markLockReminded('production', T0, T0 + 50)).toBe(true);
        expect(await store.markLockReminded('production', T0, T0 + 60)).toBe(false);
        expect((await store.getLock('production', T0 + 70))?.remindedAt).toBe(T0 + 50);
        const next = lock({ createdAt: T0 + 200, expiresAt: T0 + 300 });
        expect(await store.acquireLock(next, T0 + 200)).toEqual({ ok: true, lock: next });
        expect(await store.markLockReminded('production', T0 + 200, T0 + 250)).toBe(true);
      });
    });

    describe('leases', () => {
      it('is held by one holder, renewed by it, and taken over only after expiry', async () => {
        expect(await store.tryLease('reconcile', 'a', 1000, T0)).toBe(true);
        expect(await store.tryLease('reconcile', 'b', 1000, T0 + 999)).toBe(false);
        expect(await store.tryLease('reconcile', 'a', 1000, T0 + 900)).toBe(true);
        expect(await store.tryLease('reconcile', 'b', 1000, T0 + 1500)).toBe(false);
        expect(await store.tryLease('reconcile', 'b', 1000, T0 + 1900)).toBe(true);
        expect(await store.tryLease('reconcile', 'a', 1000, T0 + 2000)).toBe(false);
        expect(await store.tryLease('reminders', 'a', 1000, T0 + 2000)).toBe(true);
      });

      it('lets exactly one of concurrent holders take a free lease', async () => {
        const results = await Promise.all(
          Array.from({ length: 10 }, (_, i) => store.tryLease('reconcile', `h${i}`, 1000, T0)),
        );
        expect(results.filter(Boolean)).toHaveLength(1);
      });
    });

    describe('shared by two store objects (two processes or instances)', () => {
      it('keeps the data across close and reopen', async (ctx) => {
        if (fixture.openAnother === undefined)
          return ctx.skip('this database lives only as long as its store');
        const d = await store.insertDeployment(deployment({ detail: richDetail }));
        const c = confirmation();
        await store.insertConfirmation(c);
        await store.acquireLock(lock(), T0);
        await store.rememberDelivery('github', 'kept', T0);
        await store.close();
        const reopened = await another();
        expect(await reopened.getDeployment(d.id)).toEqual(d);
        expect(await reopened.getConfirmation(c.id)).toEqual(c);
        expect(await reopened.getLock('production', T0)).toEqual(lock());
        expect(await reopened.rememberDelivery('github', 'kept', T0)).toBe(false);
      });

      it('sees the other one’s writes and keeps every claim single', async (ctx) => {
        if (fixture.openAnother === undefined)
          return ctx.skip('a second store object cannot open this database');
        const second = await another();
        const d = await store.insertDeployment(deployment());
        expect(await second.getDeployment(d.id)).toEqual(d);
        const c = confirmation();
        await second.insertConfirmation(c);
        const both = [store, second];
        const consumed = await Promise.all(
          Array.from({ length: 20 }, (_, i) => both[i % 2]?.consumeConfirmation(c.id, T0 + 1)),
        );
        expect(consumed.filter((r) => r?.ok)).toHaveLength(1);
        const updates = await Promise.all(
          both.map((s, i) => s.updateDeployment(d.id, 1, { subject: `${i}` }, T0)),
        );
        expect(updates.filter((r) => r !== null)).toHaveLength(1);
        const locks = await Promise.all(both.map((s, i) => s.acquireLock(lock({ ownerId: i + 1 }), T0)));
        expect(locks.filter((r) => r.ok)).toHaveLength(1);
        const leases = await Promise.all(both.map((s, i) => s.tryLease('reconcile', `i${i}`, 1000, T0)));
        expect(leases.filter(Boolean)).toHaveLength(1);
        const firsts = await Promise.all(both.map((s) => s.rememberDelivery('telegram', '77', T0)));
        expect(firsts.filter(Boolean)).toHaveLength(1);
      });
    });
  });
}
