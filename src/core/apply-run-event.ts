import type { DeploymentPatch, DeploymentRecord, JobView, StepView } from './deployment.ts';
import { canMove, type DeploymentState } from './deployment-state.ts';
import type { RunEvent } from './run-events.ts';

const JOB_RANK: Record<JobView['status'], number> = {
  requested: 0,
  pending: 0,
  queued: 0,
  waiting: 1,
  in_progress: 2,
  completed: 3,
};
const STEP_RANK: Record<StepView['status'], number> = { pending: 0, queued: 0, in_progress: 1, completed: 2 };
const ROLLBACK_STEP = /roll\s*-?back|restore previous/i;

/**
 * Applies one event from GitHub to a deployment. Pure. Returns the patch, or null when the event
 * changes nothing (a repeat, or older news than what is known).
 *
 * Order-independence is the point: webhooks arrive late, twice or out of order, and polling reports
 * the same facts again. Jobs and steps only move forward (a completed job never goes back to
 * in_progress), and the deployment state is derived from the merged facts and then only moved
 * forward, so any order of the same events ends in the same record.
 */
export function applyRunEvent(
  record: DeploymentRecord,
  event: RunEvent,
  now: number,
): DeploymentPatch | null {
  const detail = structuredClone(record.detail);
  const patch: DeploymentPatch = {};
  let runCompleted = record.finishedAt !== null && record.runId !== null;
  let conclusion: string | null = null;
  let runStatus: string | null = null;

  switch (event.type) {
    case 'run': {
      if (record.runId !== null && record.runId !== event.runId) return null;
      if (record.runId === null) patch.runId = event.runId;
      if (!record.runUrl && event.runUrl) patch.runUrl = event.runUrl;
      runStatus = event.status;
      if (event.status === 'completed') {
        runCompleted = true;
        conclusion = event.conclusion;
        if (record.finishedAt === null) patch.finishedAt = event.updatedAt ?? now;
      }
      break;
    }
    case 'job':
      detail.jobs = mergeJob(detail.jobs, event.job);
      break;
    case 'approval':
      // Shown only while the state is waiting_approval; a stale answer after the job started is harmless.
      if (record.finishedAt !== null) return null;
      detail.approval = { reviewers: event.reviewers, url: event.url };
      break;
    case 'environment_url':
      detail.environmentUrl = event.url;
      break;
    case 'failure_log':
      detail.failure = { job: event.job, step: event.step, logTail: event.logTail.slice(-40) };
      break;
  }

  const next = deriveState(record, detail.jobs, runStatus, conclusion, runCompleted);
  if (next && canMove(record.state, next)) patch.state = next;
  if (
    patch.finishedAt !== undefined ||
    (patch.state !== undefined && patch.state !== 'waiting_approval' && patch.state !== 'in_progress')
  ) {
    detail.approval = null;
  }
  if (JSON.stringify(detail) !== JSON.stringify(record.detail)) patch.detail = detail;
  if (record.dispatchedAt === null && (patch.runId !== undefined || patch.state !== undefined))
    patch.dispatchedAt = now;
  return Object.keys(patch).length === 0 ? null : patch;
}

