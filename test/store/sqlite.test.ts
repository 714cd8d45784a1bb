import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { emptyDetail } from '../../src/core/deployment.ts';
import { SQLITE_MIGRATIONS } from '../../src/store/migrations.ts';
import { openStore } from '../../src/store/open-store.ts';
import { openSqliteStore } from '../../src/store/sqlite.ts';
import { StoreError } from '../../src/store/store.ts';
import { describeStoreContract } from './store-contract.ts';
import { deployment, T0 } from './store-contract-fixtures.ts';
import { expectPreServicesDataAdopted } from './store-contract-services.ts';

let dir = '';
let counter = 0;
const freshPath = () => join(dir, `store-${++counter}.sqlite`);

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'deploybot-sqlite-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describeStoreContract('SQLite file', async () => {
  const path = freshPath();
  const store = await openSqliteStore(path);
  return {
    store,
    openAnother: () => openSqliteStore(path),
    cleanup: async () => {
      await store.close();
      for (const suffix of ['', '-wal', '-shm']) await rm(path + suffix, { force: true });
    },
  };
});

describeStoreContract('SQLite :memory:', async () => {
  const store = await openSqliteStore(':memory:');
  return { store, cleanup: () => store.close() };
});

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    return error instanceof StoreError ? error.code : `not a StoreError: ${String(error)}`;
  }
  return 'resolved';
}

