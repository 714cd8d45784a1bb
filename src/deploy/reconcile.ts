import type { DeploymentRecord } from '../core/deployment.ts';
import type { DeploymentState } from '../core/deployment-state.ts';
import { fetchRunEvents, findRunByRequest } from '../github/run-lookups.ts';
import type { DeploymentCursor, DeploymentFilter } from '../store/store.ts';
import { reportFinished } from './apply-events.ts';
import type { DeployDeps } from './deploy-deps.ts';
import { expireRequest } from './expire-request.ts';
import { followRun } from './follow-run.ts';
import { actingForService } from './service-deps.ts';
import { updateDeployment } from './update-deployment.ts';

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

/** After a run finished, keep polling this long for late job details. */
const SETTLE_MS = 5 * 60_000;
/** A deployment dispatched but never seen on GitHub after this long is given up as timed out. */
const LOST_RUN_MS = 30 * 60_000;
/** Confirmed but not dispatched after this long: the process stopped in between. */
const STUCK_CONFIRM_MS = 3 * 60_000;
/** Webhook delivery ids are remembered this long (GitHub redelivers by hand within days). */
const DELIVERY_MEMORY_MS = 7 * 24 * 3600_000;
/**
 * Review votes are kept this long: GitHub gives up on a run waiting for reviewers after 30 days, so
 * an older vote can no longer count for anything.
 */
const VOTE_MEMORY_MS = 31 * 24 * 3600_000;

/**
 * Runs polled on GitHub in one pass at most. Each poll costs two or three API calls; what is left
 * over waits for the next pass, which resumes where this one stopped (see {@link reconcileInTurns}).
 */
export const POLLS_PER_PASS = 500;
/** Records read from the store at a time. */
const PAGE = 100;

export type ReconcileReport = {
  polled: number;
  expired: number;
  errors: number;
  /** Where the next pass resumes polling; null when this pass reached the oldest record. */
  resumeAfter: DeploymentCursor | null;
};

export type ReconcileOptions = { resumeAfter?: DeploymentCursor | null; budget?: number };

/**
 * One reconciliation pass: expires confirmations nobody answered, polls GitHub for the deployments
 * still in flight (newest first, from `resumeAfter`, at most `budget` of them) and applies what it
 * finds exactly as if the webhooks had arrived (so a lost webhook, or no inbound connection at all,
 * still ends every deployment in its final state), queues the messages still owed, and forgets old
 * delivery ids. A failing poll is counted and retried on the next pass.
 * @throws {RangeError} for a budget below 1; otherwise only when the store fails.
 */
export async function reconcile(deps: DeployDeps, options: ReconcileOptions = {}): Promise<ReconcileReport> {
  const now = deps.now();
  const budget = options.budget ?? POLLS_PER_PASS;
  if (!Number.isSafeInteger(budget) || budget < 1)
    throw new RangeError(`budget must be a positive integer, got ${budget}`);
  const report: ReconcileReport = { polled: 0, expired: 0, errors: 0, resumeAfter: null };
  report.expired = await expireUnanswered(deps, now);
  // Finished runs are polled a little longer, for late job details (the rollback step, the log).
  const followed = { states: FOLLOWED, finishedSince: now - SETTLE_MS };
  let previous = options.resumeAfter ?? null;
  for await (const record of pages(deps, followed, previous)) {
    if (report.polled + report.errors >= budget) {
      report.resumeAfter = previous;
      break;
    }
    previous = { createdAt: record.createdAt, id: record.id };
    // A service no longer configured has no repository to ask: its records stay as they are.
    const scoped = actingForService(deps, record.service);
    if (!scoped) continue;
    try {
      await poll(scoped, record, now);
      report.polled++;
    } catch {
      report.errors++;
    }
  }
  await deps.notify.resume();
  await deps.store.forgetDeliveries(now - DELIVERY_MEMORY_MS);
  await deps.store.forgetReviewVotes(now - VOTE_MEMORY_MS);
  return report;
}

/**
 * Successive passes that share the polls out: each resumes where the last one stopped, so with more
 * deployments in flight than one pass polls, every one is still polled within a few passes.
 */
export function reconcileInTurns(deps: DeployDeps, budget = POLLS_PER_PASS): () => Promise<ReconcileReport> {
  let resumeAfter: DeploymentCursor | null = null;
  return async function reconcilePass() {
    const report = await reconcile(deps, { resumeAfter, budget });
    resumeAfter = report.resumeAfter;
    return report;
  };
}

/** Every record the filter matches, newest first from `after`, read a page at a time. */
async function* pages(
  deps: DeployDeps,
  filter: DeploymentFilter,
  after: DeploymentCursor | null,
): AsyncGenerator<DeploymentRecord> {
  let cursor = after;
  for (;;) {
    const page = await deps.store.listDeployments({
      ...filter,
      ...(cursor ? { after: cursor } : {}),
      limit: PAGE,
    });
    yield* page;
    const last = page.at(-1);
    if (!last || page.length < PAGE) return;
    cursor = { createdAt: last.createdAt, id: last.id };
  }
}

async function expireUnanswered(deps: DeployDeps, now: number): Promise<number> {
  let expired = 0;
  for await (const record of pages(deps, { states: ['requested'], unfinished: true }, null)) {
    if (record.detail.confirmationId === null) continue;
    const confirmation = await deps.store.getConfirmation(record.detail.confirmationId);
    if (confirmation && confirmation.usedAt === null && confirmation.expiresAt <= now) {
      await expireRequest(deps, record.id, now);
      expired++;
    }
  }
  return expired;
}

async function poll(deps: DeployDeps, record: DeploymentRecord, now: number): Promise<void> {
  const runId =
    record.runId ??
    (
      await findRunByRequest(
        deps.github,
        deps.repo,
        deps.config.github.workflow,
        record.id,
        await deps.defaultBranch(),
      )
    )?.runId ??
    null;
  if (runId === null) {
    // Confirmed but never dispatched means the process stopped in between; dispatched but never seen
    // means GitHub lost it. Either way, say so instead of showing "dispatched" forever.
    const age = now - (record.dispatchedAt ?? record.updatedAt);
    if (age > (record.state === 'confirmed' ? STUCK_CONFIRM_MS : LOST_RUN_MS))
      await giveUp(deps, record, now);
    return;
  }
  await followRun(deps, record, await fetchRunEvents(deps.github, deps.repo, runId));
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
    deps.notify.changed(updated.id);
    await reportFinished(deps, updated);
  }
}
