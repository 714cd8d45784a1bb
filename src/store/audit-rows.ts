import type { AuditEntry } from '../core/audit-record.ts';
import { checkInt, checkIntOrNull, type Row, storableText } from './rows.ts';

/** The columns of `audit_entries`, in the order {@link auditEntryParams} gives their values. */
export const AUDIT_COLUMNS =
  'seq, ts, actor_id, actor_name, action, environment, sha, request_id, outcome, prev_hash, hash';

const text = (value: string | null) => (value === null ? null : storableText(value));

/** The values of one row: its position in the chain, then the entry's fields. */
export function auditEntryParams(seq: number, entry: AuditEntry): Array<string | number | null> {
  return [
    checkInt('seq', seq),
    storableText(entry.ts),
    checkIntOrNull('actor_id', entry.actor_id),
    text(entry.actor_name),
    storableText(entry.action),
    text(entry.environment),
    text(entry.sha),
    text(entry.request_id),
    text(entry.outcome),
    storableText(entry.prev_hash),
    storableText(entry.hash),
  ];
}

const nullableText = (value: unknown) => (value === null || value === undefined ? null : String(value));

/** An entry as it was appended; the hash check is the audit module's job, not the store's. */
export function auditEntryFromRow(row: Row): AuditEntry {
  return {
    ts: String(row.ts),
    actor_id: row.actor_id === null || row.actor_id === undefined ? null : Number(row.actor_id),
    actor_name: nullableText(row.actor_name),
    action: String(row.action),
    environment: nullableText(row.environment),
    sha: nullableText(row.sha),
    request_id: nullableText(row.request_id),
    outcome: nullableText(row.outcome),
    prev_hash: String(row.prev_hash),
    hash: String(row.hash),
  };
}
