import { decodeCallback, isReviewAction, runIdOfReviewId } from '../core/callback-data.ts';
import type { DeploymentRecord } from '../core/deployment.ts';
import { approvalRuleOf, findEnvironment } from '../core/environment.ts';
import { rolesOf } from '../core/roles.ts';
import type { LinkedAccount } from '../store/store.ts';
import { auditAs, auditDeployment, type DeployDeps } from './deploy-deps.ts';
import { accountsContext, RELINK_TEXT } from './linked-accounts.ts';
import type { CheckedPress, ReviewOutcome, ReviewPress, ReviewRefusal } from './review-types.ts';
import { actingForService, noLongerConfigured } from './service-deps.ts';
import { castReview } from './submit-review.ts';

export type { ReviewDecision, ReviewOutcome, ReviewPress, ReviewRefusal } from './review-types.ts';

const refused = (reason: ReviewRefusal, message: string): ReviewOutcome => ({
  kind: 'refused',
  reason,
  message,
});

/**
 * A press of Approve or Reject on a run waiting for its environment's reviewers. GitHub stays the
 * judge: the review is submitted with the presser's own linked GitHub token, so GitHub applies its
 * rules (required reviewers, prevent self-review, …) and records that person as the reviewer.
 *
 * Re-checked at every press, like Confirm: the HMAC tag, that the button sits on the run's own
 * message, the presser's role now, that the run still waits, `approval.not_requester`, that the
 * presser has a linked account. Then one vote per (run, Telegram user) and per (run, GitHub login) is
 * claimed atomically, so a double tap or a replay acts once; a vote GitHub refuses is taken back.
 * With `approval.min_reviewers` above 1, approvals are counted in Telegram (each checked against
 * GitHub's `current_user_can_approve`) and the one that completes the count is submitted.
 */
export async function approveRun(base: DeployDeps, press: ReviewPress): Promise<ReviewOutcome> {
  const found = await findRun(base, press);
  if ('kind' in found) return found;
  const { decision, deployment, runId } = found;
  // The run is on the deployment's service's repository; its roles and environments apply.
  const deps = actingForService(base, deployment.service);
  if (!deps) return refused('not_configured', noLongerConfigured(deployment.service));
  const verb = decision === 'approved' ? 'approve' : 'reject';
  const refuse = async (reason: ReviewRefusal, message: string) => {
    await auditDeployment(deps, press.actor, deployment, `${verb}_refused`, reason);
    return refused(reason, message);
  };
  const ctx = accountsContext(deps);
  if (!ctx) {
    return refuse(
      'not_configured',
      'Approving from Telegram is not set up on this bot: review the run on GitHub.',
    );
  }
  if (rolesOf(press.actor.id, deps.config.access).length === 0) {
    return refuse('forbidden', `Not authorised. Your Telegram id is ${press.actor.id}.`);
  }
  const recorded = deployment.detail.review?.recorded;
  if (deployment.state !== 'waiting_approval' || deployment.finishedAt !== null || recorded) {
    const said = recorded ? ` GitHub recorded: ${recorded.state} by ${recorded.login}.` : '';
    return refuse('not_waiting', `This run is no longer waiting for approval.${said}`);
  }
  const rule = approvalRuleOf(findEnvironment(deps.config.environments, deployment.environment));
  const ownRequest =
    decision === 'approved' && rule.notRequester && press.actor.id === deployment.requesterId;
  if (ownRequest) {
    return refuse(
      'requester',
      `You requested this deployment; ${deployment.environment} needs another reviewer to approve it (four eyes).`,
    );
  }
  const account = await deps.store.getLinkedAccount(press.actor.id);
  if (!account) return refuse('not_linked', `Link your GitHub account first. ${RELINK_TEXT}`);
  if (decision === 'approved' && rule.notRequester && (await sameGitHubAccount(deps, deployment, account))) {
    return refuse(
      'requester',
      `Your GitHub account ${account.githubLogin} is also the requester's; ${deployment.environment} needs another reviewer (four eyes).`,
    );
  }
  const checked: CheckedPress = { decision, deployment, runId, account, minReviewers: rule.minReviewers };
  const outcome = await castReview(ctx, press.actor, checked);
  if (outcome.kind === 'refused')
    await auditDeployment(deps, press.actor, deployment, `${verb}_refused`, outcome.reason);
  return outcome;
}

/** The run a genuine review button names, on its own message. */
async function findRun(
  deps: DeployDeps,
  press: ReviewPress,
): Promise<Pick<CheckedPress, 'decision' | 'deployment' | 'runId'> | ReviewOutcome> {
  const decoded = decodeCallback(press.key, press.data);
  const runId = decoded.ok && isReviewAction(decoded.action) ? runIdOfReviewId(decoded.id) : null;
  if (!decoded.ok || runId === null) {
    await auditAs(deps, press.actor, { action: 'button_refused', outcome: 'forged' });
    return refused('forged', 'This button is not valid.');
  }
  const deployment = await deps.store.findDeploymentByRunId(runId);
  if (!deployment) return refused('unknown', 'This run is not followed here any more.');
  const otherMessage =
    press.messageId !== null && deployment.messageId !== null && deployment.messageId !== press.messageId;
  if (deployment.chatId !== press.chatId || otherMessage) {
    await auditDeployment(deps, press.actor, deployment, 'button_refused', 'wrong_message');
    return refused('wrong_message', 'This button does not belong here.');
  }
  return { decision: decoded.action === 'approve' ? 'approved' : 'rejected', deployment, runId };
}

/** Whether the presser's GitHub account is the one the requester linked (one person, two Telegram users). */
async function sameGitHubAccount(
  deps: DeployDeps,
  deployment: DeploymentRecord,
  account: LinkedAccount,
): Promise<boolean> {
  if (deployment.requesterId === null) return false;
  const requester = await deps.store.getLinkedAccount(deployment.requesterId);
  return requester !== null && requester.githubLogin.toLowerCase() === account.githubLogin.toLowerCase();
}
