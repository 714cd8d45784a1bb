import type { AuditAnchor, AuditEntry } from '../core/audit-record.ts';
import type { DeploymentPatch, DeploymentRecord, NewDeployment } from '../core/deployment.ts';
import type { DeploymentState } from '../core/deployment-state.ts';

/** What a confirmation button may do once its token is consumed. */
export type ConfirmationKind = 'deploy' | 'rollback' | 'cancel';

/** A pending confirmation: the server side of a Confirm / Cancel keyboard. Single use. */
export type Confirmation = {
  /** Opaque random id carried in callback_data (base64url, 22 characters). */
  id: string;
  kind: ConfirmationKind;
  /** The deployment the confirm acts on (for `cancel`: the deployment whose run is cancelled). */
  deploymentId: string;
  /** Only this Telegram user may confirm; any admin may cancel. */
  requesterId: number;
  chatId: number;
  createdAt: number;
  expiresAt: number;
  usedAt: number | null;
};

/** Why a confirmation could not be consumed: stable reason codes, shown to the user as text. */
export type ConsumeRefusal = 'unknown' | 'used' | 'expired';

export type ConsumeResult = { ok: true; confirmation: Confirmation } | { ok: false; reason: ConsumeRefusal };

/** A lock on an environment: no deployment goes there until it is released or expires. */
export type EnvironmentLock = {
  /** The service whose environment is locked; a lock's key is (service, environment). Default `''` (see `adoptUnscoped`). */
  service?: string;
  environment: string;
  ownerId: number;
  ownerName: string;
  reason: string;
  createdAt: number;
  expiresAt: number;
  /** When the owner was reminded that the lock is about to expire; null until then. */
  remindedAt: number | null;
};

export type AcquireLockResult = { ok: true; lock: EnvironmentLock } | { ok: false; held: EnvironmentLock };

/**
 * A Telegram user's linked GitHub account (`/link`). The tokens are sealed (AES-256-GCM) by the
 * caller before they reach the store: the store never sees a token in the clear.
 */
export type LinkedAccount = {
  telegramUserId: number;
  githubLogin: string;
  githubUserId: number;
  /** The user access token, sealed. */
  tokenSealed: string;
  /** When the token expires (ms); null when it does not (an OAuth App token). */
  tokenExpiresAt: number | null;
  /** The refresh token, sealed; null when GitHub gave none. */
  refreshSealed: string | null;
  /** When the refresh token expires (ms); null when unknown or none. */
  refreshExpiresAt: number | null;
  linkedAt: number;
  updatedAt: number;
};

/**
 * A reviewer's press of Approve or Reject on a run waiting for its environment's reviewers. At most
 * one per (run, Telegram user) and one per (run, GitHub login, case-insensitively).
 */
export type ReviewVote = {
  runId: number;
  telegramUserId: number;
  githubLogin: string;
  decision: 'approved' | 'rejected';
  createdAt: number;
};

/** A vote claimed, or the vote already held by that Telegram user or that GitHub login. */
export type ClaimVoteResult = { ok: true } | { ok: false; existing: ReviewVote };

export type DeploymentFilter = {
  /** Only these states. */
  states?: readonly DeploymentState[];
  environment?: string;
  /** Only this service's records. */
  service?: string;
  /** Only records without `finishedAt` (deployments still going on). */
  unfinished?: boolean;
  /** Only records not finished, or finished at or after this time (ms). */
  finishedSince?: number;
  /** Only records listed after this one: the next page, continuing where a page ended. */
  after?: DeploymentCursor;
  /** Newest first; default 50, at most 500. */
  limit?: number;
};

/** Where a page of `listDeployments` ended: its last record's creation time and id. */
export type DeploymentCursor = { createdAt: number; id: string };

/**
 * Persistence for the bot. One interface, two implementations (SQLite by default, PostgreSQL when
 * several instances share the work), one contract test suite (`test/store/store-contract.ts`).
 *
 * Every method that "claims" something (consume a confirmation, remember a delivery, take a lock or a
 * lease, update with an expected version) is atomic across instances sharing the same database:
 * that is what makes a double tap or a repeated webhook have a single effect.
 *
 * Methods throw `StoreError` when the database fails; they never throw for expected outcomes
 * (those are values).
 */