/** The state the known facts imply, or null when they say nothing new about the state. */
function deriveState(
  record: DeploymentRecord,
  jobs: JobView[],
  runStatus: string | null,
  conclusion: string | null,
  runCompleted: boolean,
): DeploymentState | null {
  const steps = jobs.flatMap((j) => j.steps);
  const failedSomewhere =
    jobs.some((j) => j.status === 'completed' && isFailure(j.conclusion)) ||
    steps.some((s) => s.status === 'completed' && isFailure(s.conclusion) && !ROLLBACK_STEP.test(s.name));
  const autoRollback = record.action === 'deploy' ? steps.filter((s) => ROLLBACK_STEP.test(s.name)) : [];
  const rollbackRan = autoRollback.find((s) => s.status === 'completed' && s.conclusion !== 'skipped');
  const rollbackRunning = autoRollback.some((s) => s.status === 'in_progress');

  if (runCompleted) {
    // A completed run's conclusion is known only from the run event itself; later job events re-derive
    // from the record's state, which already holds the outcome.
    const outcome = conclusion ?? outcomeOf(record.state);
    if (outcome === 'success') return 'succeeded';
    if (outcome === 'cancelled') return 'cancelled';
    if (outcome === 'timed_out') return 'timed_out';
    if (rollbackRan) return rollbackRan.conclusion === 'success' ? 'rolled_back' : 'rollback_failed';
    if (outcome === null) return null;
    return 'failed';
  }
  if (rollbackRan) return rollbackRan.conclusion === 'success' ? 'rolled_back' : 'rollback_failed';
  if (rollbackRunning) return 'rolling_back';
  if (failedSomewhere) return 'failed';
  if (jobs.some((j) => j.status === 'waiting') || runStatus === 'waiting') return 'waiting_approval';
  if (
    jobs.some((j) => j.status === 'in_progress' || j.status === 'completed') ||
    runStatus === 'in_progress'
  ) {
    return 'in_progress';
  }
  if (runStatus !== null || jobs.length > 0) return 'queued';
  return null;
}

function outcomeOf(state: DeploymentState): string | null {
  switch (state) {
    case 'succeeded':
      return 'success';
    case 'cancelled':
      return 'cancelled';
    case 'timed_out':
      return 'timed_out';
    case 'failed':
    case 'rolled_back':
    case 'rollback_failed':
      return 'failure';
    default:
      return null;
  }
}

function isFailure(conclusion: string | null): boolean {
  return conclusion === 'failure' || conclusion === 'timed_out' || conclusion === 'startup_failure';
}

/** Merges a job report into the list: forward only, field by field, steps by number. */
function mergeJob(jobs: JobView[], incoming: JobView): JobView[] {
  const index = jobs.findIndex((j) => j.id === incoming.id);
  if (index === -1) return [...jobs, incoming].sort(byStart);
  const known = jobs[index] as JobView;
  const newer = JOB_RANK[incoming.status] > JOB_RANK[known.status];
  const same = JOB_RANK[incoming.status] === JOB_RANK[known.status];
  const merged: JobView = {
    id: known.id,
    name: incoming.name || known.name,
    status: newer ? incoming.status : known.status,
    conclusion: known.conclusion ?? (newer || same ? incoming.conclusion : null),
    startedAt: earliest(known.startedAt, incoming.startedAt),
    completedAt:
      known.completedAt === null
        ? incoming.completedAt
        : Math.max(known.completedAt, incoming.completedAt ?? 0),
    steps: mergeSteps(known.steps, incoming.steps),
    url: known.url ?? incoming.url,
  };
  const next = [...jobs];
  next[index] = merged;
  return next.sort(byStart);
}

function mergeSteps(known: StepView[], incoming: StepView[]): StepView[] {
  const byNumber = new Map<number, StepView>();
  for (const step of [...known, ...incoming]) {
    const have = byNumber.get(step.number);
    if (!have || STEP_RANK[step.status] > STEP_RANK[have.status]) {
      byNumber.set(step.number, { ...step, conclusion: have?.conclusion ?? step.conclusion });
    } else if (
      have.conclusion === null &&
      step.conclusion !== null &&
      STEP_RANK[step.status] === STEP_RANK[have.status]
    ) {
      byNumber.set(step.number, { ...have, conclusion: step.conclusion });
    }
  }
  return [...byNumber.values()].sort((a, b) => a.number - b.number);
}

function earliest(a: number | null, b: number | null): number | null {
  if (a === null) return b;
  if (b === null) return a;
  return Math.min(a, b);
}

function byStart(a: JobView, b: JobView): number {
  return (a.startedAt ?? Number.MAX_SAFE_INTEGER) - (b.startedAt ?? Number.MAX_SAFE_INTEGER) || a.id - b.id;
}
