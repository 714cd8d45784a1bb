import type { AuditAnchor, AuditEntry } from '../core/audit-record.ts';
import { accountStore, type Dialect } from './account-store.ts';
import { clusterStatements } from './cluster-statements.ts';
import type { Row } from './rows.ts';
import { sharedStatements } from './shared-statements.ts';
import type { ClaimVoteResult, EnvironmentLock, LinkedAccount, ReviewVote } from './store.ts';
import type { BindValue } from './store-params.ts';

/**
 * What the SQLite and PostgreSQL stores share: the statements written once for both drivers
 * (shared-statements.ts, account-store.ts), run through the driver's `runStatement` with its own
 * error mapping. The drivers keep what differs: transactions, migrations, and their connections.
 */
export abstract class SqlStore {
  readonly #shared: ReturnType<typeof sharedStatements>;
  readonly #accounts: ReturnType<typeof accountStore>;
  readonly #cluster: ReturnType<typeof clusterStatements>;

  constructor(dialect: Dialect) {
    const run = (what: string, sql: string, params: readonly BindValue[]) =>
      this.runStatement(what, sql, params);
    this.#shared = sharedStatements(run, dialect);
    this.#accounts = accountStore(run, dialect);
    this.#cluster = clusterStatements(run, dialect);
  }

  /**
   * Runs one statement and returns its rows (`RETURNING` included).
   * @throws {StoreError} mapped from the driver's error.
   */
  protected abstract runStatement(what: string, sql: string, params: readonly BindValue[]): Promise<Row[]>;

  // Linked accounts and review votes: one implementation for both drivers (account-store.ts).
  saveLinkedAccount(account: LinkedAccount): Promise<void> {
    return this.#accounts.saveLinkedAccount(account);
  }

  getLinkedAccount(telegramUserId: number): Promise<LinkedAccount | null> {
    return this.#accounts.getLinkedAccount(telegramUserId);
  }

  deleteLinkedAccount(telegramUserId: number): Promise<LinkedAccount | null> {
    return this.#accounts.deleteLinkedAccount(telegramUserId);
  }

  claimReviewVote(vote: ReviewVote): Promise<ClaimVoteResult> {
    return this.#accounts.claimReviewVote(vote);
  }

  releaseReviewVote(runId: number, telegramUserId: number): Promise<void> {
    return this.#accounts.releaseReviewVote(runId, telegramUserId);
  }

  listReviewVotes(runId: number): Promise<ReviewVote[]> {
    return this.#accounts.listReviewVotes(runId);
  }

  forgetReviewVotes(before: number): Promise<number> {
    return this.#accounts.forgetReviewVotes(before);
  }

  // Claims and the audit chain's reads: one implementation for both drivers (shared-statements.ts).
  rememberDelivery(source: 'telegram' | 'github', key: string, now: number): Promise<boolean> {
    return this.#shared.rememberDelivery(source, key, now);
  }

  forgetDeliveries(before: number): Promise<number> {
    return this.#shared.forgetDeliveries(before);
  }

  getLock(environment: string, now: number, service = ''): Promise<EnvironmentLock | null> {
    return this.#shared.getLock(environment, now, service);
  }

  listLocks(now: number): Promise<EnvironmentLock[]> {
    return this.#shared.listLocks(now);
  }

  releaseLock(environment: string, now: number, service = ''): Promise<EnvironmentLock | null> {
    return this.#shared.releaseLock(environment, now, service);
  }

  markLockReminded(environment: string, createdAt: number, now: number, service = ''): Promise<boolean> {
    return this.#shared.markLockReminded(environment, createdAt, now, service);
  }

  adoptUnscoped(service: string): Promise<number> {
    return this.#shared.adoptUnscoped(service);
  }

  tryLease(name: string, holder: string, ttlMs: number, now: number): Promise<boolean> {
    return this.#shared.tryLease(name, holder, ttlMs, now);
  }

  getAuditAnchor(chain: string): Promise<AuditAnchor | null> {
    return this.#shared.getAuditAnchor(chain);
  }

  advanceAuditAnchor(anchor: AuditAnchor): Promise<void> {
    return this.#shared.advanceAuditAnchor(anchor);
  }

  listAuditEntries(after: number, limit: number): Promise<AuditEntry[]> {
    return this.#shared.listAuditEntries(after, limit);
  }

  // Pacing and leases for several instances: one implementation for both drivers (cluster-statements.ts).
  takeChatTurn(chatId: number, gapMs: number, now: number): Promise<number> {
    return this.#cluster.takeChatTurn(chatId, gapMs, now);
  }

  holdChat(chatId: number, until: number): Promise<void> {
    return this.#cluster.holdChat(chatId, until);
  }

  releaseLease(name: string, holder: string): Promise<boolean> {
    return this.#cluster.releaseLease(name, holder);
  }
}
