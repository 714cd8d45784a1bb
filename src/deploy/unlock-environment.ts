import { hasRole } from '../core/roles.ts';
import type { EnvironmentLock } from '../store/store.ts';
import { type Actor, auditAs, type DeployDeps } from './deploy-deps.ts';
import { environmentArgument } from './environment-argument.ts';
import { commandTarget } from './service-deps.ts';

export type UnlockRefusal = 'usage' | 'unknown_environment' | 'forbidden' | 'not_locked';

export type UnlockOutcome =
  | { kind: 'refused'; reason: UnlockRefusal; message: string }
  | { kind: 'unlocked'; lock: EnvironmentLock };

/** `/unlock <env>` (any admin, not only the owner): lifts the lock. Audited with whose lock it was. */
export async function unlockEnvironment(
  deps: DeployDeps,
  request: { actor: Actor; environment: string | undefined },
): Promise<UnlockOutcome> {
  const { actor } = request;
  if (!hasRole(actor.id, 'admin', deps.config.access)) {
    await auditAs(deps, actor, { action: 'unlock_denied', outcome: 'forbidden' });
    return { kind: 'refused', reason: 'forbidden', message: 'Only admins can unlock an environment.' };
  }
  const named = environmentArgument(deps.config, request.environment, 'Usage: /unlock <environment>.');
  if (!named.ok) return { kind: 'refused', reason: named.reason, message: named.message };
  const { env } = named;
  const held = await deps.store.getLock(env.name, deps.now(), deps.service.name);
  if (!held)
    return {
      kind: 'refused',
      reason: 'not_locked',
      message: `${commandTarget(deps, env.name)} is not locked.`,
    };
  // Recorded before it takes effect.
  await auditAs(deps, actor, {
    action: 'unlock',
    environment: env.name,
    outcome: `releasing lock of ${held.ownerName} (${held.reason})`,
  });
  const released = await deps.store.releaseLock(env.name, deps.now(), deps.service.name);
  if (!released) {
    await auditAs(deps, actor, { action: 'unlock_refused', environment: env.name, outcome: 'not_locked' });
    return {
      kind: 'refused',
      reason: 'not_locked',
      message: `${commandTarget(deps, env.name)} is not locked.`,
    };
  }
  return { kind: 'unlocked', lock: released };
}
