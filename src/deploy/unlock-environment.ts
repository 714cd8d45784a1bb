import { hasRole } from '../core/roles.ts';
import type { EnvironmentLock } from '../store/store.ts';
import { type Actor, auditRecord, type DeployDeps, findEnvironment } from './deploy-deps.ts';

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
    await deps.audit.append(
      auditRecord({
        actor_id: actor.id,
        actor_name: actor.name,
        action: 'unlock_denied',
        outcome: 'forbidden',
      }),
    );
    return { kind: 'refused', reason: 'forbidden', message: 'Only admins can unlock an environment.' };
  }
  if (!request.environment)
    return { kind: 'refused', reason: 'usage', message: 'Usage: /unlock <environment>' };
  const env = findEnvironment(deps.config, request.environment);
  if (!env) {
    const names = deps.config.environments.map((e) => e.name).join(', ');
    return {
      kind: 'refused',
      reason: 'unknown_environment',
      message: `There is no environment "${request.environment.slice(0, 40)}". Environments: ${names}.`,
    };
  }
  const released = await deps.store.releaseLock(env.name, deps.now());
  if (!released) return { kind: 'refused', reason: 'not_locked', message: `${env.name} is not locked.` };
  await deps.audit.append(
    auditRecord({
      actor_id: actor.id,
      actor_name: actor.name,
      action: 'unlock',
      environment: env.name,
      outcome: `released lock of ${released.ownerName} (${released.reason})`,
    }),
  );
  return { kind: 'unlocked', lock: released };
}
