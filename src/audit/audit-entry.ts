import { createHash, createHmac } from 'node:crypto';
import type { AuditEntry } from '../core/audit-record.ts';

export type { AuditEntry };
export type AuditInput = Omit<AuditEntry, 'ts' | 'prev_hash' | 'hash'> & { ts?: string };

/**
 * The key of a keyed chain (`AUDIT_HMAC_KEY`): each line's hash is then an HMAC-SHA256, so nobody
 * without the key can recompute the chain after an edit. Null: plain SHA-256.
 */
export type ChainKey = Buffer | null;

/** The audit log cannot be trusted or written; the action it would record must not be taken. */
export class AuditError extends Error {
  override name = 'AuditError';
}

/** prev_hash of the first line. */
export const GENESIS_HASH = '0'.repeat(64);

const HASHED_FIELDS = [
  'ts',
  'actor_id',
  'actor_name',
  'action',
  'environment',
  'sha',
  'request_id',
  'outcome',
  'prev_hash',
] as const;
const NULLABLE_STRINGS = ['actor_name', 'environment', 'sha', 'request_id', 'outcome'] as const;

function canonical(entry: Omit<AuditEntry, 'hash'>): string {
  // Built field by field so the key order never depends on how the object was assembled.
  const ordered: Record<string, unknown> = {};
  for (const key of HASHED_FIELDS) ordered[key] = entry[key];
  return JSON.stringify(ordered);
}

/** The line's hash: HMAC-SHA256 under `key` for a keyed chain, else SHA-256. */
export function hashOf(entry: Omit<AuditEntry, 'hash'>, key: ChainKey): string {
  const text = canonical(entry);
  return (key ? createHmac('sha256', key) : createHash('sha256')).update(text).digest('hex');
}

/** The line as written: the hashed fields in their fixed order, then the hash. */
export function serialise(entry: AuditEntry): string {
  // JSON escapes newlines and quotes inside values, so a Telegram name cannot break a line.
  return `${canonical(entry).slice(0, -1)},"hash":${JSON.stringify(entry.hash)}}`;
}

function parseEntry(line: string): AuditEntry | null {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return null;
  }
  if (!value || typeof value !== 'object' || Array.isArray(value)) return null;
  const record = value as Record<string, unknown>;
  const hex = /^[0-9a-f]{64}$/;
  const ok =
    typeof record.ts === 'string' &&
    (record.actor_id === null || Number.isSafeInteger(record.actor_id)) &&
    typeof record.action === 'string' &&
    NULLABLE_STRINGS.every((key) => record[key] === null || typeof record[key] === 'string') &&
    typeof record.prev_hash === 'string' &&
    hex.test(record.prev_hash) &&
    typeof record.hash === 'string' &&
    hex.test(record.hash);
  return ok ? (record as AuditEntry) : null;
}

/** A line checked on its own: its entry and whether its hash is keyed, or why not. */
export type LineCheck = { entry: AuditEntry; keyed: boolean } | { reason: 'edited' | 'malformed' };

/**
 * Checks one line against its own hash: under `key` first (a keyed line), then plain SHA-256 (a
 * line written before the chain was keyed). Without the key a keyed line reads as edited.
 */
export function checkLine(line: string, key: ChainKey): LineCheck {
  const entry = parseEntry(line);
  if (!entry) return { reason: 'malformed' };
  // Comparing the exact text also catches added keys, which the hash alone would not cover.
  if (serialise(entry) !== line) return { reason: 'edited' };
  const { hash, ...body } = entry;
  if (key && hashOf(body, key) === hash) return { entry, keyed: true };
  if (hashOf(body, null) === hash) return { entry, keyed: false };
  return { reason: 'edited' };
}

/**
 * An input as it is hashed: nulls for what does not apply.
 * @throws {AuditError} for an input that is not an audit entry (no action, a fractional id, a bad date).
 */
export function normalise(input: AuditInput, ts: string): Omit<AuditEntry, 'hash' | 'prev_hash'> {
  if (typeof input.action !== 'string' || input.action === '')
    throw new AuditError('audit entry needs an action');
  if (input.actor_id !== null && !Number.isSafeInteger(input.actor_id)) {
    throw new AuditError('audit actor_id must be an integer or null');
  }
  if (Number.isNaN(Date.parse(ts))) throw new AuditError(`audit ts is not a date: ${JSON.stringify(ts)}`);
  // undefined would vanish from the JSON and make the line malformed; the contract says null.
  return {
    ts,
    actor_id: input.actor_id ?? null,
    actor_name: input.actor_name ?? null,
    action: input.action,
    environment: input.environment ?? null,
    sha: input.sha ?? null,
    request_id: input.request_id ?? null,
    outcome: input.outcome ?? null,
  };
}
