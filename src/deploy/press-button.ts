import { type DecodedCallback, decodeCallback } from '../core/callback-data.ts';
import type { DeploymentRecord } from '../core/deployment.ts';
import { findEnvironment } from '../core/environment.ts';
import { hasRole } from '../core/roles.ts';
import type { Confirmation } from '../store/store.ts';
import { type CancelRunOutcome, cancelRun } from './cancel-run.ts';
import { type Actor, auditAs, auditDeployment, type DeployDeps } from './deploy-deps.ts';
import { type GuardRefusal, recheckGuards } from './deploy-guards.ts';
import { type DispatchOutcome, dispatchDeployment, UNRECORDED_NOTE } from './dispatch-deployment.ts';
import { expireRequest } from './expire-request.ts';
import { actingForService, commandTarget, noLongerConfigured } from './service-deps.ts';
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
  | 'in_flight'
  | GuardRefusal;

export type PressOutcome =
  | { kind: 'refused'; reason: PressRefusal; message: string }
  /**
   * A deploy or rollback confirmed: its dispatch has started. `dispatch` settles when GitHub has
   * answered, so the caller can acknowledge the press first and then wait.
   */
  | { kind: 'confirmed'; deployment: DeploymentRecord; dispatch: Promise<DispatchOutcome> }
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

type Refused = Extract<PressOutcome, { kind: 'refused' }>;
type Pressed = {
  decoded: Extract<DecodedCallback, { ok: true }>;
  confirmation: Confirmation;
  deployment: DeploymentRecord;
};

const refused = (reason: PressRefusal, message: string): Refused => ({ kind: 'refused', reason, message });

/**
 * A press of Confirm or Cancel. Re-checks everything at the press: the HMAC tag, that the
 * confirmation exists, belongs to this chat and message, is unexpired and unused (consumed
 * atomically: a double tap or a replay acts once), that only the requester confirms (any admin may
 * cancel), and the presser's role now, not at request time. For deploys and rollbacks a lock taken
 * (or a window closed) since the request stops the Confirm; a Confirm that passes starts the dispatch.
 *
 * A confirmation of kind `cancel` (from `/cancel`) sits on a message of its own: Confirm asks GitHub
 * to cancel the run, the second button keeps the run going.
 */
export async function pressButton(base: DeployDeps, press: ButtonPress): Promise<PressOutcome> {
  const pressed = await findPressed(base, press);
  if ('kind' in pressed) return pressed;
  // Roles, environments, locks and the repository are those of the deployment's service.
  const deps = actingForService(base, pressed.deployment.service);
  if (!deps) return refused('unknown', noLongerConfigured(pressed.deployment.service));
  const denied = await checkPresser(deps, press.actor, pressed);
  if (denied) return denied;
  const { confirmation, deployment, decoded } = pressed;
  const now = deps.now();
  const consumed = await deps.store.consumeConfirmation(confirmation.id, now);
  if (!consumed.ok) {
    if (consumed.reason === 'used') return refused('used', 'Already answered.');
    if (consumed.reason !== 'expired') return refused('unknown', 'This request is no longer open.');
    const isCancel = confirmation.kind === 'cancel';
    if (!isCancel) await expireRequest(deps, deployment.id, now);
    return refused(
      'expired',
      `This confirmation expired. Send /${isCancel ? 'cancel' : deployment.action} ${commandTarget(deps, deployment.environment)} again.`,
    );
  }
  if (confirmation.kind === 'cancel') {
    if (decoded.action !== 'confirm') {
      await auditDeployment(deps, press.actor, deployment, 'cancel_run_dismissed', 'kept');
      return { kind: 'kept', deployment };
    }
    return { kind: 'run_cancel', deployment, result: await cancelRun(deps, deployment, press.actor) };
  }
  return decoded.action === 'confirm'
    ? confirm(deps, press.actor, deployment, now)
    : dismiss(deps, press.actor, deployment, now);
}

/** The confirmation and deployment a button names, if the button is genuine and on its own message. */
async function findPressed(deps: DeployDeps, press: ButtonPress): Promise<Pressed | Refused> {
  const decoded = decodeCallback(press.key, press.data);
  if (!decoded.ok) {
    await auditAs(deps, press.actor, { action: 'button_refused', outcome: 'forged' });
    return refused('forged', 'This button is not valid.');
  }
  const confirmation = await deps.store.getConfirmation(decoded.id);
  const deployment = confirmation && (await deps.store.getDeployment(confirmation.deploymentId));
  if (!confirmation || !deployment) return refused('unknown', 'This request is no longer open.');
  // A /cancel confirmation is a message of its own; the others ride on the deployment's message.
  const otherMessage =
    confirmation.kind !== 'cancel' &&
    press.messageId !== null &&
    deployment.messageId !== null &&
    deployment.messageId !== press.messageId;
  if (confirmation.chatId !== press.chatId || otherMessage) {
    await auditAs(deps, press.actor, {
      action: 'button_refused',
      request_id: deployment.id,
      outcome: 'wrong_message',
    });
    return refused('wrong_message', 'This button does not belong here.');
  }
  return { decoded, confirmation, deployment };
}

