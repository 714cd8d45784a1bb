import { z } from 'zod';
import type { DeploymentDetail, DeploymentPatch, DeploymentRecord } from '../core/deployment.ts';
import { DEPLOYMENT_STATES } from '../core/deployment-state.ts';
import type { Confirmation, ConsumeResult, EnvironmentLock } from './store.ts';
import { StoreError } from './store.ts';

/**
 * Row codec shared by the SQLite and PostgreSQL stores: both name their columns the same, so one
 * place turns rows into records and refuses rows that do not parse (`StoreError('corrupt')`).
 */

/** A row as a driver returns it: column name → value (numbers may come back as strings or bigints). */
export type Row = Record<string, unknown>;

/** Default and maximum page size of `listDeployments` / `listUndelivered`. */
export const DEFAULT_LIMIT = 50;
export const MAX_LIMIT = 500;

/**
 * The page size to use: `undefined` → default, capped at {@link MAX_LIMIT}.
 * @throws {RangeError} when `limit` is not a non-negative integer (a caller bug, not a database failure).
 */
export function resolveLimit(limit: number | undefined): number {
  if (limit === undefined) return DEFAULT_LIMIT;
  if (!Number.isSafeInteger(limit) || limit < 0) {
    throw new RangeError(`limit must be a non-negative integer, got ${String(limit)}`);
  }
  return Math.min(limit, MAX_LIMIT);
}

/**
 * Checks a number the caller passes in (timestamps, ids, versions) before it reaches SQL, so a
 * fractional or NaN value is a clear caller error rather than an obscure driver one.
 * @throws {RangeError}
 */
export function checkInt(name: string, value: number): number {
  if (!Number.isSafeInteger(value))
    throw new RangeError(`${name} must be a safe integer, got ${String(value)}`);
  return value;
}

/** Like {@link checkInt} for nullable columns. */
export function checkIntOrNull(name: string, value: number | null): number | null {
  return value === null ? null : checkInt(name, value);
}

/**
 * Text as both databases can store it: PostgreSQL refuses NUL characters and lone UTF-16 surrogates
 * (in `text` and in `jsonb`), so both stores replace them with U+FFFD and behave the same.
 */
export function storableText(text: string): string {
  return text.replaceAll('\u0000', '\uFFFD').toWellFormed();
}

/** `detail` as stored: JSON text with every string made {@link storableText}. */
export function encodeDetail(detail: DeploymentDetail): string {
  return JSON.stringify(detail, (_key, value: unknown) =>
    typeof value === 'string' ? storableText(value) : value,
  );
}

/** Maps each patchable field to its column; only these names ever reach SQL. */
export const PATCH_COLUMNS: { readonly [K in keyof Required<DeploymentPatch>]: string } = {
  state: 'state',
  sha: 'sha',
  subject: 'subject',
  author: 'author',
  chatId: 'chat_id',
  messageId: 'message_id',
  runId: 'run_id',
  runUrl: 'run_url',
  detail: 'detail',
  dispatchedAt: 'dispatched_at',
  finishedAt: 'finished_at',
};

/** One column assignment of a patch, value ready to bind (`detail` as JSON text). */
export type PatchAssignment = { column: string; value: string | number | null; isDetail: boolean };

/**
 * The assignments of a patch, in a fixed order; fields that are `undefined` are left alone.
 * @throws {RangeError} on a field that is not patchable or a number that is not an integer.
 */
export function patchAssignments(patch: DeploymentPatch): PatchAssignment[] {
  const out: PatchAssignment[] = [];
  for (const [key, value] of Object.entries(patch)) {
    if (value === undefined) continue;
    if (!Object.hasOwn(PATCH_COLUMNS, key)) throw new RangeError(`not a patchable deployment field: ${key}`);
    const column = PATCH_COLUMNS[key as keyof DeploymentPatch];
    if (key === 'detail') {
      out.push({ column, value: encodeDetail(value as DeploymentDetail), isDetail: true });
    } else if (typeof value === 'number') {
      out.push({ column, value: checkInt(key, value), isDetail: false });
    } else if (typeof value === 'string') {
      out.push({ column, value: storableText(value), isDetail: false });
    } else if (value === null) {
      out.push({ column, value: null, isDetail: false });
    } else {
      throw new RangeError(`bad value for deployment field ${key}`);
    }
  }
  return out;
}

const jobSchema = z.object({
  id: z.number(),
  name: z.string(),
  status: z.enum(['queued', 'waiting', 'in_progress', 'completed', 'pending', 'requested']),
  conclusion: z.string().nullable(),
  startedAt: z.number().nullable(),
  completedAt: z.number().nullable(),
  steps: z.array(
    z.object({
      number: z.number(),
      name: z.string(),
      status: z.enum(['queued', 'in_progress', 'completed', 'pending']),
      conclusion: z.string().nullable(),
    }),
  ),
  url: z.string().nullable(),
});

const detailSchema = z.object({
  aheadBy: z.number().nullable(),
  changes: z.array(z.string()).default([]),
  baseSha: z.string().nullable(),
  jobs: z.array(jobSchema),
  approval: z.object({ reviewers: z.array(z.string()), url: z.string().nullable() }).nullable(),
  environmentUrl: z.string().nullable(),
  failure: z
    .object({ job: z.string(), step: z.string().nullable(), logTail: z.array(z.string()) })
    .nullable(),
  note: z.string().nullable(),
  // Added after the first schema: rows written before it read as null.
  confirmationId: z.string().nullable().default(null),
  confirmBy: z.number().nullable().default(null),
  review: z
    .object({
      approvals: z.array(z.string()),
      required: z.number(),
      recorded: z.object({ state: z.enum(['approved', 'rejected']), login: z.string() }).nullable(),
      submittingSince: z.number().nullable(),
    })
    .nullable()
    .default(null),
}) satisfies z.ZodType<DeploymentDetail, unknown>;

