import { DatabaseSync, type SQLInputValue, type StatementSync } from 'node:sqlite';
import type { AuditEntry } from '../core/audit-record.ts';
import type { DeploymentPatch, DeploymentRecord, NewDeployment } from '../core/deployment.ts';
import { SQLITE_DIALECT } from './account-store.ts';
import { AUDIT_COLUMNS, auditEntryParams } from './audit-rows.ts';
import { deploymentWhere } from './deployment-filter.ts';
import { SQLITE_MIGRATIONS } from './migrations.ts';
import {
  checkInt,
  confirmationFromRow,
  consumeRefusal,
  deploymentFromRow,
  lockFromRow,
  patchAssignments,
  type Row,
  resolveLimit,
  storableText,
} from './rows.ts';
import { SqlStore } from './sql-store.ts';
import type {
  AcquireLockResult,
  Confirmation,
  ConsumeResult,
  DeploymentFilter,
  EnvironmentLock,
  Store,
} from './store.ts';
import { StoreError } from './store.ts';
import {
  type BindValue,
  confirmationParams,
  deploymentParams,
  LOCK_TAKEOVER,
  lockParams,
} from './store-params.ts';

/** How long a statement waits for another connection's write lock before failing as `unavailable`. */
const BUSY_TIMEOUT_MS = 5_000;

// Extended result codes of a PRIMARY KEY / UNIQUE violation (sqlite.org/rescode.html).
const SQLITE_CONSTRAINT_PRIMARYKEY = 1555;
const SQLITE_CONSTRAINT_UNIQUE = 2067;

/**
 * Opens (creating if needed) the SQLite database at `path` (`':memory:'` for a private in-memory one)
 * with WAL journaling, a busy timeout and foreign keys on. Call `migrate()` before use.
 *
 * node:sqlite is synchronous: every method is one short statement or transaction that finishes
 * before it returns, so no lock is held across an `await`, and several processes (or store objects)
 * may share one file; claims are single `UPDATE … RETURNING` / `INSERT … ON CONFLICT` statements.
 *
 * @throws {StoreError} code `unavailable` when the file cannot be opened (missing directory, rights).
 */
export async function openSqliteStore(path: string): Promise<Store> {
  let db: DatabaseSync;
  try {
    db = new DatabaseSync(path, { timeout: BUSY_TIMEOUT_MS, enableForeignKeyConstraints: true });
  } catch (error) {
    throw new StoreError('unavailable', `cannot open SQLite database ${path}: ${messageOf(error)}`, {
      cause: error,
    });
  }
  try {
    db.exec(`PRAGMA busy_timeout = ${BUSY_TIMEOUT_MS}`);
    // Memory databases answer "memory" here and stay as they are, which is fine.
    db.exec('PRAGMA journal_mode = WAL');
    // FULL: a commit is on disk before it returns, so a confirmation consumed (or a dispatch claimed)
    // before a power cut stays consumed; NORMAL could lose the last commits and let a replay act twice.
    db.exec('PRAGMA synchronous = FULL');
    db.exec('PRAGMA foreign_keys = ON');
  } catch (error) {
    db.close();
    throw new StoreError('unavailable', `cannot set up SQLite database ${path}: ${messageOf(error)}`, {
      cause: error,
    });
  }
  return new SqliteStore(db);
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function sqliteErrcode(error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null || !('errcode' in error)) return undefined;
  return typeof error.errcode === 'number' ? error.errcode : undefined;
}

class SqliteStore extends SqlStore implements Store {
  readonly #db: DatabaseSync;
  readonly #statements = new Map<string, StatementSync>();
  #closed = false;

  constructor(db: DatabaseSync) {
    super(SQLITE_DIALECT);
    this.#db = db;
  }

  protected async runStatement(what: string, sql: string, params: readonly BindValue[]): Promise<Row[]> {
    return this.#guard(what, () => this.#all(sql, ...params));
  }

  /** Runs `fn`, turning driver errors into StoreError; caller errors (RangeError) pass through. */
  #guard<T>(what: string, fn: () => T): T {
    if (this.#closed) throw new StoreError('unavailable', `SQLite store is closed (${what})`);
    try {
      return fn();
    } catch (error) {
      if (error instanceof StoreError || error instanceof RangeError) throw error;
      const code = sqliteErrcode(error);
      if (code === SQLITE_CONSTRAINT_PRIMARYKEY || code === SQLITE_CONSTRAINT_UNIQUE) {
        throw new StoreError('duplicate', `${what}: ${messageOf(error)}`, { cause: error });
      }
      throw new StoreError('unavailable', `SQLite ${what} failed: ${messageOf(error)}`, { cause: error });
    }
  }

