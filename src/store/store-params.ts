import type { NewDeployment } from '../core/deployment.ts';
import { checkInt, checkIntOrNull, encodeDetail, storableText } from './rows.ts';
import type { Confirmation, EnvironmentLock } from './store.ts';

/**
 * Statement parameters shared by the SQLite and PostgreSQL stores: both insert the same columns in
 * the same order (only the placeholder syntax differs), so the values are checked and made storable
 * in one place and both drivers refuse the same bad input.
 */

/** A value both drivers bind as is. */
export type BindValue = string | number | null;

/**
 * The 19 parameters of the deployments INSERT, in column order (`updated_at` reuses `created_at`).
 * @throws {RangeError} when a number is not a safe integer.
 */
export function deploymentParams(d: NewDeployment): BindValue[] {
  return [
    storableText(d.id),
    storableText(d.environment),
    d.action,
    storableText(d.ref),
    storableText(d.sha),
    storableText(d.subject),
    storableText(d.author),
    checkIntOrNull('requesterId', d.requesterId),
    storableText(d.requesterName),
    checkIntOrNull('chatId', d.chatId),
    checkIntOrNull('messageId', d.messageId),
    d.state,
    checkIntOrNull('runId', d.runId),
    d.runUrl === null ? null : storableText(d.runUrl),
    encodeDetail(d.detail),
    checkInt('createdAt', d.createdAt),
    checkIntOrNull('dispatchedAt', d.dispatchedAt),
    checkIntOrNull('finishedAt', d.finishedAt),
    storableText(d.service ?? ''),
  ];
}

/**
 * The 8 parameters of the confirmations INSERT, in column order.
 * @throws {RangeError} when a number is not a safe integer.
 */
export function confirmationParams(c: Confirmation): BindValue[] {
  return [
    storableText(c.id),
    c.kind,
    storableText(c.deploymentId),
    checkInt('requesterId', c.requesterId),
    checkInt('chatId', c.chatId),
    checkInt('createdAt', c.createdAt),
    checkInt('expiresAt', c.expiresAt),
    checkIntOrNull('usedAt', c.usedAt),
  ];
}

/**
 * The 9 parameters of the lock upsert: the lock's 7 columns in order, then `now` (an existing lock
 * is replaced only when it expired by then), then the service (the key is service and environment).
 * @throws {RangeError} when a number is not a safe integer.
 */
export function lockParams(lock: EnvironmentLock, now: number): BindValue[] {
  return [
    storableText(lock.environment),
    checkInt('ownerId', lock.ownerId),
    storableText(lock.ownerName),
    storableText(lock.reason),
    checkInt('createdAt', lock.createdAt),
    checkInt('expiresAt', lock.expiresAt),
    checkIntOrNull('remindedAt', lock.remindedAt),
    checkInt('now', now),
    storableText(lock.service ?? ''),
  ];
}

/** The SET list of the lock upsert: the new lock replaces every column of the expired one. */
export const LOCK_TAKEOVER = `owner_id = excluded.owner_id, owner_name = excluded.owner_name,
  reason = excluded.reason, created_at = excluded.created_at, expires_at = excluded.expires_at,
  reminded_at = excluded.reminded_at`;