describe('SQLite store specifics', () => {
  it('uses WAL, foreign keys, and records migrations in schema_migrations', async () => {
    const path = freshPath();
    const store = await openSqliteStore(path);
    await store.migrate();
    await store.migrate();
    await store.close();
    const raw = new DatabaseSync(path);
    expect(raw.prepare('PRAGMA journal_mode').get()).toEqual({ journal_mode: 'wal' });
    expect(
      raw
        .prepare('SELECT version FROM schema_migrations')
        .all()
        .map((r) => r.version),
    ).toEqual([1, 2, 3, 4, 5, 6]);
    raw.close();
  });

  it('adds migration 3 (linked accounts) to a database that already has 4, keeping its data', async () => {
    const path = freshPath();
    const store = await openSqliteStore(path);
    await store.migrate();
    await store.insertDeployment(deployment({ id: 'kept' }));
    await store.close();
    // A database made by a build that had the audit chain (4) but not yet linked accounts (3).
    const raw = new DatabaseSync(path);
    raw.exec(
      'DROP TABLE linked_accounts; DROP TABLE review_votes; DELETE FROM schema_migrations WHERE version = 3',
    );
    raw.close();
    const upgraded = await openSqliteStore(path);
    await upgraded.migrate();
    expect(await upgraded.getDeployment('kept')).not.toBeNull();
    expect(
      await upgraded.claimReviewVote({
        runId: 1,
        telegramUserId: 1,
        githubLogin: 'x',
        decision: 'approved',
        createdAt: 1,
      }),
    ).toEqual({ ok: true });
    await upgraded.close();
  });

  it('upgrades a database made by version 1: records without a message count as told, others stay owed', async () => {
    const path = freshPath();
    const raw = new DatabaseSync(path);
    raw.exec(
      'CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL) STRICT',
    );
    const [first] = SQLITE_MIGRATIONS;
    raw.exec(first?.sql ?? '');
    raw.prepare('INSERT INTO schema_migrations VALUES (1, ?, 0)').run(first?.name ?? '');
    const insert = raw.prepare(
      `INSERT INTO deployments VALUES (?, 'staging', 'deploy', 'main', ?, 's', 'a', 1, 'Ada', 42, ?, 'succeeded', NULL, NULL, ?, 1, 1, NULL, 2, 3, 1)`,
    );
    const detail = JSON.stringify(emptyDetail());
    insert.run('told-by-handler', 'a'.repeat(40), null, detail);
    insert.run('edit-owed', 'b'.repeat(40), 7, detail);
    raw.close();
    const store = await openSqliteStore(path);
    await store.migrate();
    expect((await store.getDeployment('told-by-handler'))?.deliveredVersion).toBe(3);
    expect((await store.listUndelivered(10)).map((r) => r.id)).toEqual(['edit-owed']);
    expect(await store.getAuditAnchor('/any')).toBeNull();
    await store.close();
  });

  it('upgrades a database made by the version before services (migrations 1-4): its rows go to the first service', async () => {
    const path = freshPath();
    const raw = new DatabaseSync(path);
    raw.exec(
      'CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL) STRICT',
    );
    for (const migration of SQLITE_MIGRATIONS.filter((m) => m.version <= 4)) {
      raw.exec(migration.sql);
      raw.prepare('INSERT INTO schema_migrations VALUES (?, ?, 0)').run(migration.version, migration.name);
    }
    // Exactly the columns the previous version wrote.
    raw
      .prepare(
        `INSERT INTO deployments (id, environment, action, ref, sha, subject, author, requester_id, requester_name,
           chat_id, message_id, state, run_id, run_url, detail, created_at, updated_at, dispatched_at, finished_at,
           version, delivered_version)
         VALUES ('before-services', 'staging', 'deploy', 'main', ?, 's', 'a', 1, 'Ada', 42, 7, 'succeeded', 9, NULL, ?,
           1, 1, 1, 2, 3, 3)`,
      )
      .run('a'.repeat(40), JSON.stringify(emptyDetail()));
    raw
      .prepare(
        `INSERT INTO locks (environment, owner_id, owner_name, reason, created_at, expires_at, reminded_at)
         VALUES ('production', 1001, 'Ada', 'freeze', ?, ?, NULL)`,
      )
      .run(T0, T0 + 3_600_000);
    raw.close();
    const store = await openSqliteStore(path);
    await store.migrate();
    await expectPreServicesDataAdopted(store);
    await store.close();
  });

  it('reports a row that does not parse as corrupt', async () => {
    const path = freshPath();
    const store = await openSqliteStore(path);
    await store.migrate();
    await store.insertDeployment(deployment({ id: 'x' }));
    const raw = new DatabaseSync(path);
    raw.exec(`UPDATE deployments SET detail = '{not json'`);
    expect(await codeOf(store.getDeployment('x'))).toBe('corrupt');
    raw.exec(`UPDATE deployments SET detail = '{"jobs": 3}'`);
    expect(await codeOf(store.listDeployments({}))).toBe('corrupt');
    raw.exec(`UPDATE deployments SET detail = '${JSON.stringify(emptyDetail())}', state = 'exploded'`);
    expect(await codeOf(store.getDeployment('x'))).toBe('corrupt');
    raw.close();
    await store.close();
  });

  it('fails a migration as a whole, with code migration, recording nothing', async () => {
    const path = freshPath();
    const raw = new DatabaseSync(path);
    raw.exec('CREATE TABLE leases (something TEXT)');
    const store = await openSqliteStore(path);
    expect(await codeOf(store.migrate())).toBe('migration');
    expect(
      raw.prepare(`SELECT name FROM sqlite_master WHERE name IN ('deployments', 'schema_migrations')`).all(),
    ).toEqual([]);
    raw.close();
    await store.close();
  });

  it('cannot open a file in a missing directory: unavailable', async () => {
    expect(await codeOf(openSqliteStore(join(dir, 'missing', 'x.sqlite')))).toBe('unavailable');
  });

  it('keeps claims single across real processes sharing the file', async () => {
    const path = freshPath();
    const store = await openSqliteStore(path);
    await store.migrate();
    const ids = Array.from({ length: 40 }, (_, i) => `confirmation-${String(i).padStart(10, '0')}`);
    for (const id of ids) {
      const c = {
        id,
        kind: 'deploy',
        deploymentId: 'd',
        requesterId: 1,
        chatId: 1,
        createdAt: 0,
        usedAt: null,
      } as const;
      await store.insertConfirmation({ ...c, expiresAt: Number.MAX_SAFE_INTEGER });
    }
    const module = pathToFileURL(join(import.meta.dirname, '../../src/store/sqlite.ts')).href;
    const script = `
      const { openSqliteStore } = await import(${JSON.stringify(module)});
      const store = await openSqliteStore(${JSON.stringify(path)});
      await store.migrate();
      const won = [];
      for (const id of ${JSON.stringify(ids)}) {
        if ((await store.consumeConfirmation(id, Date.now())).ok) won.push(id);
        if (await store.rememberDelivery('github', id, 1)) won.push('delivery:' + id);
      }
      await store.close();
      process.stdout.write(JSON.stringify(won));`;
    const run = promisify(execFile);
    const outputs = await Promise.all(
      Array.from({ length: 4 }, () =>
        run(process.execPath, ['--no-warnings', '--input-type=module', '-e', script], { timeout: 30_000 }),
      ),
    );
    const won = outputs.flatMap((o) => JSON.parse(o.stdout) as string[]);
    expect(won.toSorted()).toEqual([...ids, ...ids.map((id) => `delivery:${id}`)].toSorted());
    await store.close();
  });
});

describe('openStore', () => {
  it('opens a SQLite file, creating its directory', async () => {
    const path = join(dir, 'nested', 'deeper', 'bot.sqlite');
    const store = await openStore(path);
    await store.migrate();
    await store.ping();
    await store.close();
    expect(existsSync(path)).toBe(true);
  });

  it('opens :memory: without touching the disk', async () => {
    const store = await openStore(':memory:');
    await store.migrate();
    expect(await store.rememberDelivery('telegram', '1', 1)).toBe(true);
    await store.close();
    expect(existsSync(':memory:')).toBe(false);
  });

  it('refuses an empty value and URLs of other databases', async () => {
    await expect(openStore('')).rejects.toThrow(/empty/);
    await expect(openStore('mysql://u:p@localhost/db')).rejects.toThrow(/mysql:\/\/" is not supported/);
  });
});