const stateSchema = z.enum(DEPLOYMENT_STATES);

function corrupt(table: string, row: Row, what: string): StoreError {
  const key = row.id ?? row.environment;
  return new StoreError('corrupt', `${table} row ${typeof key === 'string' ? key : '?'}: ${what}`);
}

/**
 * Reads an integer column (drivers return bigint columns as strings or bigints).
 * @throws {StoreError} code `corrupt`.
 */
export function int(table: string, row: Row, column: string): number {
  const raw = row[column];
  const value =
    typeof raw === 'string' && /^-?\d+$/.test(raw)
      ? Number(raw)
      : typeof raw === 'bigint'
        ? Number(raw)
        : raw;
  if (typeof value !== 'number' || !Number.isSafeInteger(value)) {
    throw corrupt(table, row, `column ${column} is not an integer`);
  }
  return value;
}

/** Like {@link int} for a nullable column. */
export function intOrNull(table: string, row: Row, column: string): number | null {
  return row[column] === null ? null : int(table, row, column);
}

/** Reads a text column. @throws {StoreError} code `corrupt`. */
export function text(table: string, row: Row, column: string): string {
  const value = row[column];
  if (typeof value !== 'string') throw corrupt(table, row, `column ${column} is not text`);
  return value;
}

/** Like {@link text} for a nullable column. */
export function textOrNull(table: string, row: Row, column: string): string | null {
  return row[column] === null ? null : text(table, row, column);
}

function detailFromColumn(row: Row): DeploymentDetail {
  let value = row.detail;
  if (typeof value === 'string') {
    try {
      value = JSON.parse(value);
    } catch {
      throw corrupt('deployments', row, 'detail is not JSON');
    }
  }
  const parsed = detailSchema.safeParse(value);
  if (!parsed.success) throw corrupt('deployments', row, 'detail does not have the expected shape');
  return parsed.data;
}

/**
 * A deployments row as a record.
 * @throws {StoreError} code `corrupt` when a column does not hold what the record needs.
 */
export function deploymentFromRow(row: Row): DeploymentRecord {
  const t = 'deployments';
  const state = stateSchema.safeParse(row.state);
  if (!state.success) throw corrupt(t, row, `unknown state ${JSON.stringify(row.state)}`);
  const action = row.action;
  if (action !== 'deploy' && action !== 'rollback') throw corrupt(t, row, 'unknown action');
  return {
    id: text(t, row, 'id'),
    service: text(t, row, 'service'),
    environment: text(t, row, 'environment'),
    action,
    ref: text(t, row, 'ref'),
    sha: text(t, row, 'sha'),
    subject: text(t, row, 'subject'),
    author: text(t, row, 'author'),
    requesterId: intOrNull(t, row, 'requester_id'),
    requesterName: text(t, row, 'requester_name'),
    chatId: intOrNull(t, row, 'chat_id'),
    messageId: intOrNull(t, row, 'message_id'),
    state: state.data,
    runId: intOrNull(t, row, 'run_id'),
    runUrl: textOrNull(t, row, 'run_url'),
    detail: detailFromColumn(row),
    createdAt: int(t, row, 'created_at'),
    updatedAt: int(t, row, 'updated_at'),
    dispatchedAt: intOrNull(t, row, 'dispatched_at'),
    finishedAt: intOrNull(t, row, 'finished_at'),
    version: int(t, row, 'version'),
    deliveredVersion: int(t, row, 'delivered_version'),
  };
}

/**
 * A confirmations row as a Confirmation.
 * @throws {StoreError} code `corrupt`.
 */
export function confirmationFromRow(row: Row): Confirmation {
  const t = 'confirmations';
  const kind = row.kind;
  if (kind !== 'deploy' && kind !== 'rollback' && kind !== 'cancel') throw corrupt(t, row, 'unknown kind');
  return {
    id: text(t, row, 'id'),
    kind,
    deploymentId: text(t, row, 'deployment_id'),
    requesterId: int(t, row, 'requester_id'),
    chatId: int(t, row, 'chat_id'),
    createdAt: int(t, row, 'created_at'),
    expiresAt: int(t, row, 'expires_at'),
    usedAt: intOrNull(t, row, 'used_at'),
  };
}

/**
 * A locks row as an EnvironmentLock.
 * @throws {StoreError} code `corrupt`.
 */
export function lockFromRow(row: Row): EnvironmentLock {
  const t = 'locks';
  return {
    service: text(t, row, 'service'),
    environment: text(t, row, 'environment'),
    ownerId: int(t, row, 'owner_id'),
    ownerName: text(t, row, 'owner_name'),
    reason: text(t, row, 'reason'),
    createdAt: int(t, row, 'created_at'),
    expiresAt: int(t, row, 'expires_at'),
    remindedAt: intOrNull(t, row, 'reminded_at'),
  };
}

/**
 * The answer to a consume whose claiming UPDATE matched nothing, from the confirmation's row read
 * next (`undefined` when there is none: confirmations are never deleted, so it was never issued).
 */
export function consumeRefusal(row: Row | undefined): ConsumeResult {
  if (row === undefined) return { ok: false, reason: 'unknown' };
  return { ok: false, reason: row.used_at !== null ? 'used' : 'expired' };
}

/**
 * What `releaseLock` returns for the row it deleted: the lock only while it still held at `now`.
 * @throws {StoreError} code `corrupt` when the row does not parse.
 */
export function releasedLock(row: Row | undefined, now: number): EnvironmentLock | null {
  if (row === undefined) return null;
  const lock = lockFromRow(row);
  return lock.expiresAt > now ? lock : null;
}
