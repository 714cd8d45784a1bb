import { mkdir } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { openSqliteStore } from './sqlite.ts';
import type { Store } from './store.ts';
import { StoreError } from './store.ts';

/**
 * Opens the store `DATABASE_URL` names: `postgres://` or `postgresql://` → PostgreSQL (several
 * instances may share it); anything else is a SQLite file path, whose parent directory is created
 * (`':memory:'` gives a private in-memory database). Call `migrate()` on the result before use.
 *
 * @throws {RangeError} on an empty value or a URL of another database (`mysql://…`), which would
 *   otherwise silently become an oddly named SQLite file.
 * @throws {StoreError} code `unavailable` when the database cannot be opened or reached.
 */
export async function openStore(databaseUrl: string): Promise<Store> {
  if (isPostgresUrl(databaseUrl)) {
    // Loaded only here: `pg` and its dependencies cost memory that a SQLite instance never uses.
    const { openPostgresStore } = await import('./postgres.ts');
    return openPostgresStore(databaseUrl);
  }
  if (databaseUrl.trim() === '') throw new RangeError('DATABASE_URL is empty');
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(databaseUrl)?.[1];
  if (scheme !== undefined) {
    throw new RangeError(
      `DATABASE_URL: "${scheme}://" is not supported; use postgres://… or a SQLite file path`,
    );
  }
  if (databaseUrl !== ':memory:') {
    const directory = dirname(resolve(databaseUrl));
    try {
      await mkdir(directory, { recursive: true });
    } catch (error) {
      throw new StoreError('unavailable', `cannot create directory ${directory} for the SQLite database`, {
        cause: error,
      });
    }
  }
  return openSqliteStore(databaseUrl);
}

/** Whether `DATABASE_URL` names a PostgreSQL server (several instances share it) rather than a SQLite file. */
export function isPostgresUrl(databaseUrl: string): boolean {
  return /^postgres(ql)?:\/\//i.test(databaseUrl);
}