/** Only the requester confirms, holding the role now; the requester or any admin may cancel. */
async function checkPresser(deps: DeployDeps, actor: Actor, pressed: Pressed): Promise<Refused | null> {
  const { decoded, confirmation, deployment } = pressed;
  const isCancel = confirmation.kind === 'cancel';
  const access = deps.config.access;
  if (decoded.action !== 'confirm') {
    if (actor.id === confirmation.requesterId || hasRole(actor.id, 'admin', access)) return null;
    await auditDeployment(deps, actor, deployment, 'cancel_denied', 'forbidden');
    return refused('forbidden', 'Only the requester or an admin can cancel this.');
  }
  if (actor.id !== confirmation.requesterId) {
    return refused(
      'not_requester',
      isCancel
        ? 'Only the admin who sent /cancel can confirm this.'
        : `Only ${deployment.requesterName} can confirm this.`,
    );
  }
  const env = findEnvironment(deps.config.environments, deployment.environment);
  const role = isCancel || deployment.action === 'rollback' ? 'admin' : env?.role;
  if (env && role && hasRole(actor.id, role, access)) return null;
  await auditDeployment(deps, actor, deployment, 'confirm_denied', 'forbidden');
  const what = isCancel
    ? 'cancel runs'
    : `${deployment.action === 'rollback' ? 'roll back' : 'deploy to'} ${deployment.environment}`;
  return refused('forbidden', `You may no longer ${what}.`);
}

/**
 * How long a Confirm holds its environment while it is checked and dispatched: two Confirms of
 * different requests pressed at once (on one instance or two) would otherwise both pass the
 * in-flight check before either is claimed. Given back when the dispatch settles; a crash frees it
 * after this long.
 */
const CONFIRM_CLAIM_MS = 60_000;

/** Confirm of a deploy or rollback: the environment claimed, the guards once more, then the dispatch. */
async function confirm(
  deps: DeployDeps,
  actor: Actor,
  deployment: DeploymentRecord,
  now: number,
): Promise<PressOutcome> {
  const claim = `confirm:${deps.service.name}/${deployment.environment}`;
  const release = () => deps.store.releaseLease(claim, deployment.id).then(noop, noop);
  const env = findEnvironment(deps.config.environments, deployment.environment);
  const guard = !(await deps.store.tryLease(claim, deployment.id, CONFIRM_CLAIM_MS, now))
    ? {
        ok: false as const,
        reason: 'in_flight' as const,
        message: `Another Confirm for ${deployment.environment} went first. Wait for its deployment to finish, then ask again.`,
      }
    : env
      ? await recheckGuards(deps, env, deployment)
      : { ok: true as const };
  if (!guard.ok) {
    await release();
    await endRequest(deps, deployment.id, now, guard.message);
    await auditDeployment(deps, actor, deployment, `${deployment.action}_refused`, guard.reason);
    return refused(guard.reason, guard.message);
  }
  try {
    await auditDeployment(deps, actor, deployment, `${deployment.action}_confirmed`, 'confirmed');
  } catch (error) {
    // The Confirm is used up, but nothing happens unrecorded: the request ends, and says why.
    await release();
    await endRequest(deps, deployment.id, now, UNRECORDED_NOTE);
    throw error;
  }
  const dispatch = dispatchDeployment(deps, deployment.id);
  void dispatch.then(release, release);
  return { kind: 'confirmed', deployment, dispatch };
}

const noop = () => {};

async function endRequest(deps: DeployDeps, id: string, now: number, note: string): Promise<void> {
  const { changed } = await updateDeployment(deps.store, id, now, (current) =>
    current.state === 'requested'
      ? { state: 'cancelled', finishedAt: now, detail: { ...current.detail, note } }
      : null,
  );
  if (changed) deps.notify.changed(id);
}

async function dismiss(
  deps: DeployDeps,
  actor: Actor,
  deployment: DeploymentRecord,
  now: number,
): Promise<PressOutcome> {
  const { record } = await updateDeployment(deps.store, deployment.id, now, (current) =>
    current.state === 'requested' ? { state: 'cancelled', finishedAt: now } : null,
  );
  deps.notify.changed(record.id);
  await auditDeployment(deps, actor, deployment, `${deployment.action}_cancelled`, 'cancelled');
  return { kind: 'cancelled', deployment: record };
}
