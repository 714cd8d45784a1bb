import type { AuditAnchor, AuditEntry } from '../core/audit-record.ts';
import type { Dialect, StatementRunner } from './account-store.ts';
import { auditEntryFromRow } from './audit-rows.ts';
import { checkInt, lockFromRow, releasedLock, storableText } from './rows.ts';
import type { EnvironmentLock, Store } from './store.ts';

type SharedMethods = Pick<
  Store,
  | 'rememberDelivery'
  | 'forgetDeliveries'
  | 'getLock'
  | 'listLocks'
  | 'releaseLock'
  | 'markLockReminded'
  | 'adoptUnscoped'
  | 'tryLease'
  | 'getAuditAnchor'
  | 'advanceAuditAnchor'
  | 'listAuditEntries'
>;

/**
 * The claims (deliveries, locks, leases) and the audit chain's reads, written once for both
 * drivers: the statements are the same SQL but for placeholders and the schema prefix. Each is one
 * atomic statement, so instances sharing a database claim each thing once.
 */
export function sharedStatements(run: StatementRunner, dialect: Dialect): SharedMethods {
  const { param: p, table } = dialect;
  const deliveries = table('deliveries');
  const leases = table('leases');
  const anchors = table('audit_anchors');
  const entries = table('audit_entries');
  return {
    async rememberDelivery(source, key, now) {
      const rows = await run(
        'remember delivery',
        `INSERT INTO ${deliveries} (source, key, seen_at) VALUES (${p(1)}, ${p(2)}, ${p(3)})
         ON CONFLICT DO NOTHING RETURNING 1 AS ok`,
        [source, storableText(key), checkInt('now', now)],
      );
      return rows.length === 1;
    },
    async forgetDeliveries(before) {
      const rows = await run(
        'forget deliveries',
        `DELETE FROM ${deliveries} WHERE seen_at < ${p(1)} RETURNING 1 AS ok`,
        [checkInt('before', before)],
      );
      return rows.length;
    },
    ...lockStatements(run, dialect),
    async tryLease(name, holder, ttlMs, now) {
      checkInt('now', now);
      if (checkInt('ttlMs', ttlMs) <= 0) throw new RangeError(`ttlMs must be positive, got ${ttlMs}`);
      const rows = await run(
        `lease ${name}`,
        `INSERT INTO ${leases} AS l (name, holder, expires_at) VALUES (${p(1)}, ${p(2)}, ${p(3)})
         ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
         WHERE l.holder = excluded.holder OR l.expires_at <= ${p(4)}
         RETURNING 1 AS ok`,
        [storableText(name), storableText(holder), now + ttlMs, now],
      );
      return rows.length === 1;
    },
    async getAuditAnchor(chain): Promise<AuditAnchor | null> {
      const [row] = await run(
        'get audit anchor',
        `SELECT line_count, last_hash FROM ${anchors} WHERE chain = ${p(1)}`,
        [storableText(chain)],
      );
      return row ? { chain, count: Number(row.line_count), hash: String(row.last_hash) } : null;
    },
    async advanceAuditAnchor(anchor) {
      await run(
        'advance audit anchor',
        `INSERT INTO ${anchors} AS a (chain, line_count, last_hash) VALUES (${p(1)}, ${p(2)}, ${p(3)})
         ON CONFLICT (chain) DO UPDATE SET line_count = excluded.line_count, last_hash = excluded.last_hash
         WHERE a.line_count < excluded.line_count`,
        [storableText(anchor.chain), checkInt('count', anchor.count), storableText(anchor.hash)],
      );
    },
    async listAuditEntries(after, limit): Promise<AuditEntry[]> {
      const rows = await run(
        'list audit entries',
        `SELECT * FROM ${entries} WHERE seq > ${p(1)} ORDER BY seq LIMIT ${p(2)}`,
        [checkInt('after', after), checkInt('limit', limit)],
      );
      return rows.map(auditEntryFromRow);
    },
  };
}

/**
 * The locks, keyed by service and environment (migration 6), and the adoption of rows made before
 * services: each one atomic statement (but the adoption, which is safe to repeat).
 */
function lockStatements(
  run: StatementRunner,
  dialect: Dialect,
): Pick<Store, 'getLock' | 'listLocks' | 'releaseLock' | 'markLockReminded' | 'adoptUnscoped'> {
  const { param: p, table } = dialect;
  const locks = table('locks');
  return {
    async getLock(environment, now, service = '') {
      const [row] = await run(
        'get lock',
        `SELECT * FROM ${locks} WHERE environment = ${p(1)} AND expires_at > ${p(2)} AND service = ${p(3)}`,
        [storableText(environment), checkInt('now', now), storableText(service)],
      );
      return row === undefined ? null : lockFromRow(row);
    },
    async listLocks(now) {
      const rows = await run(
        'list locks',
        `SELECT * FROM ${locks} WHERE expires_at > ${p(1)} ORDER BY service, environment`,
        [checkInt('now', now)],
      );
      return rows.map(lockFromRow);
    },
    async releaseLock(environment, now, service = ''): Promise<EnvironmentLock | null> {
      checkInt('now', now);
      const [row] = await run(
        `release lock ${environment}`,
        `DELETE FROM ${locks} WHERE environment = ${p(1)} AND service = ${p(2)} RETURNING *`,
        [storableText(environment), storableText(service)],
      );
      return releasedLock(row, now);
    },
    async markLockReminded(environment, createdAt, now, service = '') {
      const rows = await run(
        'mark lock reminded',
        `UPDATE ${locks} SET reminded_at = ${p(1)}
         WHERE environment = ${p(2)} AND created_at = ${p(3)} AND service = ${p(4)} AND reminded_at IS NULL
         RETURNING 1 AS ok`,
        [
          checkInt('now', now),
          storableText(environment),
          checkInt('createdAt', createdAt),
          storableText(service),
        ],
      );
      return rows.length === 1;
    },
    async adoptUnscoped(service) {
      const name = storableText(service);
      const records = await run(
        'adopt records',
        `UPDATE ${table('deployments')} SET service = ${p(1)} WHERE service = '' RETURNING 1 AS ok`,
        [name],
      );
      // A lock the service already holds wins over an old unscoped one of the same environment.
      await run(
        'adopt locks',
        `DELETE FROM ${locks} WHERE service = '' AND environment IN (SELECT environment FROM ${locks} WHERE service = ${p(1)})`,
        [name],
      );
      const moved = await run(
        'adopt locks',
        `UPDATE ${locks} SET service = ${p(1)} WHERE service = '' RETURNING 1 AS ok`,
        [name],
      );
      return records.length + moved.length;
    },
  };
}
