import { beforeEach, describe, expect, it } from 'vitest';
import type { LinkedAccount, ReviewVote, Store } from '../../src/store/store.ts';
import type { ContractSuite } from './store-contract.ts';
import { T0 } from './store-contract-fixtures.ts';

/** A linked account as the store sees it: sealed blobs it never opens. */
export function linkedAccount(overrides: Partial<LinkedAccount> = {}): LinkedAccount {
  return {
    telegramUserId: 1001,
    githubLogin: 'Octo-Ada',
    githubUserId: 583_231,
    tokenSealed: 'v1.aXY.Ym9keQ.dGFn',
    tokenExpiresAt: T0 + 8 * 3_600_000,
    refreshSealed: 'v1.aXYy.cmVmcmVzaA.dGFnMg',
    refreshExpiresAt: T0 + 180 * 86_400_000,
    linkedAt: T0,
    updatedAt: T0,
    ...overrides,
  };
}

function vote(overrides: Partial<ReviewVote> = {}): ReviewVote {
  return {
    runId: 9_000_001_234,
    telegramUserId: 1001,
    githubLogin: 'Octo-Ada',
    decision: 'approved',
    createdAt: T0,
    ...overrides,
  };
}

/** Linked GitHub accounts and review votes (migration 3). */
export function describeAccountsContract(suite: ContractSuite): void {
  let store: Store;
  beforeEach(() => {
    store = suite.store();
  });

  describe('linked accounts', () => {
    it('saves, reads back equal, replaces on a new link, and deletes returning the removed one', async () => {
      expect(await store.getLinkedAccount(1001)).toBeNull();
      const first = linkedAccount();
      await store.saveLinkedAccount(first);
      expect(await store.getLinkedAccount(1001)).toEqual(first);
      const relinked = linkedAccount({
        githubLogin: 'ada-two',
        githubUserId: 7,
        tokenSealed: 'v1.bmV3.dG9rZW4.dGFn',
        tokenExpiresAt: null,
        refreshSealed: null,
        refreshExpiresAt: null,
        updatedAt: T0 + 5,
      });
      await store.saveLinkedAccount(relinked);
      expect(await store.getLinkedAccount(1001)).toEqual(relinked);
      await store.saveLinkedAccount(linkedAccount({ telegramUserId: 1002, githubLogin: 'sam-gh' }));
      expect(await store.deleteLinkedAccount(1001)).toEqual(relinked);
      expect(await store.deleteLinkedAccount(1001)).toBeNull();
      expect(await store.getLinkedAccount(1001)).toBeNull();
      expect((await store.getLinkedAccount(1002))?.githubLogin).toBe('sam-gh');
    });

    it('keeps Telegram ids beyond 32 bits and refuses fractional numbers as a caller error', async () => {
      const big = linkedAccount({ telegramUserId: 2 ** 40 + 3 });
      await store.saveLinkedAccount(big);
      expect(await store.getLinkedAccount(2 ** 40 + 3)).toEqual(big);
      await expect(store.saveLinkedAccount(linkedAccount({ tokenExpiresAt: 1.5 }))).rejects.toThrow(
        RangeError,
      );
    });
  });

  describe('review votes', () => {
    it('counts one vote per Telegram user and one per GitHub login (any case), per run', async () => {
      expect(await store.claimReviewVote(vote())).toEqual({ ok: true });
      expect(await store.claimReviewVote(vote({ createdAt: T0 + 1 }))).toEqual({
        ok: false,
        existing: vote(),
      });
      // The same GitHub account linked from another Telegram user does not vote twice.
      expect(await store.claimReviewVote(vote({ telegramUserId: 1002, githubLogin: 'octo-ADA' }))).toEqual({
        ok: false,
        existing: vote(),
      });
      expect(await store.claimReviewVote(vote({ telegramUserId: 1002, githubLogin: 'sam-gh' }))).toEqual({
        ok: true,
      });
      // Another run is another ballot.
      expect(await store.claimReviewVote(vote({ runId: 9_000_001_999 }))).toEqual({ ok: true });
      expect((await store.listReviewVotes(9_000_001_234)).map((v) => v.githubLogin)).toEqual([
        'Octo-Ada',
        'sam-gh',
      ]);
    });

    it('takes a vote back, after which the user may vote again', async () => {
      await store.claimReviewVote(vote());
      await store.releaseReviewVote(9_000_001_234, 1001);
      await store.releaseReviewVote(9_000_001_234, 1001);
      expect(await store.listReviewVotes(9_000_001_234)).toEqual([]);
      const rejected = vote({ decision: 'rejected', createdAt: T0 + 9 });
      expect(await store.claimReviewVote(rejected)).toEqual({ ok: true });
      expect(await store.listReviewVotes(9_000_001_234)).toEqual([rejected]);
    });

    it('forgets votes cast before a time, and only those', async () => {
      await store.claimReviewVote(vote({ createdAt: T0 }));
      await store.claimReviewVote(vote({ runId: 9_000_001_999, createdAt: T0 + 100 }));
      expect(await store.forgetReviewVotes(T0 + 100)).toBe(1);
      expect(await store.listReviewVotes(9_000_001_234)).toEqual([]);
      expect(await store.listReviewVotes(9_000_001_999)).toHaveLength(1);
      expect(await store.forgetReviewVotes(T0 + 100)).toBe(0);
    });

    it('lets exactly one of many simultaneous presses by one user count', async () => {
      const results = await Promise.all(
        Array.from({ length: 12 }, (_, i) => store.claimReviewVote(vote({ createdAt: T0 + i }))),
      );
      expect(results.filter((r) => r.ok)).toHaveLength(1);
      expect(await store.listReviewVotes(9_000_001_234)).toHaveLength(1);
    });

    it('keeps votes single across two store objects', async (ctx) => {
      if (suite.fixture().openAnother === undefined)
        return ctx.skip('a second store object cannot open this database');
      const second = await suite.another();
      const both = [store, second];
      const results = await Promise.all(
        Array.from({ length: 10 }, (_, i) =>
          both[i % 2]?.claimReviewVote(vote({ telegramUserId: 2000 + i, createdAt: T0 + i })),
        ),
      );
      // Ten Telegram users, one GitHub login: one vote.
      expect(results.filter((r) => r?.ok)).toHaveLength(1);
      await store.saveLinkedAccount(linkedAccount());
      expect(await second.getLinkedAccount(1001)).toEqual(linkedAccount());
    });
  });
}
