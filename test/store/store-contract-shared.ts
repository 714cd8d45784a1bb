import { createHash } from 'node:crypto';
import { beforeEach, describe, expect, it } from 'vitest';
import type { AuditEntry } from '../../src/core/audit-record.ts';
import type { Store } from '../../src/store/store.ts';
import type { ContractSuite, StoreFixture } from './store-contract.ts';
import { confirmation, deployment, lock, richDetail, T0 } from './store-contract-fixtures.ts';

/**
 * The contract between two store objects on one database (two processes or instances).
 * Registers its tests in the calling `describe`; the suite's `beforeEach` makes a fresh store.
 */
export function describeSharedStoreContract(suite: ContractSuite): void {
  let store: Store;
  let fixture: StoreFixture;
  beforeEach(() => {
    store = suite.store();
    fixture = suite.fixture();
  });

  describe('shared by two store objects (two processes or instances)', () => {
    it('keeps the data across close and reopen', async (ctx) => {
      if (fixture.openAnother === undefined) return ctx.skip('this database lives only as long as its store');
      const d = await store.insertDeployment(deployment({ detail: richDetail }));
      const c = confirmation();
      await store.insertConfirmation(c);
      await store.acquireLock(lock(), T0);
      await store.rememberDelivery('github', 'kept', T0);
      await store.close();
      const reopened = await suite.another();
      expect(await reopened.getDeployment(d.id)).toEqual(d);
      expect(await reopened.getConfirmation(c.id)).toEqual(c);
      expect(await reopened.getLock('production', T0)).toEqual(lock());
      expect(await reopened.rememberDelivery('github', 'kept', T0)).toBe(false);
    });

    it('sees the other one’s writes and keeps every claim single', async (ctx) => {
      if (fixture.openAnother === undefined)
        return ctx.skip('a second store object cannot open this database');
      const second = await suite.another();
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
      // Two instances pacing one group chat: every turn is distinct, 3 s apart, whoever took it.
      const turns = await Promise.all(
        Array.from({ length: 12 }, (_, i) => both[i % 2]?.takeChatTurn(-77, 3000, T0)),
      );
      expect([...turns].sort((a, b) => (a ?? 0) - (b ?? 0))).toEqual(
        Array.from({ length: 12 }, (_, i) => T0 + i * 3000),
      );
    });

    it('appends to one audit chain from both, never forking it', async (ctx) => {
      if (fixture.openAnother === undefined)
        return ctx.skip('a second store object cannot open this database');
      const second = await suite.another();
      const both = [store, second];
      const appended = await Promise.all(
        Array.from({ length: 30 }, (_, i) =>
          both[i % 2]?.appendAuditEntry((previousHash) => auditEntry(i, previousHash)),
        ),
      );
      expect(appended).toHaveLength(30);
      const chain = [...(await store.listAuditEntries(0, 20)), ...(await second.listAuditEntries(20, 20))];
      expect(chain).toHaveLength(30);
      // Each entry names the one before it: one line of succession, whoever appended.
      expect(chain[0]?.prev_hash).toBe('0'.repeat(64));
      for (let i = 1; i < chain.length; i++) expect(chain[i]?.prev_hash).toBe(chain[i - 1]?.hash);
      expect(new Set(chain.map((e) => e.outcome)).size).toBe(30);
    });
  });
}

/** An entry whose hash is just unique (the store does not check hashes: the audit module does). */
function auditEntry(n: number, previousHash: string | null): AuditEntry {
  return {
    ts: new Date(T0 + n).toISOString(),
    actor_id: n,
    actor_name: null,
    action: 'test',
    environment: 'staging',
    sha: null,
    request_id: null,
    outcome: `n${n}`,
    prev_hash: previousHash ?? '0'.repeat(64),
    hash: createHash('sha256').update(`${previousHash}:${n}`).digest('hex'),
  };
}
