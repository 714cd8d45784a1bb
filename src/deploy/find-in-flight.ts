import type { DeploymentRecord } from '../core/deployment.ts';
import { DEPLOYMENT_STATES } from '../core/deployment-state.ts';
import type { DeployDeps } from './deploy-deps.ts';

/** States of a deployment that has a run: everything after the dispatch. */
const WITH_RUN = DEPLOYMENT_STATES.filter((s) => s !== 'requested' && s !== 'confirmed');
/** The same, and a confirmed request whose dispatch is under way. */
const WITH_RUN_OR_DISPATCHING = DEPLOYMENT_STATES.filter((s) => s !== 'requested');

/**
 * The deployment of an environment that has a run going on (dispatched or later, not finished), or
 * undefined. Requests still waiting for Confirm do not count: they have no run. The store is asked
 * for exactly those, so any number of open requests cannot hide a run behind them. With
 * `dispatching`, a confirmed request whose dispatch is under way counts too (it holds the
 * environment for a Confirm pressed on another request).
 */
export async function findInFlight(
  deps: DeployDeps,
  environment: string,
  options: { dispatching?: boolean } = {},
): Promise<DeploymentRecord | undefined> {
  const [running] = await deps.store.listDeployments({
    service: deps.service.name,
    environment,
    states: options.dispatching ? WITH_RUN_OR_DISPATCHING : WITH_RUN,
    unfinished: true,
    limit: 1,
  });
  return running;
}
