import type { DeploymentRecord } from '../core/deployment.ts';
import type { DeploymentState } from '../core/deployment-state.ts';
import type { RunEvent } from '../core/run-events.ts';
import type { DeployDeps } from '../deploy/deploy-deps.ts';
import { expire } from '../deploy/press-button.ts';
import { updateDeployment } from '../deploy/update-deployment.ts';
import { requestIdFromTitle } from './dispatch-inputs.ts';
import { toGitHubError } from './github-error.ts';
import { follow } from './handle-delivery.ts';
import { jobEvent, runEvent } from './run-events-from-github.ts';
import { fetchApproval } from './run-lookups.ts';

/** States whose run may still report news. */
const FOLLOWED: readonly DeploymentState[] = [
  'confirmed',
  'dispatched',
  'queued',
  'waiting_approval',
  'in_progress',
  'failed',
  'rolling_back',
];

/** After a run finished, keep polling this long for late job details (the rollback step, the log). */
const SETTLE_MS = 5 * 60_000;

/** A deployment dispatched but never seen on GitHub after this long is given up as timed out. */
const LOST_RUN_MS = 30 * 60_000;
const STUCK_CONFIRM_MS = 3 * 60_000;

export type ReconcileReport = { polled: number; expired: number; errors: number };

/**
 * One reconciliation pass: polls GitHub for every deployment still in flight and applies what it
 * finds exactly as if the webhooks had arrived (so a lost webhook, or no inbound connection at all,
 * still ends every deployment in its final state), and expires confirmations nobody answered.
 * Never throws: a failing poll is counted and retried on the next pass.
 */
export async function reconcile(deps: DeployDeps): Promise<ReconcileReport> {
  const report: ReconcileReport = { polled: 0, expired: 0, errors: 0 };
  const now = deps.now();
  const requested = await deps.store.listDeployments({ states: ['requested'], unfinished: true, limit: 500 });
  for (const record of requested) {
    if (record.detail.confirmationId === null) continue;
    const confirmation = await deps.store.getConfirmation(record.detail.confirmationId);
    if (confirmation && confirmation.usedAt === null && confirmation.expiresAt <= now) {
      await expire(deps, record.id, now);
      report.expired++;
    }
  }
  const followed = await deps.store.listDeployments({ states: FOLLOWED, limit: 500 });
  for (const record of followed) {
    if (record.finishedAt !== null && now - record.finishedAt > SETTLE_MS) continue;
    try {
      await poll(deps, record, now);
      report.polled++;
    } catch {
      report.errors++;
    }
  }
  return report;
}

async function poll(deps: DeployDeps, record: DeploymentRecord, now: number): Promise<void> {
  let runId = record.runId;
  if (runId === null) {
    runId = await findRunId(deps, record);
    if (runId === null) {
      // Confirmed but never dispatched means the process stopped in between; dispatched but never seen
      // means GitHub lost it. Either way, say so instead of showing "dispatched" forever.
      const age = now - (record.dispatchedAt ?? record.updatedAt);
      if (age > (record.state === 'confirmed' ? STUCK_CONFIRM_MS : LOST_RUN_MS))
        await giveUp(deps, record, now);
      return;
    }
  }
  const repo = deps.repo;
  try {
    const { data: run } = await deps.github.rest.actions.getWorkflowRun({ ...repo, run_id: runId });
    const { data: jobs } = await deps.github.rest.actions.listJobsForWorkflowRun({
      ...repo,
      run_id: runId,
      filter: 'latest',
      per_page: 100,
    });
    const events: RunEvent[] = [...jobs.jobs.map((j) => jobEvent(j)), runEvent(run)];
    if (run.status === 'waiting' || jobs.jobs.some((j) => j.status === 'waiting')) {
      const approval = await fetchApproval(deps.github, repo, runId, run.html_url);
      if (approval) events.push(approval);
    }
    await follow(deps, record, events);
  } catch (error) {
    throw toGitHubError(error, `run ${runId}`);
  }
}

async function giveUp(deps: DeployDeps, record: DeploymentRecord, now: number): Promise<void> {
  const note =
    record.state === 'confirmed'
      ? 'The dispatch did not complete and no run was found on GitHub: nothing was deployed.'
      : 'No run of the deploy workflow was found on GitHub for this request.';
  const { record: updated, changed } = await updateDeployment(deps.store, record.id, now, (current) =>
    current.runId === null && current.finishedAt === null
      ? { state: 'timed_out', finishedAt: now, detail: { ...current.detail, note } }
      : null,
  );
  if (changed) {
    deps.onDeploymentChanged(updated.id);
    deps.onFinished(updated);
  }
}

async function findRunId(deps: DeployDeps, record: DeploymentRecord): Promise<number | null> {
  const workflow = deps.config.github.workflow;
  const { data } = await deps.github.rest.actions.listWorkflowRuns({
    ...deps.repo,
    workflow_id: /^\d+$/.test(workflow) ? Number(workflow) : workflow,
    event: 'workflow_dispatch',
    per_page: 30,
  });
  const run = data.workflow_runs.find((r) => requestIdFromTitle(r.display_title) === record.id);
  return run?.id ?? null;
}
