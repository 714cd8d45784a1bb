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

/**
 * Runs a follow-up that calls GitHub (reviewers, a failed job's log) after the delivery is answered:
 * GitHub gives a webhook 10 s, and a slow API must not make it count the delivery as failed. A
 * follow-up that fails is repeated by reconciliation.
 */
export type Defer = (what: string, task: () => Promise<unknown>) => void;

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
export async function handleDelivery(
  deps: DeployDeps,
  delivery: Delivery,
  defer: Defer,
): Promise<DeliveryOutcome> {
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
    const updated = await applyEvents(deps, record.id, [runEvent(run)]);
    defer(`log of run ${run.id}`, () => fetchLogIfFailed(deps, updated));
    return 'applied';
  }
  if (delivery.name === 'workflow_job') {
    const parsed = workflowJobPayload.safeParse(delivery.payload);
    if (!parsed.success) return 'ignored';
    const job: GitHubJob = parsed.data.workflow_job;
    const record = await deps.store.findDeploymentByRunId(job.run_id);
    if (!record) return 'unknown_run';
    const updated = await applyEvents(deps, record.id, [jobEvent(job)]);
    if (job.status === 'waiting') {
      defer(`reviewers of run ${job.run_id}`, async () => {
        const approval = await fetchApproval(deps.github, deps.repo, job.run_id, record.runUrl);
        if (approval) await applyEvents(deps, record.id, [approval]);
      });
    }
    defer(`log of run ${job.run_id}`, () => fetchLogIfFailed(deps, updated));
    return 'applied';
  }
  if (delivery.name === 'deployment_status') {
    const parsed = deploymentStatusPayload.safeParse(delivery.payload);
    if (!parsed.success || !parsed.data.workflow_run) return 'ignored';
    const status = parsed.data.deployment_status;
    const record = await deps.store.findDeploymentByRunId(parsed.data.workflow_run.id);
    if (!record) return 'unknown_run';
    if (status.environment_url && /^https?:\/\//.test(status.environment_url)) {
      await applyEvents(deps, record.id, [{ type: 'environment_url', url: status.environment_url }]);
    }
    return 'applied';
  }
  return 'ignored';
}

/**
 * Applies events to a record, then fetches what the new state calls for: the failed job's log tail
 * once the run failed. Used by reconciliation, which polls anyway and can wait for GitHub.
 */
export async function follow(
  deps: DeployDeps,
  record: DeploymentRecord,
  events: RunEvent[],
): Promise<DeploymentRecord> {
  const updated = await applyEvents(deps, record.id, events);
  return (await fetchLogIfFailed(deps, updated)) ?? updated;
}

/** Once a run failed and its jobs are known, the failed job's log tail (fetched once). */
async function fetchLogIfFailed(
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
