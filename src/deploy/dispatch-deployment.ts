import type { DeploymentRecord } from '../core/deployment.ts';
import { canMove } from '../core/deployment-state.ts';
import { dispatchWorkflow } from '../github/dispatch-workflow.ts';
import { GitHubError } from '../github/github-error.ts';
import { auditDeployment, type DeployDeps } from './deploy-deps.ts';
import { updateDeployment } from './update-deployment.ts';

export type DispatchOutcome =
  | { kind: 'dispatched'; deployment: DeploymentRecord }
  | { kind: 'failed'; deployment: DeploymentRecord; message: string }
  /** The record had already moved on (a second instance dispatched it, or it was cancelled). */
  | { kind: 'skipped'; deployment: DeploymentRecord };

/**
 * Dispatches the deploy workflow for a recorded (and, where needed, confirmed) request, pinned to the
 * SHA that was shown. Moves the record to `confirmed` first, atomically, so two callers cannot both
 * dispatch it; writes the audit line before calling GitHub.
 */
export async function dispatchDeployment(deps: DeployDeps, deploymentId: string): Promise<DispatchOutcome> {
  const claimed = await updateDeployment(deps.store, deploymentId, deps.now(), (current) =>
    current.state === 'requested' ? { state: 'confirmed' } : null,
  );
  if (!claimed.changed) return { kind: 'skipped', deployment: claimed.record };
  const deployment = claimed.record;
  deps.notify.changed(deployment.id);
  await auditDispatch(deps, deployment, 'dispatch', 'attempt');
  try {
    const run = await dispatchWorkflow(deps.github, deps.repo, {
      workflow: deps.config.github.workflow,
      ref: await deps.defaultBranch(),
      inputs: {
        environment: deployment.environment,
        sha: deployment.sha,
        action: deployment.action,
        request_id: deployment.id,
        requested_by: deployment.requesterName || 'unknown',
      },
    });
    const now = deps.now();
    const { record } = await updateDeployment(deps.store, deployment.id, now, (current) => ({
      // A webhook may have moved the record already; never move it back.
      ...(canMove(current.state, 'dispatched') ? { state: 'dispatched' as const } : {}),
      runId: current.runId ?? run.runId,
      runUrl: current.runUrl ?? run.runUrl,
      dispatchedAt: current.dispatchedAt ?? now,
    }));
    deps.notify.changed(record.id);
    await auditDispatch(deps, record, 'dispatched', run.runId ? `run ${run.runId}` : 'run pending');
    return { kind: 'dispatched', deployment: record };
  } catch (error) {
    if (!(error instanceof GitHubError)) throw error;
    const now = deps.now();
    const { record } = await updateDeployment(deps.store, deployment.id, now, (current) => ({
      state: 'failed',
      finishedAt: now,
      detail: { ...current.detail, note: error.userMessage },
    }));
    deps.notify.changed(record.id);
    await auditDispatch(deps, record, 'dispatched', `error:${error.reason}`);
    return { kind: 'failed', deployment: record, message: error.userMessage };
  }
}

function auditDispatch(deps: DeployDeps, record: DeploymentRecord, step: string, outcome: string) {
  const requester =
    record.requesterId === null ? null : { id: record.requesterId, name: record.requesterName };
  return auditDeployment(deps, requester, record, `${record.action}_${step}`, outcome);
}