export type Store = {
  /** Creates or upgrades the schema. Safe to call on every start, from several instances at once. */
  migrate(): Promise<void>;
  /** Resolves when the database answers (for `/readyz`); throws `StoreError` otherwise. */
  ping(): Promise<void>;
  close(): Promise<void>;

  /**
   * Inserts a new deployment with version 1 and deliveredVersion 0.
   * @throws {StoreError} with code `duplicate` when the id exists.
   */
  insertDeployment(deployment: NewDeployment): Promise<DeploymentRecord>;
  getDeployment(id: string): Promise<DeploymentRecord | null>;
  findDeploymentByRunId(runId: number): Promise<DeploymentRecord | null>;
  /**
   * Applies `patch` if the record is still at `expectedVersion`, bumping the version and `updatedAt`.
   * Returns the new record, or null when someone else changed it first (re-read and retry).
   */
  updateDeployment(
    id: string,
    expectedVersion: number,
    patch: DeploymentPatch,
    now: number,
  ): Promise<DeploymentRecord | null>;
  /** Newest first (by createdAt, then id). */
  listDeployments(filter: DeploymentFilter): Promise<DeploymentRecord[]>;
  /**
   * Records with a chat whose shown version is behind: a first message or an edit owed. Oldest change
   * first.
   */
  listUndelivered(limit: number): Promise<DeploymentRecord[]>;
  /** Records that `version` is shown; never lowers deliveredVersion. */
  markDelivered(id: string, version: number): Promise<void>;

  insertConfirmation(confirmation: Confirmation): Promise<void>;
  getConfirmation(id: string): Promise<Confirmation | null>;
  /** Atomically marks the confirmation used if it exists, is unused and unexpired at `now`. */
  consumeConfirmation(id: string, now: number): Promise<ConsumeResult>;

  /**
   * Remembers an inbound delivery (Telegram `update_id`, GitHub `X-GitHub-Delivery`).
   * Returns true the first time a (source, key) is seen, false for a repeat.
   */
  rememberDelivery(source: 'telegram' | 'github', key: string, now: number): Promise<boolean>;
  /** Forgets deliveries seen before `before`; returns how many. */
  forgetDeliveries(before: number): Promise<number>;

  /** The lock on a service's environment, if one holds at `now` (expired locks are not returned). */
  getLock(environment: string, now: number, service?: string): Promise<EnvironmentLock | null>;
  listLocks(now: number): Promise<EnvironmentLock[]>;
  /** Takes the lock unless an unexpired one is held (then returns it). An expired lock is replaced. */
  acquireLock(lock: EnvironmentLock, now: number): Promise<AcquireLockResult>;
  /** Removes the lock; returns the one removed, if any was held at `now`. */
  releaseLock(environment: string, now: number, service?: string): Promise<EnvironmentLock | null>;
  /** Marks a lock's owner as reminded (so only one instance reminds). Returns false if already marked. */
  markLockReminded(environment: string, createdAt: number, now: number, service?: string): Promise<boolean>;

  /**
   * Gives records and locks made before services existed (service `''`, migration 6) to `service`:
   * run at start with the first configured service, the implicit one of a single-repository setup.
   * Returns how many rows moved; a second call moves none.
   */
  adoptUnscoped(service: string): Promise<number>;

  /**
   * A lease shared by several instances (reconciliation, reminders, a message being sent, an
   * environment being confirmed): true when `holder` holds `name` until `now + ttlMs` (taken,
   * renewed, or taken over after expiry).
   */
  tryLease(name: string, holder: string, ttlMs: number, now: number): Promise<boolean>;

  /** What the store remembers of an audit chain (its line count and last hash), or null. */
  getAuditAnchor(chain: string): Promise<AuditAnchor | null>;
  /** Records the anchor unless the stored one counts as many lines or more (it only moves forward). */
  advanceAuditAnchor(anchor: AuditAnchor): Promise<void>;

  /**
   * Appends to the database's audit chain (one chain for every instance sharing the store): under a
   * lock, `build` gets the last entry's hash (or null for the first) and returns the entry to store.
   * Resolves once it is committed: only then may the recorded action be taken.
   */
  appendAuditEntry(build: (previousHash: string | null) => AuditEntry): Promise<AuditEntry>;
  /** Entries after position `after` (0: from the start), oldest first, at most `limit`. */
  listAuditEntries(after: number, limit: number): Promise<AuditEntry[]>;

  /** Creates or replaces the Telegram user's linked account (a new `/link`, a refreshed token). */
  saveLinkedAccount(account: LinkedAccount): Promise<void>;
  getLinkedAccount(telegramUserId: number): Promise<LinkedAccount | null>;
  /** Removes the link; returns the one removed, if there was one. */
  deleteLinkedAccount(telegramUserId: number): Promise<LinkedAccount | null>;

  /**
   * Atomically records a vote unless the same Telegram user or the same GitHub login already voted
   * on the run (then returns that vote): a double tap, or two presses at once, count once.
   */
  claimReviewVote(vote: ReviewVote): Promise<ClaimVoteResult>;
  /** Takes back a vote (GitHub refused it, so it must not count). */
  releaseReviewVote(runId: number, telegramUserId: number): Promise<void>;
  /** The votes on a run, oldest first. */
  listReviewVotes(runId: number): Promise<ReviewVote[]>;
  /** Forgets votes cast before `before` (their runs stopped waiting long ago); returns how many. */
  forgetReviewVotes(before: number): Promise<number>;

  /**
   * Takes the next turn to call Telegram for a chat, shared by every instance: returns when the turn
   * starts (`now`, or the end of the last turn anyone took) and books the chat for `gapMs` after it.
   * The caller waits until then, so the cluster as a whole keeps one chat's pace.
   */
  takeChatTurn(chatId: number, gapMs: number, now: number): Promise<number>;
  /** No turn for the chat starts before `until` (Telegram's `retry_after`, for the whole cluster). */
  holdChat(chatId: number, until: number): Promise<void>;
  /** Gives a lease back (shutdown) if `holder` holds it, so another instance takes it at once. */
  releaseLease(name: string, holder: string): Promise<boolean>;
};

/** Stable codes for StoreError. */
export type StoreErrorCode = 'duplicate' | 'unavailable' | 'corrupt' | 'migration';

/** The store layer's one error class. Messages never contain credentials (connection strings are redacted). */
export class StoreError extends Error {
  readonly code: StoreErrorCode;
  constructor(code: StoreErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StoreError';
    this.code = code;
  }
}
