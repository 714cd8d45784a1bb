import type { DeploymentRecord } from '../core/deployment.ts';
import { isFinal } from '../core/deployment-state.ts';
import type { RunEvent } from '../core/run-events.ts';
import { requestIdFromTitle } from '../github/dispatch-inputs.ts';
import { fetchFailureLog } from '../github/run-lookups.ts';
import { applyEvents } from './apply-events.ts';
import type { DeployDeps } from './deploy-deps.ts';

/**
 * The deployment a run belongs to: by run id, else by the `[request_id]` in its title (deploy.yml's
 * run-name), unless that request already has another run or has ended. Null for a run the bot did
 * not start.
 */
export async function findRecordOfRun(
  deps: Pick<DeployDeps, 'store' | 'service'>,
  runId: number,
  title: string | null | undefined,
): Promise<DeploymentRecord | null> {
  const byRun = await deps.store.findDeploymentByRunId(runId);
  if (byRun) return byRun.service === deps.service.name ? byRun : null;
  const requestId = requestIdFromTitle(title);
  if (!requestId) return null;
  const byRequest = await deps.store.getDeployment(requestId);
  // A run of another service's repository cannot take over this one's request by naming its id.
  if (!byRequest || byRequest.service !== deps.service.name) return null;
  if ((byRequest.runId !== null && byRequest.runId !== runId) || isFinal(byRequest.state)) return null;
  return byRequest;
}

/**
 * Applies events to a record, then fetches what the new state calls for: the failed job's log tail,
 * once the run failed. Reconciliation calls it directly; a webhook defers the log (see `handleDelivery`).
 */
export async function followRun(
  deps: DeployDeps,
  record: DeploymentRecord,
  events: readonly RunEvent[],
): Promise<DeploymentRecord> {
  const updated = await applyEvents(deps, record.id, events);
  return (await addFailureLog(deps, updated)) ?? updated;
}

/**
 * Once a run failed and its jobs are known, the failed job's log tail (fetched once: a record that
 * has it is left alone). Null when there is nothing to add.
 */
export async function addFailureLog(
  deps: DeployDeps,
  record: DeploymentRecord,
): Promise<DeploymentRecord | null> {
  const failed =
    record.state === 'failed' || record.state === 'rolled_back' || record.state === 'rollback_failed';
  if (!failed || record.finishedAt === null || record.detail.failure) return null;
  if (!record.detail.jobs.some((j) => j.status === 'completed' && j.conclusion === 'failure')) return null;
  const log = await fetchFailureLog(deps.github, deps.repo, record.detail.jobs);
  return log ? applyEvents(deps, record.id, [log]) : null;
}
