import type { DeploymentRecord } from '../core/deployment.ts';
import { isFinal } from '../core/deployment-state.ts';
import type { RunEvent } from '../core/run-events.ts';
import { applyEvents } from '../deploy/apply-events.ts';
import type { DeployDeps } from '../deploy/deploy-deps.ts';
import { trackExternalRun } from '../deploy/track-external-run.ts';
import { requestIdFromTitle } from './dispatch-inputs.ts';
import { type GitHubJob, type GitHubRun, jobEvent, runEvent } from './run-events-from-github.ts';
import { fetchApproval, fetchFailureLog } from './run-lookups.ts';
import {
  deploymentStatusPayload,
  repositoryPayload,
  workflowJobPayload,
  workflowRunPayload,
} from './webhook-payloads.ts';

export type Delivery = { id: string; name: string; payload: unknown };

/** What happened to a delivery: stable codes for logs and tests. */
export type DeliveryOutcome =
  | 'applied'
  | 'duplicate'
  | 'other_repository'
  | 'other_workflow'
  | 'unknown_run'
  | 'ignored';

/**
 * Handles a GitHub webhook delivery whose signature was already verified: drops repeats (by
 * `X-GitHub-Delivery`) and deliveries for other repositories or workflows cheaply, matches the run
 * to its deployment (by run id, else by the `[request_id]` in the run's title), and applies the news.
 */
export async function handleDelivery(deps: DeployDeps, delivery: Delivery): Promise<DeliveryOutcome> {
  const repository = repositoryPayload.safeParse(delivery.payload);
  const expected = `${deps.repo.owner}/${deps.repo.repo}`.toLowerCase();
  if (!repository.success || repository.data.repository.full_name.toLowerCase() !== expected)
    return 'other_repository';
  if (!(await deps.store.rememberDelivery('github', delivery.id, deps.now()))) return 'duplicate';

  if (delivery.name === 'workflow_run') {
    const parsed = workflowRunPayload.safeParse(delivery.payload);
    if (!parsed.success) return 'ignored';
    const run: GitHubRun = parsed.data.workflow_run;
    if (!isDeployWorkflow(run, deps.config.github.workflow)) return 'other_workflow';
    let record = await findRecord(deps, run.id, run.display_title);
    if (!record) record = await trackExternalRun(deps, run);
    if (!record) return 'unknown_run';
    await follow(deps, record, [runEvent(run)]);
    return 'applied';
  }
  if (delivery.name === 'workflow_job') {
    const parsed = workflowJobPayload.safeParse(delivery.payload);
    if (!parsed.success) return 'ignored';
    const job: GitHubJob = parsed.data.workflow_job;
    const record = await deps.store.findDeploymentByRunId(job.run_id);
    if (!record) return 'unknown_run';
    const events: RunEvent[] = [jobEvent(job)];
    if (job.status === 'waiting') {
      const approval = await fetchApproval(deps.github, deps.repo, job.run_id, record.runUrl);
      if (approval) events.push(approval);
    }
    await follow(deps, record, events);
    return 'applied';
  }
  if (delivery.name === 'deployment_status') {
    const parsed = deploymentStatusPayload.safeParse(delivery.payload);
    if (!parsed.success || !parsed.data.workflow_run) return 'ignored';
    const status = parsed.data.deployment_status;
    const record = await deps.store.findDeploymentByRunId(parsed.data.workflow_run.id);
    if (!record) return 'unknown_run';
    if (status.environment_url && /^https?:\/\//.test(status.environment_url)) {
      await follow(deps, record, [{ type: 'environment_url', url: status.environment_url }]);
    }
    return 'applied';
  }
  return 'ignored';
}

/**
 * Applies events to a record, then fetches what the new state calls for: the failed job's log tail
 * once the run failed. Shared by webhooks and reconciliation.
 */
export async function follow(
  deps: DeployDeps,
  record: DeploymentRecord,
  events: RunEvent[],
): Promise<DeploymentRecord> {
  const updated = await applyEvents(deps, record.id, events);
  const failed =
    updated.state === 'failed' || updated.state === 'rolled_back' || updated.state === 'rollback_failed';
  if (failed && updated.finishedAt !== null && !updated.detail.failure) {
    const log = await fetchFailureLog(deps.github, deps.repo, updated.detail.jobs);
    if (log) return applyEvents(deps, record.id, [log]);
  }
  return updated;
}

/** The deployment a run belongs to: by run id, else by the request id in its title (and then pinned). */
export async function findRecord(
  deps: DeployDeps,
  runId: number,
  title: string | null | undefined,
): Promise<DeploymentRecord | null> {
  const byRun = await deps.store.findDeploymentByRunId(runId);
  if (byRun) return byRun;
  const requestId = requestIdFromTitle(title);
  if (!requestId) return null;
  const byRequest = await deps.store.getDeployment(requestId);
  if (!byRequest || (byRequest.runId !== null && byRequest.runId !== runId) || isFinal(byRequest.state))
    return null;
  return byRequest;
}

function isDeployWorkflow(run: GitHubRun, workflow: string): boolean {
  if (/^\d+$/.test(workflow)) return run.workflow_id === Number(workflow);
  return typeof run.path === 'string' && run.path.split('@')[0]?.endsWith(`/${workflow}`) === true;
}
