import { createHash } from 'node:crypto';
import pg from 'pg';
import type { AuditEntry } from '../core/audit-record.ts';
import type { DeploymentPatch, DeploymentRecord, NewDeployment } from '../core/deployment.ts';
import { postgresDialect } from './account-store.ts';
import { AUDIT_COLUMNS, auditEntryParams } from './audit-rows.ts';
import { deploymentWhere } from './deployment-filter.ts';
import { describePostgresUrl, type PostgresTarget } from './describe-postgres-url.ts';
import { postgresMigrations } from './migrations.ts';
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

/** Options of {@link openPostgresStore}. */
export type PostgresStoreOptions = {
  /** Schema holding every table (created by `migrate()` if missing); default `public`. */
  schema?: string;
};

const SCHEMA_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;
const UNIQUE_VIOLATION = '23505';

type Param = string | number | null | readonly string[];

/**
 * Opens a connection pool to PostgreSQL and checks that the server answers. Several instances may
 * share one database: migrations run under a transaction-scoped advisory lock, and every claim is a
 * single atomic statement (`UPDATE … WHERE … RETURNING`, `INSERT … ON CONFLICT`).
 *
 * @throws {StoreError} code `unavailable` when the URL is malformed or the server cannot be reached;
 *   the message names the server but never the password.
 * @throws {RangeError} when `options.schema` is not a plain identifier.
 */
export async function openPostgresStore(url: string, options: PostgresStoreOptions = {}): Promise<Store> {
  const schema = options.schema ?? 'public';
  if (!SCHEMA_NAME.test(schema)) throw new RangeError(`not a usable PostgreSQL schema name: ${schema}`);
  const target = describePostgresUrl(url);
  const pool = new pg.Pool({
    connectionString: url,
    max: 10,
    connectionTimeoutMillis: 5_000,
    idleTimeoutMillis: 30_000,
    statement_timeout: 30_000,
    application_name: 'deploybot',
  });
  // An idle client losing its connection emits 'error' on the pool; unhandled, that would end the
  // process. The next query fails and reports it as `unavailable` instead.
  pool.on('error', () => {});
  const store = new PostgresStore(pool, schema, target);
  try {
    await store.ping();
  } catch (error) {
    await pool.end().catch(() => {});
    throw error;
  }
  return store;
}

function messageOf(error: unknown): string {
  if (error instanceof AggregateError && error.errors.length > 0) {
    return error.errors.map((e: unknown) => messageOf(e)).join('; ');
  }
  return error instanceof Error ? error.message || String(error) : String(error);
}

function sqlState(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null || !('code' in error)) return undefined;
  return typeof error.code === 'string' ? error.code : undefined;
}

/** A 64-bit advisory lock key per schema and purpose (`public`, `public:audit`): different schemas and purposes never wait on each other. */
function advisoryKey(schema: string): string {
  return createHash('sha256').update(`deploybot:migrate:${schema}`).digest().readBigInt64BE(0).toString();
}

class PostgresStore extends SqlStore implements Store {
  readonly #pool: pg.Pool;
  readonly #schema: string;
  /** The schema, quoted for SQL. */
  readonly #s: string;
  readonly #target: PostgresTarget;
  #closed = false;

  constructor(pool: pg.Pool, schema: string, target: PostgresTarget) {
    super(postgresDialect(`"${schema}"`));
    this.#pool = pool;
    this.#schema = schema;
    this.#s = `"${schema}"`;
    this.#target = target;
  }

  protected runStatement(what: string, sql: string, params: readonly BindValue[]): Promise<Row[]> {
    return this.#query(what, sql, params);
  }

