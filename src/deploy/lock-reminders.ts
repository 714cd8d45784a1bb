import { formatInZone } from '../core/deployment-window.ts';
import { findEnvironment } from '../core/environment.ts';
import type { DeployDeps } from './deploy-deps.ts';
import { commandTarget, forServiceName } from './service-deps.ts';

/** How long before its expiry a lock's owner is reminded. */
export const REMIND_BEFORE_MS = 10 * 60_000;

/**
 * Reminds each lock's owner, once, about ten minutes before the lock expires (locks of ten minutes
 * or less are not reminded), in the owner's private chat: a user's private chat id is their user
 * id. `markLockReminded` is atomic, so with several instances only one sends it. Returns how many
 * reminders were sent.
 */
export async function remindLockOwners(deps: DeployDeps): Promise<number> {
  const now = deps.now();
  let sent = 0;
  for (const lock of await deps.store.listLocks(now)) {
    if (lock.remindedAt !== null || lock.expiresAt - now > REMIND_BEFORE_MS) continue;
    // A lock of ten minutes or less would be "reminded" as soon as it is taken: noise.
    if (lock.expiresAt - lock.createdAt <= REMIND_BEFORE_MS) continue;
    const service = lock.service ?? '';
    if (!(await deps.store.markLockReminded(lock.environment, lock.createdAt, now, service))) continue;
    const scoped = forServiceName(deps, service);
    const zone = findEnvironment(scoped.config.environments, lock.environment)?.windows?.timezone ?? 'UTC';
    const target = commandTarget(scoped, lock.environment);
    const minutes = Math.max(1, Math.round((lock.expiresAt - now) / 60_000));
    try {
      await deps.notify.tell(
        lock.ownerId,
        `⏰ Your lock on ${target} (${lock.reason}) expires in about ${minutes} min, at ${formatInZone(lock.expiresAt, zone)}. To keep deployments stopped longer: /unlock ${target}, then /lock ${target} <duration> <reason>.`,
      );
    } catch {
      // The owner may never have opened a private chat with the bot (Telegram 403): nothing to do.
      continue;
    }
    sent++;
  }
  return sent;
}