  #statement(sql: string): StatementSync {
    let statement = this.#statements.get(sql);
    if (statement === undefined) {
      statement = this.#db.prepare(sql);
      this.#statements.set(sql, statement);
    }
    return statement;
  }

  #get(sql: string, ...params: SQLInputValue[]): Row | undefined {
    return this.#statement(sql).get(...params);
  }

  #all(sql: string, ...params: SQLInputValue[]): Row[] {
    return this.#statement(sql).all(...params);
  }

  #run(sql: string, ...params: SQLInputValue[]): number {
    return Number(this.#statement(sql).run(...params).changes);
  }

  async migrate(): Promise<void> {
    if (this.#closed) throw new StoreError('unavailable', 'SQLite store is closed (migrate)');
    const db = this.#db;
    try {
      // IMMEDIATE takes the write lock up front, so two processes starting together migrate in turn.
      db.exec('BEGIN IMMEDIATE');
    } catch (error) {
      throw new StoreError('migration', `SQLite migration could not start: ${messageOf(error)}`, {
        cause: error,
      });
    }
    let current = 0;
    try {
      db.exec(
        'CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL) STRICT',
      );
      const applied = new Set(
        db
          .prepare('SELECT version FROM schema_migrations')
          .all()
          .map((r) => r.version),
      );
      for (const migration of SQLITE_MIGRATIONS) {
        if (applied.has(migration.version)) continue;
        current = migration.version;
        db.exec(migration.sql);
        db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)').run(
          migration.version,
          migration.name,
          Date.now(),
        );
      }
      db.exec('COMMIT');
    } catch (error) {
      if (db.isTransaction) db.exec('ROLLBACK');
      throw new StoreError('migration', `SQLite migration ${current} failed: ${messageOf(error)}`, {
        cause: error,
      });
    }
  }

  async ping(): Promise<void> {
    this.#guard('ping', () => this.#get('SELECT 1 AS ok'));
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#statements.clear();
    this.#db.close();
  }

  async insertDeployment(d: NewDeployment): Promise<DeploymentRecord> {
    const params = deploymentParams(d);
    const row = this.#guard(`insert deployment ${d.id}`, () =>
      this.#get(
        `INSERT INTO deployments (id, environment, action, ref, sha, subject, author, requester_id,
           requester_name, chat_id, message_id, state, run_id, run_url, detail, created_at, updated_at,
           dispatched_at, finished_at, service, version, delivered_version)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?16, ?17, ?18, ?19, 1, 0)
         RETURNING *`,
        ...params,
      ),
    );
    if (row === undefined) throw new StoreError('unavailable', `insert deployment ${d.id} returned nothing`);
    return deploymentFromRow(row);
  }

  async getDeployment(id: string): Promise<DeploymentRecord | null> {
    const row = this.#guard('get deployment', () =>
      this.#get('SELECT * FROM deployments WHERE id = ?', storableText(id)),
    );
    return row === undefined ? null : deploymentFromRow(row);
  }

  async findDeploymentByRunId(runId: number): Promise<DeploymentRecord | null> {
    checkInt('runId', runId);
    const row = this.#guard('find deployment by run id', () =>
      this.#get('SELECT * FROM deployments WHERE run_id = ?', runId),
    );
    return row === undefined ? null : deploymentFromRow(row);
  }

  async updateDeployment(
    id: string,
    expectedVersion: number,
    patch: DeploymentPatch,
    now: number,
  ): Promise<DeploymentRecord | null> {
    checkInt('expectedVersion', expectedVersion);
    checkInt('now', now);
    const sets = patchAssignments(patch);
    const assignments = sets.map((a) => `${a.column} = ?`);
    const sql = `UPDATE deployments SET ${[...assignments, 'version = version + 1', 'updated_at = ?'].join(', ')}
      WHERE id = ? AND version = ? RETURNING *`;
    const row = this.#guard(`update deployment ${id}`, () =>
      this.#get(sql, ...sets.map((a) => a.value), now, storableText(id), expectedVersion),
    );
    return row === undefined ? null : deploymentFromRow(row);
  }

  async listDeployments(filter: DeploymentFilter): Promise<DeploymentRecord[]> {
    const limit = resolveLimit(filter.limit);
    const params: SQLInputValue[] = [];
    const where = deploymentWhere(filter, (value) => {
      params.push(value);
      return '?';
    });
    if (where === null) return [];
    const sql = `SELECT * FROM deployments ${where} ORDER BY created_at DESC, id DESC LIMIT ?`;
    const rows = this.#guard('list deployments', () => this.#all(sql, ...params, limit));
    return rows.map(deploymentFromRow);
  }

  async listUndelivered(limit: number): Promise<DeploymentRecord[]> {
    const n = resolveLimit(limit);
    const rows = this.#guard('list undelivered', () =>
      this.#all(
        `SELECT * FROM deployments WHERE chat_id IS NOT NULL AND version > delivered_version
         ORDER BY updated_at ASC, id ASC LIMIT ?`,
        n,
      ),
    );
    return rows.map(deploymentFromRow);
  }

  async markDelivered(id: string, version: number): Promise<void> {
    checkInt('version', version);
    // Never above the record's own version: that would hide the edits owed for later changes.
    this.#guard('mark delivered', () =>
      this.#run(
        `UPDATE deployments SET delivered_version = MIN(?1, version)
         WHERE id = ?2 AND delivered_version < MIN(?1, version)`,
        version,
        storableText(id),
      ),
    );
  }

  async insertConfirmation(c: Confirmation): Promise<void> {
    const params = confirmationParams(c);
    this.#guard(`insert confirmation ${c.id}`, () =>
      this.#run(
        `INSERT INTO confirmations (id, kind, deployment_id, requester_id, chat_id, created_at, expires_at, used_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
        ...params,
      ),
    );
  }

  async getConfirmation(id: string): Promise<Confirmation | null> {
    const row = this.#guard('get confirmation', () =>
      this.#get('SELECT * FROM confirmations WHERE id = ?', storableText(id)),
    );
    return row === undefined ? null : confirmationFromRow(row);
  }

  async consumeConfirmation(id: string, now: number): Promise<ConsumeResult> {
    checkInt('now', now);
    const key = storableText(id);
    return this.#guard('consume confirmation', () => {
      const claimed = this.#get(
        `UPDATE confirmations SET used_at = ?1 WHERE id = ?2 AND used_at IS NULL AND expires_at > ?1 RETURNING *`,
        now,
        key,
      );
      if (claimed !== undefined) return { ok: true, confirmation: confirmationFromRow(claimed) };
      const row = this.#get('SELECT used_at FROM confirmations WHERE id = ?', key);
      return consumeRefusal(row);
    });
  }

  async acquireLock(lock: EnvironmentLock, now: number): Promise<AcquireLockResult> {
    checkInt('now', now);
    const params = lockParams(lock, now);
    return this.#guard(`acquire lock ${lock.environment}`, () => {
      // The upsert replaces only an expired lock. When it changes nothing the holder is read next; if
      // another process released it in between, try again (a release cannot repeat forever).
      for (let attempt = 0; attempt < 5; attempt++) {
        const taken = this.#get(
          `INSERT INTO locks (environment, owner_id, owner_name, reason, created_at, expires_at, reminded_at, service)
           VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?9)
           ON CONFLICT (service, environment) DO UPDATE SET ${LOCK_TAKEOVER}
           WHERE locks.expires_at <= ?8
           RETURNING *`,
          ...params,
        );
        if (taken !== undefined) return { ok: true, lock: lockFromRow(taken) };
        const held = this.#get(
          'SELECT * FROM locks WHERE environment = ? AND service = ?',
          params[0] ?? null,
          params[8] ?? null,
        );
        if (held !== undefined) return { ok: false, held: lockFromRow(held) };
      }
      throw new StoreError('unavailable', `lock ${lock.environment} keeps changing; gave up`);
    });
  }

  async appendAuditEntry(build: (previousHash: string | null) => AuditEntry): Promise<AuditEntry> {
    const db = this.#db;
    return this.#guard('append audit entry', () => {
      // IMMEDIATE: another process appending waits for this one, so the chain never forks.
      db.exec('BEGIN IMMEDIATE');
      try {
        const last = this.#get('SELECT seq, hash FROM audit_entries ORDER BY seq DESC LIMIT 1');
        const entry = build(last ? String(last.hash) : null);
        const seq = (last ? Number(last.seq) : 0) + 1;
        this.#run(
          `INSERT INTO audit_entries (${AUDIT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
          ...auditEntryParams(seq, entry),
        );
        db.exec('COMMIT');
        return entry;
      } catch (error) {
        if (db.isTransaction) db.exec('ROLLBACK');
        throw error;
      }
    });
  }
}
