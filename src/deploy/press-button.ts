import { decodeCallback } from '../core/callback-data.ts';
import type { DeploymentRecord } from '../core/deployment.ts';
import { hasRole } from '../core/roles.ts';
import { type CancelRunOutcome, cancelRun } from './cancel-run.ts';
import { type Actor, auditAs, auditRecord, type DeployDeps, findEnvironment } from './deploy-deps.ts';
import { type GuardRefusal, recheckGuards } from './deploy-guards.ts';
import { updateDeployment } from './update-deployment.ts';

/** Stable codes for a press that does nothing. */
export type PressRefusal =
  | 'forged'
  | 'unknown'
  | 'used'
  | 'expired'
  | 'not_requester'
  | 'forbidden'
  | 'wrong_message'
  | GuardRefusal;

export type PressOutcome =
  | { kind: 'refused'; reason: PressRefusal; message: string }
  /** Confirmed (a deploy or a rollback): the caller dispatches (`dispatchDeployment`). */
  | { kind: 'confirmed'; deployment: DeploymentRecord }
  | { kind: 'cancelled'; deployment: DeploymentRecord }
  /** A `/cancel` confirmed: GitHub was asked to cancel the run (or said why not). */
  | { kind: 'run_cancel'; deployment: DeploymentRecord; result: CancelRunOutcome }
  /** A `/cancel` answered "keep it running": nothing happened to the run. */
  | { kind: 'kept'; deployment: DeploymentRecord };

export type ButtonPress = {
  actor: Actor;
  chatId: number;
  messageId: number | null;
  data: string;
  key: Buffer;
};

/**
 * A press of Confirm or Cancel. Re-checks everything at the press (DESIGN.md "Confirmation and
 * callbacks"): the HMAC tag, that the confirmation exists, belongs to this chat and message, is
 * unexpired and unused (consumed atomically: a double tap or a replay acts once), that only the
 * requester confirms (any admin may cancel), and the presser's role now, not at request time.
 *
 * A confirmation of kind `cancel` (from `/cancel`) sits on a message of its own, not on the
 * deployment's live message: Confirm asks GitHub to cancel the run (admin role re-checked), the
 * second button keeps the run going. For deploys and rollbacks a lock taken (or a window closed)
 * since the request stops the Confirm.
 */
export async function pressButton(deps: DeployDeps, press: ButtonPress): Promise<PressOutcome> {
  const { actor } = press;
  const decoded = decodeCallback(press.key, press.data);
  if (!decoded.ok) {
    await auditAs(deps, actor, { action: 'button_refused', outcome: 'forged' });
    return { kind: 'refused', reason: 'forged', message: 'This button is not valid.' };
  }
  const confirmation = await deps.store.getConfirmation(decoded.id);
  if (!confirmation)
    return { kind: 'refused', reason: 'unknown', message: 'This request is no longer open.' };
  const deployment = await deps.store.getDeployment(confirmation.deploymentId);
  if (!deployment) return { kind: 'refused', reason: 'unknown', message: 'This request is no longer open.' };
  const isCancel = confirmation.kind === 'cancel';
  if (
    confirmation.chatId !== press.chatId ||
    (!isCancel &&
      press.messageId !== null &&
      deployment.messageId !== null &&
      deployment.messageId !== press.messageId)
  ) {
    await auditAs(deps, actor, {
      action: 'button_refused',
      request_id: deployment.id,
      outcome: 'wrong_message',
    });
    return { kind: 'refused', reason: 'wrong_message', message: 'This button does not belong here.' };
  }
  const env = findEnvironment(deps.config, deployment.environment);
  const audit = (action: string, outcome: string) =>
    deps.audit.append(
      auditRecord({
        actor_id: actor.id,
        actor_name: actor.name,
        action,
        environment: deployment.environment,
        sha: deployment.sha,
        request_id: deployment.id,
        outcome,
      }),
    );

  if (decoded.action === 'confirm') {
    if (actor.id !== confirmation.requesterId) {
      return {
        kind: 'refused',
        reason: 'not_requester',
        message: isCancel
          ? 'Only the admin who sent /cancel can confirm this.'
          : `Only ${deployment.requesterName} can confirm this.`,
      };
    }
    const role = isCancel || deployment.action === 'rollback' ? 'admin' : env?.role;
    if (!env || !role || !hasRole(actor.id, role, deps.config.access)) {
      await audit('confirm_denied', 'forbidden');
      return {
        kind: 'refused',
        reason: 'forbidden',
        message: isCancel
          ? 'You may no longer cancel runs.'
          : `You may no longer ${deployment.action === 'rollback' ? 'roll back' : 'deploy to'} ${deployment.environment}.`,
      };
    }
  } else if (actor.id !== confirmation.requesterId && !hasRole(actor.id, 'admin', deps.config.access)) {
    await audit('cancel_denied', 'forbidden');
    return {
      kind: 'refused',
      reason: 'forbidden',
      message: 'Only the requester or an admin can cancel this.',
    };
  }

  const now = deps.now();
  const consumed = await deps.store.consumeConfirmation(confirmation.id, now);
  if (!consumed.ok) {
    if (consumed.reason === 'expired') {
      if (!isCancel) await expire(deps, deployment.id, now);
      return {
        kind: 'refused',
        reason: 'expired',
        message: `This confirmation expired. Send /${isCancel ? 'cancel' : deployment.action} ${deployment.environment} again.`,
      };
    }
    if (consumed.reason === 'used') return { kind: 'refused', reason: 'used', message: 'Already answered.' };
    return { kind: 'refused', reason: 'unknown', message: 'This request is no longer open.' };
  }

  if (isCancel) {
    if (decoded.action !== 'confirm') {
      await audit('cancel_run_dismissed', 'kept');
      return { kind: 'kept', deployment };
    }
    return { kind: 'run_cancel', deployment, result: await cancelRun(deps, deployment, actor) };
  }
  if (decoded.action === 'confirm') {
    const guard = env ? await recheckGuards(deps, env, deployment) : { ok: true as const };
    if (!guard.ok) {
      const { record } = await updateDeployment(deps.store, deployment.id, now, (current) =>
        current.state === 'requested'
          ? { state: 'cancelled', finishedAt: now, detail: { ...current.detail, note: guard.message } }
          : null,
      );
      deps.onDeploymentChanged(record.id);
      await audit(`${deployment.action}_refused`, guard.reason);
      return { kind: 'refused', reason: guard.reason, message: guard.message };
    }
    await audit(`${deployment.action}_confirmed`, 'confirmed');
    return { kind: 'confirmed', deployment };
  }
  const { record } = await updateDeployment(deps.store, deployment.id, now, (current) =>
    current.state === 'requested' ? { state: 'cancelled', finishedAt: now } : null,
  );
  deps.onDeploymentChanged(record.id);
  await audit(`${deployment.action}_cancelled`, 'cancelled');
  return { kind: 'cancelled', deployment: record };
}

/** Marks a request whose confirmation ran out as expired (also done by the sweeper for untouched ones). */
export async function expire(deps: DeployDeps, deploymentId: string, now: number): Promise<void> {
  const { changed } = await updateDeployment(deps.store, deploymentId, now, (current) =>
    current.state === 'requested' ? { state: 'expired', finishedAt: now } : null,
  );
  if (changed) deps.onDeploymentChanged(deploymentId);
}
