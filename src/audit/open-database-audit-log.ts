import type { Store } from '../store/store.ts';
import {
  type AuditEntry,
  AuditError,
  type AuditInput,
  type ChainKey,
  GENESIS_HASH,
  hashOf,
  normalise,
} from './audit-entry.ts';
import type { AuditLog } from './open-audit-log.ts';

/**
 * The audit chain of a cluster: every instance sharing the PostgreSQL store appends to one chain in
 * the database, under a lock, so it never forks. An append resolves once committed, before the
 * action it records is taken; a database that cannot be written refuses the action (AuditError).
 * `deploybot audit export` writes it out as the same JSON Lines the file log holds.
 */
export function openDatabaseAuditLog(
  store: Pick<Store, 'appendAuditEntry' | 'ping'>,
  options: { key?: ChainKey; now?: () => Date } = {},
): AuditLog {
  const key = options.key ?? null;
  const now = options.now ?? (() => new Date());
  let closed = false;
  let failure: string | null = null;
  return {
    async append(input: AuditInput): Promise<AuditEntry> {
      if (closed) throw new AuditError('audit log is closed');
      const fields = normalise(input, input.ts ?? now().toISOString());
      try {
        const entry = await store.appendAuditEntry((previousHash) => {
          const body = { ...fields, prev_hash: previousHash ?? GENESIS_HASH };
          return { ...body, hash: hashOf(body, key) };
        });
        failure = null;
        return entry;
      } catch (error) {
        failure = error instanceof Error ? error.message : String(error);
        throw new AuditError(`audit chain in the database could not be written: ${failure}`);
      }
    },
    async check() {
      if (failure === null) return null;
      try {
        await store.ping();
      } catch {
        return `audit chain cannot be written: ${failure}`;
      }
      return null;
    },
    async close() {
      closed = true;
    },
  };
}
