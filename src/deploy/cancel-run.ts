import type { DeploymentRecord } from '../core/deployment.ts';
import { hasRole } from '../core/roles.ts';
import { toGitHubError } from '../github/github-error.ts';
import type { Confirmation } from '../store/store.ts';
import { type Actor, auditAs, auditDeployment, type DeployDeps } from './deploy-deps.ts';
import { environmentArgument } from './environment-argument.ts';
import { findInFlight } from './find-in-flight.ts';
import { openConfirmation } from './open-confirmation.ts';

export type CancelRefusal = 'usage' | 'unknown_environment' | 'forbidden' | 'nothing_in_flight';

export type CancelRequestOutcome =
  | { kind: 'refused'; reason: CancelRefusal; message: string }
  /** A confirmation of kind `cancel` for the deployment in flight; the caller shows Confirm / Keep. */
  | { kind: 'confirm'; deployment: DeploymentRecord; confirmation: Confirmation };

export type CancelRunOutcome =
  /** GitHub accepted the cancel; the run reports `cancelled` on the return path, which ends the record. */
  | { kind: 'cancelling'; deployment: DeploymentRecord }
  | { kind: 'failed'; reason: 'completed' | 'no_run' | 'github_error'; message: string };

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
    return { kind: 'refused', reason: 'nothing_in_flight', message: `Nothing is in flight for ${env.name}.` };
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

/**
 * Asks GitHub to cancel the deployment's run (`POST /actions/runs/{id}/cancel`). The audit line is
 * written first. A run that already completed (409) is a clear message, not an error.
 */
export async function cancelRun(
  deps: DeployDeps,
  deployment: DeploymentRecord,
  actor: Actor,
): Promise<CancelRunOutcome> {
  const audit = (outcome: string) => auditDeployment(deps, actor, deployment, 'cancel_run', outcome);
  const current = (await deps.store.getDeployment(deployment.id)) ?? deployment;
  if (current.runId === null) {
    await audit('no_run');
    return {
      kind: 'failed',
      reason: 'no_run',
      message: 'GitHub has not reported the run yet. Try /cancel again in a few seconds.',
    };
  }
  await audit(`attempt run ${current.runId}`);
  try {
    await deps.github.rest.actions.cancelWorkflowRun({ ...deps.repo, run_id: current.runId });
  } catch (error) {
    const failure = toGitHubError(error, `run ${current.runId}`);
    if (failure.status === 409) {
      await audit('already_completed');
      return {
        kind: 'failed',
        reason: 'completed',
        message: 'The run has already finished; there is nothing left to cancel.',
      };
    }
    await audit(`error:${failure.reason}`);
    return { kind: 'failed', reason: 'github_error', message: failure.userMessage };
  }
  await audit('accepted');
  return { kind: 'cancelling', deployment: current };
}
