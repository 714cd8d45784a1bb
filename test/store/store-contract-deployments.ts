import { beforeEach, describe, expect, it } from 'vitest';
import { emptyDetail, type NewDeployment } from '../../src/core/deployment.ts';
import type { DeploymentCursor, Store } from '../../src/store/store.ts';
import { StoreError } from '../../src/store/store.ts';
import type { ContractSuite } from './store-contract.ts';
import { deployment, rejection, richDetail, T0 } from './store-contract-fixtures.ts';

/**
 * The contract of the schema, the lifecycle and the deployments table.
 * Registers its tests in the calling `describe`; the suite's `beforeEach` makes a fresh store.
 */
export function describeDeploymentsContract(suite: ContractSuite): void {
  let store: Store;
  beforeEach(() => {
    store = suite.store();
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
      expect(await ids({ states: ['queued', 'failed'], environment: 'staging', unfinished: true })).toEqual([
        'b',
      ]);
      expect(await ids({ states: [] })).toEqual([]);
      expect(await ids({ environment: 'nowhere' })).toEqual([]);
      expect(await ids({ limit: 2 })).toEqual(['d', 'c']);
      expect(await ids({ limit: 0 })).toEqual([]);
      await expect(store.listDeployments({ limit: -1 })).rejects.toThrow(RangeError);
      // Finished long ago drops out; unfinished and recently finished stay.
      expect(await ids({ finishedSince: T0 + 9 })).toEqual(['d', 'c', 'b', 'a']);
      expect(await ids({ finishedSince: T0 + 10 })).toEqual(['c', 'b']);
    });

    it('pages after a cursor in the same order, ties on createdAt broken by id, none skipped or repeated', async () => {
      const put = (id: string, createdAt: number) => store.insertDeployment(deployment({ id, createdAt }));
      for (const [id, at] of [
        ['p1', 1],
        ['p2', 2],
        ['p3', 2],
        ['p4', 2],
        ['p5', 3],
      ] as const)
        await put(id, T0 + at);
      const seen: string[] = [];
      let after: DeploymentCursor | undefined;
      for (let page = 0; page < 5; page++) {
        const records = await store.listDeployments({ limit: 2, ...(after ? { after } : {}) });
        seen.push(...records.map((r) => r.id));
        const last = records.at(-1);
        if (!last) break;
        after = { createdAt: last.createdAt, id: last.id };
      }
      expect(seen).toEqual(['p5', 'p4', 'p3', 'p2', 'p1']);
      expect(await store.listDeployments({ after: { createdAt: T0 + 2, id: 'p3' } })).toMatchObject([
        { id: 'p2' },
        { id: 'p1' },
      ]);
      await expect(store.listDeployments({ after: { createdAt: 1.5, id: 'x' } })).rejects.toThrow(RangeError);
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
      // Each has a chat and no message yet: each is owed its first message.
      expect(await store.listUndelivered(10_000)).toHaveLength(500);
    });

    it('lists messages owed (a chat, version above deliveredVersion), oldest change first', async () => {
      // No chat: nothing to tell. A chat but no message yet: its first message is owed (also after a restart).
      const noChat = await store.insertDeployment(deployment({ chatId: null }));
      const firstOwed = await store.insertDeployment(deployment());
      const one = await store.insertDeployment(deployment({ messageId: 1 }));
      const two = await store.insertDeployment(deployment({ messageId: 2 }));
      await store.updateDeployment(two.id, 1, { state: 'queued' }, T0 + 5);
      await store.updateDeployment(one.id, 1, { state: 'queued' }, T0 + 9);
      await store.updateDeployment(noChat.id, 1, { state: 'queued' }, T0 + 1);
      await store.updateDeployment(firstOwed.id, 1, { state: 'queued' }, T0 + 7);
      expect((await store.listUndelivered(10)).map((r) => r.id)).toEqual([two.id, firstOwed.id, one.id]);
      expect((await store.listUndelivered(1)).map((r) => r.id)).toEqual([two.id]);
      await store.markDelivered(two.id, 2);
      await store.markDelivered(firstOwed.id, 2);
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
}
