import type { DeployDeps } from './deploy-deps.ts';
import { updateDeployment } from './update-deployment.ts';

/**
 * Marks a request whose confirmation ran out as expired, so its message stops offering buttons that
 * no longer work. A request that moved on meanwhile is left alone.
 */
export async function expireRequest(
  deps: Pick<DeployDeps, 'store' | 'notify'>,
  deploymentId: string,
  now: number,
): Promise<void> {
  const { changed } = await updateDeployment(deps.store, deploymentId, now, (current) =>
    current.state === 'requested' ? { state: 'expired', finishedAt: now } : null,
  );
  if (changed) deps.notify.changed(deploymentId);
}
