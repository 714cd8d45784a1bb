import { beforeEach, describe, expect, it } from 'vitest';
import type { Store, StoreError } from '../../src/store/store.ts';
import type { ContractSuite } from './store-contract.ts';
import { confirmation, lock, rejection, T0 } from './store-contract-fixtures.ts';

/**
 * The contract of what is claimed once: confirmations, deliveries, locks and leases.
 * Registers its tests in the calling `describe`; the suite's `beforeEach` makes a fresh store.
 */
export function describeClaimsContract(suite: ContractSuite): void {
  let store: Store;
  beforeEach(() => {
    store = suite.store();
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

    it('is given back only by its holder, and is then free at once', async () => {
      expect(await store.tryLease('telegram-polling', 'a', 60_000, T0)).toBe(true);
      expect(await store.releaseLease('telegram-polling', 'b')).toBe(false);
      expect(await store.tryLease('telegram-polling', 'b', 60_000, T0 + 1)).toBe(false);
      expect(await store.releaseLease('telegram-polling', 'a')).toBe(true);
      expect(await store.releaseLease('telegram-polling', 'a')).toBe(false);
      expect(await store.tryLease('telegram-polling', 'b', 60_000, T0 + 2)).toBe(true);
    });
  });

  describe('chat pace', () => {
    it('gives each caller its own turn, gapMs apart, starting now when the chat is free', async () => {
      expect(await store.takeChatTurn(-100, 3000, T0)).toBe(T0);
      expect(await store.takeChatTurn(-100, 3000, T0 + 10)).toBe(T0 + 3000);
      expect(await store.takeChatTurn(-100, 3000, T0 + 20)).toBe(T0 + 6000);
      // Another chat has its own pace; a chat quiet for long starts at once again.
      expect(await store.takeChatTurn(7, 1000, T0 + 20)).toBe(T0 + 20);
      expect(await store.takeChatTurn(-100, 3000, T0 + 60_000)).toBe(T0 + 60_000);
    });

    it('holds a chat until a time (a 429 for everyone), never moving it earlier', async () => {
      await store.holdChat(-5, T0 + 30_000);
      await store.holdChat(-5, T0 + 10_000);
      expect(await store.takeChatTurn(-5, 3000, T0)).toBe(T0 + 30_000);
      await store.holdChat(9, T0 + 5000);
      expect(await store.takeChatTurn(9, 1000, T0)).toBe(T0 + 5000);
    });

    it('hands concurrent callers distinct turns', async () => {
      const turns = await Promise.all(Array.from({ length: 10 }, () => store.takeChatTurn(-42, 3000, T0)));
      expect([...turns].sort((a, b) => a - b)).toEqual(Array.from({ length: 10 }, (_, i) => T0 + i * 3000));
    });

    it('refuses a negative gap and a non-integer time', async () => {
      await expect(store.takeChatTurn(1, -1, T0)).rejects.toThrow(RangeError);
      await expect(store.takeChatTurn(1, 1000, 1.5)).rejects.toThrow();
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

  describe('audit anchors', () => {
    it('keeps a chain’s count and last hash, only ever moving forward', async () => {
      const chain = '/var/lib/deploybot/audit.jsonl';
      expect(await store.getAuditAnchor(chain)).toBeNull();
      await store.advanceAuditAnchor({ chain, count: 3, hash: 'c'.repeat(64) });
      await store.advanceAuditAnchor({ chain, count: 5, hash: 'e'.repeat(64) });
      // A late write of an older anchor (appends finish out of order) does not move it back.
      await store.advanceAuditAnchor({ chain, count: 4, hash: 'd'.repeat(64) });
      expect(await store.getAuditAnchor(chain)).toEqual({ chain, count: 5, hash: 'e'.repeat(64) });
      await store.advanceAuditAnchor({ chain: '/other/audit.jsonl', count: 1, hash: 'a'.repeat(64) });
      expect((await store.getAuditAnchor(chain))?.count).toBe(5);
    });

    it('appends audit entries in order and reads them back page by page', async () => {
      expect(await store.listAuditEntries(0, 10)).toEqual([]);
      const first = await store.appendAuditEntry((previous) => {
        expect(previous).toBeNull();
        return {
          ts: '2026-01-01T00:00:00.000Z',
          actor_id: 7,
          actor_name: 'Ada',
          action: 'deploy_requested',
          environment: 'staging',
          sha: 'a'.repeat(40),
          request_id: 'r1',
          outcome: 'accepted',
          prev_hash: '0'.repeat(64),
          hash: '1'.repeat(64),
        };
      });
      await store.appendAuditEntry((previous) => {
        expect(previous).toBe(first.hash);
        return {
          ...first,
          actor_id: null,
          actor_name: null,
          outcome: null,
          prev_hash: first.hash,
          hash: '2'.repeat(64),
        };
      });
      expect(await store.listAuditEntries(0, 10)).toEqual([
        first,
        {
          ...first,
          actor_id: null,
          actor_name: null,
          outcome: null,
          prev_hash: first.hash,
          hash: '2'.repeat(64),
        },
      ]);
      expect((await store.listAuditEntries(1, 10)).map((e) => e.hash)).toEqual(['2'.repeat(64)]);
      expect(await store.listAuditEntries(0, 1)).toEqual([first]);
      // A builder that throws appends nothing.
      await expect(
        store.appendAuditEntry(() => {
          throw new Error('refused');
        }),
      ).rejects.toThrow();
      expect(await store.listAuditEntries(0, 10)).toHaveLength(2);
    });
  });
}