  #error(what: string, error: unknown): StoreError {
    if (error instanceof StoreError) return error;
    const detail = this.#target.redact(messageOf(error));
    if (sqlState(error) === UNIQUE_VIOLATION) {
      return new StoreError('duplicate', `${what}: ${detail}`);
    }
    // The cause is left out on purpose: driver errors may carry connection parameters.
    return new StoreError('unavailable', `PostgreSQL ${what} failed (${this.#target.text}): ${detail}`);
  }

  async #query(what: string, sql: string, params: readonly Param[] = []): Promise<Row[]> {
    if (this.#closed) throw new StoreError('unavailable', `PostgreSQL store is closed (${what})`);
    try {
      const result = await this.#pool.query<Row>(sql, [...params]);
      return result.rows;
    } catch (error) {
      throw this.#error(what, error);
    }
  }

  async #one(what: string, sql: string, params: readonly Param[] = []): Promise<Row | undefined> {
    const rows = await this.#query(what, sql, params);
    return rows[0];
  }

  async migrate(): Promise<void> {
    if (this.#closed) throw new StoreError('unavailable', 'PostgreSQL store is closed (migrate)');
    let client: pg.PoolClient;
    try {
      client = await this.#pool.connect();
    } catch (error) {
      throw this.#error('migrate', error);
    }
    const s = this.#s;
    let current = 0;
    try {
      await client.query('BEGIN');
      // Held until COMMIT/ROLLBACK: instances starting together migrate one after the other, and
      // CREATE SCHEMA IF NOT EXISTS cannot race.
      await client.query('SELECT pg_advisory_xact_lock($1::bigint)', [advisoryKey(this.#schema)]);
      await client.query(`CREATE SCHEMA IF NOT EXISTS ${s}`);
      await client.query(
        `CREATE TABLE IF NOT EXISTS ${s}.schema_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at bigint NOT NULL)`,
      );
      const { rows } = await client.query<{ version: number }>(`SELECT version FROM ${s}.schema_migrations`);
      const applied = new Set(rows.map((r) => r.version));
      for (const migration of postgresMigrations(s)) {
        if (applied.has(migration.version)) continue;
        current = migration.version;
        await client.query(migration.sql);
        await client.query(
          `INSERT INTO ${s}.schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)`,
          [migration.version, migration.name, Date.now()],
        );
      }
      await client.query('COMMIT');
    } catch (error) {
      await client.query('ROLLBACK').catch(() => {});
      const detail = this.#target.redact(messageOf(error));
      throw new StoreError(
        'migration',
        `PostgreSQL migration ${current} of schema ${this.#schema} failed: ${detail}`,
      );
    } finally {
      client.release();
    }
  }

  async ping(): Promise<void> {
    await this.#query('ping', 'SELECT 1');
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#pool.end();
  }

  async insertDeployment(d: NewDeployment): Promise<DeploymentRecord> {
    const row = await this.#one(
      `insert deployment ${d.id}`,
      `INSERT INTO ${this.#s}.deployments (id, environment, action, ref, sha, subject, author, requester_id,
         requester_name, chat_id, message_id, state, run_id, run_url, detail, created_at, updated_at,
         dispatched_at, finished_at, service, version, delivered_version)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $16, $17, $18, $19, 1, 0)
       RETURNING *`,
      deploymentParams(d),
    );
    if (row === undefined) throw new StoreError('unavailable', `insert deployment ${d.id} returned nothing`);
    return deploymentFromRow(row);
  }

  async getDeployment(id: string): Promise<DeploymentRecord | null> {
    const row = await this.#one('get deployment', `SELECT * FROM ${this.#s}.deployments WHERE id = $1`, [
      storableText(id),
    ]);
    return row === undefined ? null : deploymentFromRow(row);
  }

  async findDeploymentByRunId(runId: number): Promise<DeploymentRecord | null> {
    const row = await this.#one(
      'find deployment by run id',
      `SELECT * FROM ${this.#s}.deployments WHERE run_id = $1`,
      [checkInt('runId', runId)],
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
    const params: Param[] = sets.map((a) => a.value);
    const assignments = sets.map((a, i) => `${a.column} = $${i + 1}${a.isDetail ? '::jsonb' : ''}`);
    const n = params.length;
    params.push(now, storableText(id), expectedVersion);
    const row = await this.#one(
      `update deployment ${id}`,
      `UPDATE ${this.#s}.deployments SET ${[...assignments, 'version = version + 1', `updated_at = $${n + 1}`].join(', ')}
       WHERE id = $${n + 2} AND version = $${n + 3} RETURNING *`,
      params,
    );
    return row === undefined ? null : deploymentFromRow(row);
  }

  async listDeployments(filter: DeploymentFilter): Promise<DeploymentRecord[]> {
    const limit = resolveLimit(filter.limit);
    const params: Param[] = [];
    const where = deploymentWhere(filter, (value) => `$${params.push(value)}`);
    if (where === null) return [];
    const rows = await this.#query(
      'list deployments',
      `SELECT * FROM ${this.#s}.deployments ${where} ORDER BY created_at DESC, id DESC LIMIT $${params.push(limit)}`,
      params,
    );
    return rows.map(deploymentFromRow);
  }

  async listUndelivered(limit: number): Promise<DeploymentRecord[]> {
    const rows = await this.#query(
      'list undelivered',
      `SELECT * FROM ${this.#s}.deployments WHERE chat_id IS NOT NULL AND version > delivered_version
       ORDER BY updated_at ASC, id ASC LIMIT $1`,
      [resolveLimit(limit)],
    );
    return rows.map(deploymentFromRow);
  }

  async markDelivered(id: string, version: number): Promise<void> {
    // Never above the record's own version: that would hide the edits owed for later changes.
    await this.#query(
      'mark delivered',
      `UPDATE ${this.#s}.deployments SET delivered_version = LEAST($1::integer, version)
       WHERE id = $2 AND delivered_version < LEAST($1::integer, version)`,
      [checkInt('version', version), storableText(id)],
    );
  }

  async insertConfirmation(c: Confirmation): Promise<void> {
    await this.#query(
      `insert confirmation ${c.id}`,
      `INSERT INTO ${this.#s}.confirmations (id, kind, deployment_id, requester_id, chat_id, created_at, expires_at, used_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
      confirmationParams(c),
    );
  }

  async getConfirmation(id: string): Promise<Confirmation | null> {
    const row = await this.#one('get confirmation', `SELECT * FROM ${this.#s}.confirmations WHERE id = $1`, [
      storableText(id),
    ]);
    return row === undefined ? null : confirmationFromRow(row);
  }

  async consumeConfirmation(id: string, now: number): Promise<ConsumeResult> {
    const key = storableText(id);
    const claimed = await this.#one(
      'consume confirmation',
      `UPDATE ${this.#s}.confirmations SET used_at = $1
       WHERE id = $2 AND used_at IS NULL AND expires_at > $1 RETURNING *`,
      [checkInt('now', now), key],
    );
    if (claimed !== undefined) return { ok: true, confirmation: confirmationFromRow(claimed) };
    // Confirmations are never deleted, so a row missing now was never there.
    const row = await this.#one(
      'consume confirmation',
      `SELECT used_at FROM ${this.#s}.confirmations WHERE id = $1`,
      [key],
    );
    return consumeRefusal(row);
  }

  async acquireLock(lock: EnvironmentLock, now: number): Promise<AcquireLockResult> {
    const params = lockParams(lock, now);
    const what = `acquire lock ${lock.environment}`;
    // The upsert replaces only an expired lock. When it changes nothing the holder is read next; if
    // another instance released it in between, try again (a release cannot repeat forever).
    for (let attempt = 0; attempt < 5; attempt++) {
      const taken = await this.#one(
        what,
        `INSERT INTO ${this.#s}.locks AS l (environment, owner_id, owner_name, reason, created_at, expires_at, reminded_at, service)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $9)
         ON CONFLICT (service, environment) DO UPDATE SET ${LOCK_TAKEOVER}
         WHERE l.expires_at <= $8
         RETURNING *`,
        params,
      );
      if (taken !== undefined) return { ok: true, lock: lockFromRow(taken) };
      const held = await this.#one(
        what,
        `SELECT * FROM ${this.#s}.locks WHERE environment = $1 AND service = $2`,
        [params[0] ?? null, params[8] ?? null],
      );
      if (held !== undefined) return { ok: false, held: lockFromRow(held) };
    }
    throw new StoreError('unavailable', `lock ${lock.environment} keeps changing; gave up`);
  }

  async appendAuditEntry(build: (previousHash: string | null) => AuditEntry): Promise<AuditEntry> {
    return this.#inTransaction('append audit entry', async (client) => {
      // Every instance appends to one chain: the lock makes them take turns, so it never forks.
      await client.query('SELECT pg_advisory_xact_lock($1::bigint)', [advisoryKey(`${this.#schema}:audit`)]);
      const { rows } = await client.query<Row>(
        `SELECT seq, hash FROM ${this.#s}.audit_entries ORDER BY seq DESC LIMIT 1`,
      );
      const last = rows[0];
      const entry = build(last ? String(last.hash) : null);
      const seq = (last ? Number(last.seq) : 0) + 1;
      await client.query(
        `INSERT INTO ${this.#s}.audit_entries (${AUDIT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
        auditEntryParams(seq, entry),
      );
      return entry;
    });
  }

  /** Runs `work` in one transaction on one connection; rolls back when it throws. */
  async #inTransaction<T>(what: string, work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    if (this.#closed) throw new StoreError('unavailable', `PostgreSQL store is closed (${what})`);
    let client: pg.PoolClient;
    try {
      client = await this.#pool.connect();
    } catch (error) {
      throw this.#error(what, error);
    }
    try {
      await client.query('BEGIN');
      const result = await work(client);
      await client.query('COMMIT');
      return result;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => {});
      throw this.#error(what, error);
    } finally {
      client.release();
    }
  }
}
