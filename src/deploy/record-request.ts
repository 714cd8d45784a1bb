import {
  type DeployAction,
  type DeploymentDetail,
  type DeploymentRecord,
  emptyDetail,
} from '../core/deployment.ts';
import type { Confirmation } from '../store/store.ts';
import { type Actor, auditDeployment, type DeployDeps } from './deploy-deps.ts';
import { auditOverride } from './deploy-guards.ts';
import { openConfirmation } from './open-confirmation.ts';

export type NewRequest = {
  actor: Actor;
  chatId: number;
  environment: string;
  action: DeployAction;
  ref: string;
  commit: { sha: string; subject: string; author: string };
  detail: Partial<DeploymentDetail>;
  /** Whether Confirm is asked for (then a confirmation is opened, expiring after `confirmTtlMs`). */
  confirm: boolean;
  /** The audit line's outcome (`awaiting_confirmation`, `accepted`, …). */
  outcome: string;
  /** An admin's override reason, audited when the guards it set aside were in the way. */
  override: { reason: string; used: boolean } | null;
};

/**
 * Records a deploy or rollback request, in this order: its `<action>_requested` audit line (and the
 * override's, if one was used), the record, the confirmation where one is asked for, and only then
 * the chat is told, so the message never shows buttons that do not work yet.
 * @throws {AuditError} when the audit trail cannot be written: then nothing is recorded.
 */
export async function recordRequest(
  deps: DeployDeps,
  request: NewRequest,
): Promise<{ deployment: DeploymentRecord; confirmation: Confirmation | null }> {
  const now = deps.now();
  const confirmationId = request.confirm ? deps.newConfirmationId() : null;
  const confirmBy = request.confirm ? now + deps.confirmTtlMs : null;
  const id = deps.newRequestId();
  const audited = { id, environment: request.environment, sha: request.commit.sha };
  await auditDeployment(deps, request.actor, audited, `${request.action}_requested`, request.outcome);
  if (request.override?.used) await auditOverride(deps, request.actor, audited, request.override.reason);
  const deployment = await deps.store.insertDeployment({
    id,
    service: deps.service.name,
    environment: request.environment,
    action: request.action,
    ref: request.ref,
    ...request.commit,
    requesterId: request.actor.id,
    requesterName: request.actor.name,
    chatId: request.chatId,
    messageId: null,
    state: 'requested',
    runId: null,
    runUrl: null,
    detail: { ...emptyDetail(), ...request.detail, confirmationId, confirmBy },
    createdAt: now,
    dispatchedAt: null,
    finishedAt: null,
  });
  const confirmation =
    confirmationId === null || confirmBy === null
      ? null
      : await openConfirmation(deps, {
          id: confirmationId,
          expiresAt: confirmBy,
          kind: request.action,
          deploymentId: deployment.id,
          actor: request.actor,
          chatId: request.chatId,
        });
  deps.notify.changed(deployment.id);
  return { deployment, confirmation };
}
