import type { DeploymentRecord } from '../core/deployment.ts';
import { hasRole } from '../core/roles.ts';
import { type GitHubError, mayHaveActed, toGitHubError } from '../github/github-error.ts';
import { fetchRunStatus } from '../github/run-lookups.ts';
import type { Confirmation } from '../store/store.ts';
import { type Actor, auditAs, auditDeployment, type DeployDeps } from './deploy-deps.ts';
import { environmentArgument } from './environment-argument.ts';
import { findInFlight } from './find-in-flight.ts';
import { openConfirmation } from './open-confirmation.ts';
import { commandTarget } from './service-deps.ts';

export type CancelRefusal = 'usage' | 'unknown_environment' | 'forbidden' | 'nothing_in_flight';

export type CancelRequestOutcome =
  | { kind: 'refused'; reason: CancelRefusal; message: string }
  /** A confirmation of kind `cancel` for the deployment in flight; the caller shows Confirm / Keep. */
  | { kind: 'confirm'; deployment: DeploymentRecord; confirmation: Confirmation };

export type CancelRunOutcome =
  /** GitHub accepted the cancel; the run reports `cancelled` on the return path, which ends the record. */
  | { kind: 'cancelling'; deployment: DeploymentRecord }
  /** The run has already ended cancelled (this cancel, answered with an error, or an earlier one). */
  | { kind: 'cancelled'; deployment: DeploymentRecord }
  | {
      kind: 'failed';
      reason: 'completed' | 'no_run' | 'github_error' | 'unconfirmed';
      message: string;
    };

/**
 * `/cancel <env>` (admin): finds the run in flight and asks for confirmation like /rollback. Nothing
 * is cancelled before Confirm (see {@link cancelRun}).
 */
export async function requestCancel(
  deps: DeployDeps,
  request: { actor: Actor; chatId: number; environment: string | undefined },
): Promise<CancelRequestOutcome> {
  const { actor } = request;
  if (!hasRole(actor.id, 'admin', deps.config.access)) {
    await auditAs(deps, actor, { action: 'cancel_denied', outcome: 'forbidden' });
    return { kind: 'refused', reason: 'forbidden', message: 'Only admins can cancel a run.' };
  }
  const named = environmentArgument(deps.config, request.environment, 'Usage: /cancel <environment>.');
  if (!named.ok) return { kind: 'refused', reason: named.reason, message: named.message };
  const { env } = named;
  const deployment = await findInFlight(deps, env.name);
  if (!deployment) {
    return {
      kind: 'refused',
      reason: 'nothing_in_flight',
      message: `Nothing is in flight for ${commandTarget(deps, env.name)}.`,
    };
  }
  const confirmation = await openConfirmation(deps, {
    kind: 'cancel',
    deploymentId: deployment.id,
    actor,
    chatId: request.chatId,
  });
  await auditDeployment(deps, actor, deployment, 'cancel_requested', 'awaiting_confirmation');
  return { kind: 'confirm', deployment, confirmation };
}

/** After an unanswered cancel, GitHub's own word on the run is checked this often (ms). */
const CHECK_DELAYS_MS = [0, 1000, 2000];

/**
 * Asks GitHub to cancel the deployment's run (`POST /actions/runs/{id}/cancel`). The audit line is
 * written first. The POST is never repeated blindly: when GitHub answers it with a 5xx or not at all,
 * the run's status is checked before anything is said (a run that ended cancelled is reported as
 * cancelled, never as a failure), and only a run still going gets the cancel once more (a second
 * cancel has no second effect). A run that already completed (409) is a clear message, not an error.
 */
export async function cancelRun(
  deps: DeployDeps,
  deployment: DeploymentRecord,
  actor: Actor,
  delaysMs: readonly number[] = CHECK_DELAYS_MS,
): Promise<CancelRunOutcome> {
  const audit = (outcome: string) => auditDeployment(deps, actor, deployment, 'cancel_run', outcome);
  const current = (await deps.store.getDeployment(deployment.id)) ?? deployment;
  const runId = current.runId;
  if (runId === null) {
    await audit('no_run');
    return {
      kind: 'failed',
      reason: 'no_run',
      message: 'GitHub has not reported the run yet. Try /cancel again in a few seconds.',
    };
  }
  await audit(`attempt run ${runId}`);
  const post = () => postCancel(deps, runId);
  let answer = await post();
  if (answer.kind === 'unanswered') {
    const seen = await watchRun(deps, runId, delaysMs);
    answer = seen ?? (await post());
  }
  const outcome = conclude(current, runId, answer);
  await audit(outcome.audit);
  return outcome.result;
}

type CancelAnswer =
  | { kind: 'accepted' }
  | { kind: 'completed'; conclusion: string | null }
  | { kind: 'refused'; error: GitHubError }
  | { kind: 'unanswered'; error: GitHubError };

async function postCancel(deps: DeployDeps, runId: number): Promise<CancelAnswer> {
  try {
    await deps.github.rest.actions.cancelWorkflowRun({
      ...deps.repo,
      run_id: runId,
      request: { retries: 0 },
    });
    return { kind: 'accepted' };
  } catch (error) {
    const failure = toGitHubError(error, `run ${runId}`);
    if (failure.status === 409) return { kind: 'completed', conclusion: await conclusionOf(deps, runId) };
    return mayHaveActed(failure)
      ? { kind: 'unanswered', error: failure }
      : { kind: 'refused', error: failure };
  }
}

/** Whether the run has completed since an unanswered cancel (null: still going, or GitHub cannot say). */
async function watchRun(
  deps: DeployDeps,
  runId: number,
  delaysMs: readonly number[],
): Promise<CancelAnswer | null> {
  for (const delay of delaysMs) {
    if (delay > 0) await new Promise((resolve) => setTimeout(resolve, delay));
    try {
      const status = await fetchRunStatus(deps.github, deps.repo, runId);
      if (status.completed) return { kind: 'completed', conclusion: status.conclusion };
    } catch {
      // Ask again; without an answer nothing is concluded.
    }
  }
  return null;
}

async function conclusionOf(deps: DeployDeps, runId: number): Promise<string | null> {
  try {
    return (await fetchRunStatus(deps.github, deps.repo, runId)).conclusion;
  } catch {
    return null;
  }
}

function conclude(
  deployment: DeploymentRecord,
  runId: number,
  answer: CancelAnswer,
): { result: CancelRunOutcome; audit: string } {
  switch (answer.kind) {
    case 'accepted':
      return { result: { kind: 'cancelling', deployment }, audit: 'accepted' };
    case 'completed':
      if (answer.conclusion === 'cancelled')
        return { result: { kind: 'cancelled', deployment }, audit: 'cancelled' };
      return {
        result: {
          kind: 'failed',
          reason: 'completed',
          message: 'The run has already finished; there is nothing left to cancel.',
        },
        audit: 'already_completed',
      };
    case 'refused':
      return {
        result: { kind: 'failed', reason: 'github_error', message: answer.error.userMessage },
        audit: `error:${answer.error.reason}`,
      };
    case 'unanswered': {
      const said = answer.error.status === null ? 'no answer' : String(answer.error.status);
      return {
        result: {
          kind: 'failed',
          reason: 'unconfirmed',
          message: `GitHub did not confirm the cancel of run ${runId} (${said}, twice). The deployment’s message shows whether the run stops; send /cancel again if it keeps running.`,
        },
        audit: `unconfirmed:${answer.error.reason}`,
      };
    }
  }
}
