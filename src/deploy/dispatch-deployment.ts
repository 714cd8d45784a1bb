import type { DeploymentRecord } from '../core/deployment.ts';
import { canMove } from '../core/deployment-state.ts';
import { type GitHubError, toGitHubError } from '../github/github-error.ts';
import type { FoundRun } from '../github/run-lookups.ts';
import { auditDeployment, type DeployDeps } from './deploy-deps.ts';
import {
  DEFAULT_DISPATCH_POLICY,
  type DispatchPolicy,
  type DispatchResult,
  dispatchOnce,
} from './dispatch-once.ts';
import { updateDeployment } from './update-deployment.ts';

export type DispatchOutcome =
  | { kind: 'dispatched'; deployment: DeploymentRecord; result: DispatchResult }
  | { kind: 'failed'; deployment: DeploymentRecord; message: string; result: DispatchResult | null }
  /** The record had already moved on (a second instance dispatched it, or it was cancelled). */
  | { kind: 'skipped'; deployment: DeploymentRecord };

/**
 * Dispatches the deploy workflow for a recorded (and, where needed, confirmed) request, pinned to the
 * SHA that was shown. Moves the record to `confirmed` first, atomically, so two callers cannot both
 * dispatch it; writes the audit line before calling GitHub. GitHub runs it at most once, whatever it
 * answers (`dispatchOnce`); while an unanswered dispatch is checked, the message says so.
 */
export async function dispatchDeployment(
  deps: DeployDeps,
  deploymentId: string,
  policy: DispatchPolicy = DEFAULT_DISPATCH_POLICY,
): Promise<DispatchOutcome> {
  const claimed = await updateDeployment(deps.store, deploymentId, deps.now(), (current) =>
    current.state === 'requested' ? { state: 'confirmed' } : null,
  );
  if (!claimed.changed) return { kind: 'skipped', deployment: claimed.record };
  const deployment = claimed.record;
  deps.notify.changed(deployment.id);
  try {
    await auditDispatch(deps, deployment, 'dispatch', 'attempt');
  } catch (error) {
    // Nothing is dispatched unrecorded: the message says why, and the caller tells the user.
    await endUnrecorded(deps, deployment);
    throw error;
  }
  let ref: string;
  try {
    ref = await deps.defaultBranch();
  } catch (error) {
    const failure = toGitHubError(error, 'the repository');
    return fail(deps, deployment, failure.userMessage, `error:${failure.reason}`, null);
  }
  const result = await dispatchOnce(
    deps,
    {
      workflow: deps.config.github.workflow,
      ref,
      inputs: {
        environment: deployment.environment,
        sha: deployment.sha,
        action: deployment.action,
        request_id: deployment.id,
        requested_by: deployment.requesterName || 'unknown',
      },
    },
    policy,
    (failure) => setNote(deps, deployment.id, searchNote(failure)),
  );
  return settle(deps, deployment, result);
}

async function settle(
  deps: DeployDeps,
  deployment: DeploymentRecord,
  result: DispatchResult,
): Promise<DispatchOutcome> {
  const answered = describeFailures(result.failures);
  switch (result.outcome) {
    case 'refused': {
      const error = result.failures.at(-1) as GitHubError;
      return fail(deps, deployment, error.userMessage, `error:${error.reason}`, result);
    }
    case 'no_run':
      return fail(
        deps,
        deployment,
        `The dispatch got ${answered} from GitHub, and GitHub lists no run for it: nothing was deployed. Try again shortly.`,
        `no_run after ${answered}`,
        result,
      );
    case 'unconfirmed':
      return dispatched(deps, deployment, result, null, {
        note: `The dispatch got ${answered} from GitHub, and GitHub could not be asked whether the run started. This message follows the run if it did; it is not dispatched again.`,
        outcome: `unconfirmed after ${answered}`,
      });
    default: {
      const runText = result.run ? `run ${result.run.runId}` : 'run pending';
      const outcome = result.failures.length ? `${runText} found after ${answered}` : runText;
      const extra = result.duplicatesCancelled.length
        ? `; duplicate runs cancelled: ${result.duplicatesCancelled.join(', ')}`
        : '';
      return dispatched(deps, deployment, result, result.run, { note: null, outcome: outcome + extra });
    }
  }
}

async function dispatched(
  deps: DeployDeps,
  deployment: DeploymentRecord,
  result: DispatchResult,
  run: FoundRun | null,
  say: { note: string | null; outcome: string },
): Promise<DispatchOutcome> {
  const now = deps.now();
  const { record } = await updateDeployment(deps.store, deployment.id, now, (current) => ({
    // A webhook may have moved the record already; never move it back.
    ...(canMove(current.state, 'dispatched') ? { state: 'dispatched' as const } : {}),
    runId: current.runId ?? run?.runId ?? null,
    runUrl: current.runUrl ?? run?.runUrl ?? null,
    dispatchedAt: current.dispatchedAt ?? now,
    detail: { ...current.detail, note: say.note },
  }));
  deps.notify.changed(record.id);
  await auditDispatch(deps, record, 'dispatched', say.outcome);
  return { kind: 'dispatched', deployment: record, result };
}

async function fail(
  deps: DeployDeps,
  deployment: DeploymentRecord,
  message: string,
  outcome: string,
  result: DispatchResult | null,
): Promise<DispatchOutcome> {
  const now = deps.now();
  const { record } = await updateDeployment(deps.store, deployment.id, now, (current) => ({
    state: 'failed',
    finishedAt: now,
    detail: { ...current.detail, note: message },
  }));
  deps.notify.changed(record.id);
  await auditDispatch(deps, record, 'dispatched', outcome);
  return { kind: 'failed', deployment: record, message, result };
}

/** Why a request ended without a dispatch when the audit trail refused its line. */
export const UNRECORDED_NOTE =
  'The audit trail could not be written, so nothing was dispatched. Ask an admin to check the bot’s disk.';

/** The audit line could not be written before the dispatch: the request ends, nothing was sent. */
async function endUnrecorded(deps: DeployDeps, deployment: DeploymentRecord): Promise<void> {
  const now = deps.now();
  const note = UNRECORDED_NOTE;
  const { changed } = await updateDeployment(deps.store, deployment.id, now, (current) =>
    current.state === 'confirmed'
      ? { state: 'failed', finishedAt: now, detail: { ...current.detail, note } }
      : null,
  );
  if (changed) deps.notify.changed(deployment.id);
}

/** While an unanswered dispatch is checked on GitHub, the message says why nothing moves yet. */
async function setNote(deps: DeployDeps, id: string, note: string): Promise<void> {
  const { changed } = await updateDeployment(deps.store, id, deps.now(), (current) =>
    current.state === 'confirmed' ? { detail: { ...current.detail, note } } : null,
  );
  if (changed) deps.notify.changed(id);
}

function searchNote(failure: GitHubError): string {
  return `The dispatch got ${describeFailures([failure])} from GitHub; checking whether the run started before anything is sent again…`;
}

/** "502", "no answer", "502, then 502". */
function describeFailures(failures: readonly GitHubError[]): string {
  return failures.map((f) => (f.status === null ? 'no answer' : String(f.status))).join(', then ');
}

function auditDispatch(deps: DeployDeps, record: DeploymentRecord, step: string, outcome: string) {
  const requester =
    record.requesterId === null ? null : { id: record.requesterId, name: record.requesterName };
  return auditDeployment(deps, requester, record, `${record.action}_${step}`, outcome);
}
