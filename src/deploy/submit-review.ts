import type { DeploymentRecord, ReviewView } from '../core/deployment.ts';
import { GitHubError, mayHaveActed } from '../github/github-error.ts';
import {
  fetchPendingEnvironments,
  fetchRecordedReview,
  type PendingEnvironment,
  submitReview,
} from '../github/user-reviews.ts';
import { type Actor, auditDeployment } from './deploy-deps.ts';
import { type AccountsContext, asLinkedUser } from './linked-accounts.ts';
import type { CheckedPress, ReviewOutcome, ReviewRefusal } from './review-types.ts';
import { updateDeployment } from './update-deployment.ts';

/** A submission older than this (ms) is taken to have died with its process. */
const SUBMISSION_STALE_MS = 60_000;

const refused = (reason: ReviewRefusal, message: string): ReviewOutcome => ({
  kind: 'refused',
  reason,
  message,
});

/**
 * Claims the presser's vote, then either counts it (an approval short of `min_reviewers`, checked
 * against GitHub's `current_user_can_approve`) or submits the review to GitHub with the presser's
 * token. Any refusal takes the vote back, so nothing changes.
 */
export async function castReview(
  ctx: AccountsContext,
  actor: Actor,
  press: CheckedPress,
): Promise<ReviewOutcome> {
  const { store, now } = ctx.deps;
  const claimed = await store.claimReviewVote({
    runId: press.runId,
    telegramUserId: actor.id,
    githubLogin: press.account.githubLogin,
    decision: press.decision,
    createdAt: now(),
  });
  if (!claimed.ok) {
    const { existing } = claimed;
    const what = existing.decision === 'approved' ? 'approved' : 'rejected';
    return refused(
      'already_voted',
      existing.telegramUserId === actor.id
        ? `You already ${what} this run.`
        : `GitHub account ${existing.githubLogin} already ${what} this run.`,
    );
  }
  let outcome: ReviewOutcome;
  try {
    outcome = await reviewWithVote(ctx, actor, press);
  } catch (error) {
    await store.releaseReviewVote(press.runId, actor.id);
    throw error;
  }
  if (outcome.kind === 'refused') await store.releaseReviewVote(press.runId, actor.id);
  return outcome;
}

async function reviewWithVote(
  ctx: AccountsContext,
  actor: Actor,
  press: CheckedPress,
): Promise<ReviewOutcome> {
  const { deployment, runId } = press;
  const pending = await asGitHub(ctx, press, (client) =>
    fetchPendingEnvironments(client, ctx.deps.repo, runId),
  );
  if (pending.kind === 'refused') return pending;
  const environment =
    pending.value.find((e) => e.name === deployment.environment) ??
    (pending.value.length === 1 ? pending.value[0] : undefined);
  if (!environment) return refused('not_waiting', 'This run is no longer waiting for approval.');
  if (press.decision === 'approved') {
    const votes = await ctx.deps.store.listReviewVotes(runId);
    const approvals = votes.filter((v) => v.decision === 'approved').map((v) => v.githubLogin);
    if (approvals.length < press.minReviewers)
      return countApproval(ctx, actor, press, environment, approvals);
  }
  return submit(ctx, actor, press, environment);
}

/** An approval short of the count: GitHub must say this user could approve; then it is shown. */
async function countApproval(
  ctx: AccountsContext,
  actor: Actor,
  press: CheckedPress,
  environment: PendingEnvironment,
  approvals: string[],
): Promise<ReviewOutcome> {
  const login = press.account.githubLogin;
  if (!environment.canApprove) {
    return refused(
      'not_reviewer',
      `GitHub says ${login} cannot approve deployments to ${environment.name} (not a required reviewer, or self-review is prevented).`,
    );
  }
  const have = approvals.length;
  const need = press.minReviewers;
  await auditDeployment(
    ctx.deps,
    actor,
    press.deployment,
    'approve_vote',
    `counted:${login}:${have}/${need}`,
  );
  const deployment = await setReview(ctx, press.deployment, (review) => ({
    ...review,
    approvals,
    required: need,
  }));
  return { kind: 'counted', deployment, login, have, need };
}

