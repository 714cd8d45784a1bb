import type { DeploymentRecord } from '../core/deployment.ts';
import type { DeployDeps } from './deploy-deps.ts';

/**
 * The deployment of an environment that has a run going on (dispatched or later, not finished), or
 * undefined. Requests still waiting for Confirm do not count: they have no run.
 */
export async function findInFlight(
  deps: DeployDeps,
  environment: string,
): Promise<DeploymentRecord | undefined> {
  const unfinished = await deps.store.listDeployments({
    service: deps.service.name,
    environment,
    unfinished: true,
    limit: 20,
  });
  return unfinished.find((d) => d.state !== 'requested' && d.state !== 'confirmed');
}
