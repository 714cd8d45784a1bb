import { DEFAULT_LOCK_MS, looksLikeDuration, parseLockDuration } from '../core/lock-duration.ts';
import { hasRole } from '../core/roles.ts';
import type { EnvironmentLock } from '../store/store.ts';
import { type Actor, auditAs, type DeployDeps } from './deploy-deps.ts';
import { describeLock } from './deploy-guards.ts';
import { environmentArgument } from './environment-argument.ts';
import { commandTarget } from './service-deps.ts';

export type LockRefusal = 'usage' | 'unknown_environment' | 'forbidden' | 'bad_duration' | 'already_locked';

export type LockOutcome =
  | { kind: 'refused'; reason: LockRefusal; message: string }
  | { kind: 'locked'; lock: EnvironmentLock };

export type LockRequest = {
  actor: Actor;
  /** The words after /lock: `<env> [duration] [reason…]`. */
  words: string[];
};

const USAGE =
  'Usage: /lock <environment> [duration] [reason], e.g. /lock production 2h release freeze. Default 4h, at most 7d.';

/**
 * `/lock <env> [duration] [reason]` (admin): stops deploys and rollbacks to an environment until it
 * is unlocked or expires. The lock lives in the store, so every instance honours it. Audited before
 * it takes effect.
 */
export async function lockEnvironment(deps: DeployDeps, request: LockRequest): Promise<LockOutcome> {
  const { actor } = request;
  const [name, ...rest] = request.words;
  if (!hasRole(actor.id, 'admin', deps.config.access)) {
    await auditAs(deps, actor, { action: 'lock_denied', outcome: 'forbidden' });
    return { kind: 'refused', reason: 'forbidden', message: 'Only admins can lock an environment.' };
  }
  const named = environmentArgument(deps.config, name, USAGE);
  if (!named.ok) return { kind: 'refused', reason: named.reason, message: named.message };
  const { env } = named;
  let durationMs = DEFAULT_LOCK_MS;
  const [first] = rest;
  if (first !== undefined && looksLikeDuration(first)) {
    const parsed = parseLockDuration(first);
    if (!parsed.ok) return { kind: 'refused', reason: 'bad_duration', message: parsed.message };
    durationMs = parsed.ms;
    rest.shift();
  }
  const reason =
    rest
      .join(' ')
      .replace(/\p{Cc}/gu, ' ')
      .trim()
      .slice(0, 200) || 'no reason given';
  const now = deps.now();
  const wanted: EnvironmentLock = {
    environment: env.name,
    ownerId: actor.id,
    ownerName: actor.name,
    reason,
    createdAt: now,
    expiresAt: now + durationMs,
    remindedAt: null,
  };
  // Recorded before it takes effect, like every action; a lock someone else holds is recorded too.
  await auditAs(deps, actor, {
    action: 'lock',
    environment: env.name,
    outcome: `until ${new Date(wanted.expiresAt).toISOString()}: ${reason}`,
  });
  const result = await deps.store.acquireLock({ ...wanted, service: deps.service.name }, now);
  if (!result.ok) {
    await auditAs(deps, actor, { action: 'lock_refused', environment: env.name, outcome: 'already_locked' });
    return {
      kind: 'refused',
      reason: 'already_locked',
      message: `${commandTarget(deps, env.name)} is already locked by ${describeLock(result.held, env, now)}. /unlock ${commandTarget(deps, env.name)} first to change it.`,
    };
  }
  return { kind: 'locked', lock: result.lock };
}