/** Submits the review with the presser's token, then reads who GitHub recorded. */
async function submit(
  ctx: AccountsContext,
  actor: Actor,
  press: CheckedPress,
  environment: PendingEnvironment,
): Promise<ReviewOutcome> {
  const { deps } = ctx;
  const verb = press.decision === 'approved' ? 'approve' : 'reject';
  const login = press.account.githubLogin;
  if (!(await claimSubmission(ctx, press.deployment))) {
    return refused(
      'busy',
      'Another review of this run is being sent to GitHub right now; look at the message in a moment.',
    );
  }
  try {
    await auditDeployment(deps, actor, press.deployment, `${verb}_submit`, `as:${login}`);
    const votes = await deps.store.listReviewVotes(press.runId);
    const approvals = votes.filter((v) => v.decision === 'approved').map((v) => v.githubLogin);
    const comment = reviewComment(actor, press, approvals);
    const sent = await asGitHub(ctx, press, (client) =>
      submitReview(client, deps.repo, {
        runId: press.runId,
        environmentIds: [environment.id],
        state: press.decision,
        comment,
      }),
    );
    if (sent.kind === 'refused') {
      await setReview(ctx, press.deployment, (review) => ({ ...review, submittingSince: null }));
      return sent;
    }
    const recorded = (await fetchRecordedReview(deps.github, deps.repo, press.runId, environment.name).catch(
      () => null,
    )) ?? { state: press.decision, login };
    await auditDeployment(deps, actor, press.deployment, press.decision, `recorded:${recorded.login}`);
    const deployment = await setReview(ctx, press.deployment, (review) => ({
      ...review,
      approvals: press.decision === 'approved' ? approvals : review.approvals,
      recorded,
      submittingSince: null,
    }));
    return { kind: 'submitted', deployment, decision: recorded.state, login: recorded.login };
  } catch (error) {
    await setReview(ctx, press.deployment, (review) => ({ ...review, submittingSince: null })).catch(
      () => {},
    );
    throw error;
  }
}

/** What GitHub shows beside the review: who pressed in Telegram, and who else approved there. */
function reviewComment(actor: Actor, press: CheckedPress, approvals: string[]): string {
  const verb = press.decision === 'approved' ? 'Approved' : 'Rejected';
  const others = approvals.filter((l) => l.toLowerCase() !== press.account.githubLogin.toLowerCase());
  const count =
    press.decision === 'approved' && press.minReviewers > 1
      ? ` Approvals in Telegram (${approvals.length} of ${press.minReviewers} required): ${[...others, press.account.githubLogin].join(', ')}.`
      : '';
  return `${verb} in Telegram by ${actor.name.slice(0, 100)} (Telegram user ${actor.id}) via telegram-deploy-bot.${count}`;
}

/** Takes the run's one submission slot (compare-and-set on the record): two presses never both submit. */
async function claimSubmission(ctx: AccountsContext, deployment: DeploymentRecord): Promise<boolean> {
  const now = ctx.deps.now();
  let claimed = false;
  await updateDeployment(ctx.deps.store, deployment.id, now, (current) => {
    const review = current.detail.review;
    const busy = review?.submittingSince != null && now - review.submittingSince < SUBMISSION_STALE_MS;
    if (busy || review?.recorded) return null;
    claimed = true;
    return {
      detail: { ...current.detail, review: { ...emptyReview(current), ...review, submittingSince: now } },
    };
  });
  return claimed;
}

function emptyReview(record: DeploymentRecord): ReviewView {
  return { approvals: [], required: 1, recorded: null, submittingSince: null, ...record.detail.review };
}

/** Changes the record's review view and tells the chat. */
async function setReview(
  ctx: AccountsContext,
  deployment: DeploymentRecord,
  change: (review: ReviewView) => ReviewView,
): Promise<DeploymentRecord> {
  const { record, changed } = await updateDeployment(
    ctx.deps.store,
    deployment.id,
    ctx.deps.now(),
    (current) => ({
      detail: { ...current.detail, review: change(emptyReview(current)) },
    }),
  );
  if (changed) ctx.deps.notify.changed(record.id);
  return record;
}

/** A call as the presser, with GitHub's refusals turned into outcomes the chat can show. */
async function asGitHub<T>(
  ctx: AccountsContext,
  press: CheckedPress,
  call: Parameters<typeof asLinkedUser<T>>[2],
): Promise<{ kind: 'ok'; value: T } | Extract<ReviewOutcome, { kind: 'refused' }>> {
  try {
    const result = await asLinkedUser(ctx, press.account, call);
    if (!result.ok) return { kind: 'refused', reason: result.reason, message: result.message };
    // A refresh spent the old refresh token: the next call must use the new link.
    press.account = result.account;
    return { kind: 'ok', value: result.value };
  } catch (error) {
    if (!(error instanceof GitHubError)) throw error;
    if (error.reason === 'invalid' || error.reason === 'forbidden' || error.reason === 'not_found') {
      return { kind: 'refused', reason: 'github_refused', message: `GitHub refused: ${error.message}` };
    }
    const checkFirst = mayHaveActed(error)
      ? ' It may have been recorded: check the run on GitHub before pressing again.'
      : '';
    return { kind: 'refused', reason: 'github_unavailable', message: `${error.userMessage}${checkFirst}` };
  }
}
