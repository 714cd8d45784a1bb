import { randomBytes } from 'node:crypto';
import { inspect } from 'node:util';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { emptyDetail } from '../../src/core/deployment.ts';
import { postgresMigrations } from '../../src/store/migrations.ts';
import { openStore } from '../../src/store/open-store.ts';
import { openPostgresStore } from '../../src/store/postgres.ts';
import { StoreError } from '../../src/store/store.ts';
import { describeStoreContract } from './store-contract.ts';
import { deployment, T0 } from './store-contract-fixtures.ts';
import { expectPreServicesDataAdopted } from './store-contract-services.ts';

const DATABASE_URL = process.env.DATABASE_URL_TEST ?? 'postgres://postgres@127.0.0.1:5432/postgres';

async function probe(): Promise<string | null> {
  const client = new pg.Client({ connectionString: DATABASE_URL, connectionTimeoutMillis: 3_000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
    return null;
  } catch (error) {
    return error instanceof Error ? error.message || error.name : String(error);
  } finally {
    await client.end().catch(() => {});
  }
}

const unreachable = await probe();
// This file's schemas share a random prefix, so parallel runs (and other test files) never collide.
const prefix = `deploybot_test_${randomBytes(4).toString('hex')}`;
let counter = 0;
const admin = unreachable === null ? new pg.Pool({ connectionString: DATABASE_URL, max: 2 }) : null;

async function sql(text: string, params: unknown[] = []): Promise<pg.QueryResult> {
  if (admin === null) throw new Error('PostgreSQL is not reachable');
  return admin.query(text, params);
}

afterAll(async () => {
  if (admin === null) return;
  const { rows } = await sql(`SELECT nspname FROM pg_namespace WHERE nspname LIKE $1`, [`${prefix}%`]);
  for (const row of rows) await sql(`DROP SCHEMA "${String(row.nspname)}" CASCADE`);
  await admin.end();
});

if (unreachable !== null) {
  const shown = DATABASE_URL.replace(/:\/\/([^:@/]*):[^@/]*@/, '://$1:***@');
  const reason = `PostgreSQL at ${shown} is not reachable (${unreachable}); set DATABASE_URL_TEST`;
  if (process.env.CI === 'true') {
    it('PostgreSQL is reachable (required under CI=true)', () => {
      throw new Error(reason);
    });
  } else {
    it.skip(`skipped: ${reason}`, () => {});
  }
} else {
  describeStoreContract('PostgreSQL', async () => {
    const schema = `${prefix}_${++counter}`;
    const store = await openPostgresStore(DATABASE_URL, { schema });
    return {
      store,
      openAnother: () => openPostgresStore(DATABASE_URL, { schema }),
      cleanup: async () => {
        await store.close();
        await sql(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      },
    };
  });

  describe('PostgreSQL store specifics', () => {
    it('keeps every table in its schema, timestamps as bigint and detail as jsonb', async () => {
      const schema = `${prefix}_${++counter}`;
      const store = await openPostgresStore(DATABASE_URL, { schema });
      await store.migrate();
      await store.close();
      const tables = await sql(`SELECT table_name FROM information_schema.tables WHERE table_schema = $1`, [
        schema,
      ]);
      expect(tables.rows.map((r) => r.table_name).toSorted()).toEqual([
        'audit_anchors',
        'audit_entries',
        'chat_pace',
        'confirmations',
        'deliveries',
        'deployments',
        'leases',
        'linked_accounts',
        'locks',
        'review_votes',
        'schema_migrations',
      ]);
      const columns = await sql(
        `SELECT column_name, data_type FROM information_schema.columns
         WHERE table_schema = $1 AND table_name = 'deployments' AND column_name IN ('created_at', 'run_id', 'detail')`,
        [schema],
      );
      expect(Object.fromEntries(columns.rows.map((r) => [r.column_name, r.data_type]))).toEqual({
        created_at: 'bigint',
        run_id: 'bigint',
        detail: 'jsonb',
      });
    });

    it('migrates once when several instances start together', async () => {
      const schema = `${prefix}_${++counter}`;
      const stores = await Promise.all(
        Array.from({ length: 4 }, () => openPostgresStore(DATABASE_URL, { schema })),
      );
      await Promise.all(stores.map((s) => s.migrate()));
      await Promise.all(stores.map((s) => s.close()));
      const applied = await sql(`SELECT version FROM "${schema}".schema_migrations`);
      expect(applied.rows.map((r) => r.version)).toEqual([1, 2, 3, 4, 5, 6]);
    });

    it('fails a migration as a whole, with code migration', async () => {
      const schema = `${prefix}_${++counter}`;
      await sql(`CREATE SCHEMA "${schema}"`);
      await sql(`CREATE TABLE "${schema}".leases (something text)`);
      const store = await openPostgresStore(DATABASE_URL, { schema });
      const error = await store.migrate().catch((e: unknown) => e);
      await store.close();
      expect(error).toBeInstanceOf(StoreError);
      expect((error as StoreError).code).toBe('migration');
      const left = await sql(`SELECT to_regclass($1) AS t`, [`"${schema}".deployments`]);
      expect(left.rows[0]?.t).toBeNull();
    });

    it('upgrades a database made by the version before services (migrations 1-4): its rows go to the first service', async () => {
      const schema = `${prefix}_${++counter}`;
      const s = `"${schema}"`;
      await sql(`CREATE SCHEMA ${s}`);
      await sql(
        `CREATE TABLE ${s}.schema_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at bigint NOT NULL)`,
      );
      for (const migration of postgresMigrations(s).filter((m) => m.version <= 4)) {
        await sql(migration.sql);
        await sql(`INSERT INTO ${s}.schema_migrations VALUES ($1, $2, 0)`, [
          migration.version,
          migration.name,
        ]);
      }
      // Exactly the columns the previous version wrote.
      await sql(
        `INSERT INTO ${s}.deployments (id, environment, action, ref, sha, subject, author, requester_id, requester_name,
           chat_id, message_id, state, run_id, run_url, detail, created_at, updated_at, dispatched_at, finished_at,
           version, delivered_version)
         VALUES ('before-services', 'staging', 'deploy', 'main', $1, 's', 'a', 1, 'Ada', 42, 7, 'succeeded', 9, NULL,
           $2, 1, 1, 1, 2, 3, 3)`,
        ['a'.repeat(40), JSON.stringify(emptyDetail())],
      );
      await sql(
        `INSERT INTO ${s}.locks (environment, owner_id, owner_name, reason, created_at, expires_at, reminded_at)
         VALUES ('production', 1001, 'Ada', 'freeze', $1, $2, NULL)`,
        [T0, T0 + 3_600_000],
      );
      const store = await openPostgresStore(DATABASE_URL, { schema });
      await store.migrate();
      await expectPreServicesDataAdopted(store);
      await store.close();
    });

    it('reports a row that does not parse as corrupt', async () => {
      const schema = `${prefix}_${++counter}`;
      const store = await openPostgresStore(DATABASE_URL, { schema });
      await store.migrate();
      await store.insertDeployment(deployment({ id: 'x' }));
      const codeOf = (p: Promise<unknown>) =>
        p.then(
          () => 'resolved',
          (e: unknown) => (e instanceof StoreError ? e.code : String(e)),
        );
      await sql(`UPDATE "${schema}".deployments SET detail = '{"jobs": 3}'`);
      expect(await codeOf(store.getDeployment('x'))).toBe('corrupt');
      await sql(`UPDATE "${schema}".deployments SET detail = $1, state = 'exploded'`, [
        JSON.stringify(emptyDetail()),
      ]);
      expect(await codeOf(store.listDeployments({}))).toBe('corrupt');
      await store.close();
    });

    it('refuses a schema name that is not a plain identifier', async () => {
      await expect(openPostgresStore(DATABASE_URL, { schema: 'x"; DROP TABLE y; --' })).rejects.toThrow(
        RangeError,
      );
    });
  });
}

describe('PostgreSQL connection failures', () => {
  const badUrl = 'postgres://u:s3cret@127.0.0.1:1/x';

  for (const [label, open] of [
    ['openPostgresStore', () => openPostgresStore(badUrl)],
    ['openStore', () => openStore(badUrl.replace('postgres:', 'postgresql:'))],
  ] as const) {
    it(`${label}: an unreachable server is StoreError unavailable, without the password`, async () => {
      const error = await open().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(StoreError);
      expect((error as StoreError).code).toBe('unavailable');
      expect((error as StoreError).message).toMatch(/127\.0\.0\.1:1/);
      expect(inspect(error, { depth: 10 })).not.toContain('s3cret');
    });
  }

  it('a malformed URL is StoreError unavailable without echoing it', async () => {
    const error = await openPostgresStore('postgres://u:s3cret@[bad').catch((e: unknown) => e);
    expect((error as StoreError).code).toBe('unavailable');
    expect(inspect(error, { depth: 10 })).not.toContain('s3cret');
  });
});
