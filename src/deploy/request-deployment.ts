import { type DeploymentRecord, emptyDetail } from '../core/deployment.ts';
import type { EnvironmentSpec } from '../core/environment.ts';
import { checkRef } from '../core/ref.ts';
import { allowedRefKinds, describeRefRules } from '../core/ref-policy.ts';
import { hasRole } from '../core/roles.ts';
import { compareCommits } from '../github/compare-commits.ts';
import { GitHubError } from '../github/github-error.ts';
import { resolveRef } from '../github/resolve-ref.ts';
import type { Confirmation } from '../store/store.ts';
import { type Actor, auditAs, type DeployDeps } from './deploy-deps.ts';
import { auditOverride, checkGuards, type GuardRefusal, splitOverride } from './deploy-guards.ts';
import { listDeployedCommits } from './deployed-commits.ts';
import { type DispatchOutcome, dispatchDeployment } from './dispatch-deployment.ts';
import { environmentArgument } from './environment-argument.ts';
import { openConfirmation } from './open-confirmation.ts';

/** Why a /deploy was refused: stable codes (tests and the audit use them), with a sentence for the chat. */
export type RequestRefusal =
  | 'usage'
  | 'unknown_environment'
  | 'forbidden'
  | 'bad_ref'
  | 'ref_not_allowed'
  | 'ref_not_found'
  | 'in_flight'
  | 'github_error'
  | GuardRefusal;

export type RequestOutcome =
  | { kind: 'refused'; reason: RequestRefusal; message: string }
  /** Recorded and waiting for the requester's Confirm. */
  | { kind: 'confirm'; deployment: DeploymentRecord; confirmation: Confirmation }
  /** Recorded; the environment asks for no confirmation, so its dispatch has started. */
  | { kind: 'dispatching'; deployment: DeploymentRecord; dispatch: Promise<DispatchOutcome> };

export type DeployRequest = {
  actor: Actor;
  chatId: number;
  environment: string | undefined;
  /** The words after the environment: a ref, then optionally `--force <reason>` (an admin's override). */
  ref: string | undefined;
};

/**
 * `/deploy <env> [ref]`: checks the role, the ref and the environment, resolves the ref to a pinned
 * SHA on GitHub, compares it with what the environment runs now, and records the request. A lock or
 * a closed deployment window refuses it unless an admin overrides with a reason (`deploy-guards.ts`).
 * Where the environment asks for no confirmation, the dispatch starts at once. Expected refusals
 * are values; only surprises throw.
 */
export async function requestDeployment(deps: DeployDeps, request: DeployRequest): Promise<RequestOutcome> {
  const { config, actor } = { config: deps.config, actor: request.actor };
  const named = environmentArgument(config, request.environment, 'Usage: /deploy <environment> [ref].');
  if (!named.ok) return { kind: 'refused', reason: named.reason, message: named.message };
  const { env } = named;
  if (!hasRole(actor.id, env.role, config.access)) {
    await auditAs(deps, actor, { action: 'deploy_denied', environment: env.name, outcome: 'forbidden' });
    return { kind: 'refused', reason: 'forbidden', message: `You may not deploy to ${env.name}.` };
  }
  const { rest: givenRef, override } = splitOverride(request.ref);
  const guard = await checkGuards(deps, env, actor, override, { windows: true });
  if (!guard.ok) return { kind: 'refused', reason: guard.reason, message: guard.message };
  const refusal = await checkTarget(deps, env, givenRef ?? env.branch);
  if ('reason' in refusal) return refusal;
  const { commit } = refusal;

  const inFlight = await deps.store.listDeployments({ environment: env.name, unfinished: true, limit: 20 });
  const running = inFlight.find((d) => d.state !== 'requested' && d.state !== 'confirmed');
  if (running) {
    return {
      kind: 'refused',
      reason: 'in_flight',
      message: `A deployment to ${env.name} is already ${running.state.replace('_', ' ')} (${running.sha.slice(0, 7)}). Wait for it to finish, or /cancel ${env.name}.`,
    };
  }

  let baseSha: string | null = null;
  let aheadBy: number | null = null;
  let changes: string[] = [];
  try {
    // The commit really deployed, not the run's own (deploy.yml runs from the default branch).
    const [current] = await listDeployedCommits(deps, env.name, { limit: 1, successfulOnly: true });
    baseSha = current?.sha ?? null;
    if (current && current.sha === commit.sha) aheadBy = 0;
    else if (current) {
      const comparison = await compareCommits(deps.github, deps.repo, current.sha, commit.sha);
      aheadBy = comparison?.aheadBy ?? null;
      changes = comparison?.changes ?? [];
    }
  } catch (error) {
    if (!(error instanceof GitHubError)) throw error;
    // What runs now is context, not a precondition: the confirmation says it is unknown.
  }

  const now = deps.now();
  const confirmationId = env.confirm ? deps.newConfirmationId() : null;
  const confirmBy = env.confirm ? now + deps.confirmTtlMs : null;
  const deployment = await deps.store.insertDeployment({
    id: deps.newRequestId(),
    environment: env.name,
    action: 'deploy',
    ref: givenRef ?? env.branch,
    sha: commit.sha,
    subject: commit.subject,
    author: commit.author,
    requesterId: actor.id,
    requesterName: actor.name,
    chatId: request.chatId,
    messageId: null,
    state: 'requested',
    runId: null,
    runUrl: null,
    detail: { ...emptyDetail(), baseSha, aheadBy, changes, confirmationId, confirmBy },
    createdAt: now,
    dispatchedAt: null,
    finishedAt: null,
  });
  await auditAs(deps, actor, {
    action: 'deploy_requested',
    environment: env.name,
    sha: commit.sha,
    request_id: deployment.id,
    outcome: env.confirm ? 'awaiting_confirmation' : 'accepted',
  });
  if (override && guard.overridden.length > 0) await auditOverride(deps, actor, deployment, override);
  if (!confirmationId) {
    deps.notify.changed(deployment.id);
    return { kind: 'dispatching', deployment, dispatch: dispatchDeployment(deps, deployment.id) };
  }
  const confirmation = await openConfirmation(deps, {
    id: confirmationId,
    ...(confirmBy === null ? {} : { expiresAt: confirmBy }),
    kind: 'deploy',
    deploymentId: deployment.id,
    actor,
    chatId: request.chatId,
  });
  deps.notify.changed(deployment.id);
  return { kind: 'confirm', deployment, confirmation };
}

type Target = { commit: { sha: string; subject: string; author: string } };

async function checkTarget(
  deps: DeployDeps,
  env: EnvironmentSpec,
  rawRef: string,
): Promise<Target | { kind: 'refused'; reason: RequestRefusal; message: string }> {
  const checked = checkRef(rawRef);
  if (!checked.ok) return { kind: 'refused', reason: 'bad_ref', message: checked.message };
  const kinds = allowedRefKinds(env.refs, checked.ref, checked.kind === 'sha');
  if (!kinds.branch && !kinds.tag && !kinds.sha) {
    return {
      kind: 'refused',
      reason: 'ref_not_allowed',
      message: `${env.name} accepts only ${describeRefRules(env.refs)}; not "${checked.ref}".`,
    };
  }
  try {
    const resolved = await resolveRef(deps.github, deps.repo, checked.ref, kinds);
    if (!resolved.ok) return { kind: 'refused', reason: 'ref_not_found', message: resolved.message };
    return { commit: resolved.commit };
  } catch (error) {
    if (error instanceof GitHubError)
      return { kind: 'refused', reason: 'github_error', message: error.userMessage };
    throw error;
  }
}
