import type { DeploymentDetail, DeploymentRecord } from '../core/deployment.ts';
import type { EnvironmentSpec } from '../core/environment.ts';
import { checkRef } from '../core/ref.ts';
import { allowedRefKinds, describeRefRules } from '../core/ref-policy.ts';
import { hasRole } from '../core/roles.ts';
import { compareCommits } from '../github/compare-commits.ts';
import { GitHubError } from '../github/github-error.ts';
import { resolveRef } from '../github/resolve-ref.ts';
import type { Confirmation } from '../store/store.ts';
import { type Actor, auditAs, type DeployDeps } from './deploy-deps.ts';
import { checkGuards, type GuardRefusal, splitOverride } from './deploy-guards.ts';
import { listDeployedCommits } from './deployed-commits.ts';
import { type DispatchOutcome, dispatchDeployment } from './dispatch-deployment.ts';
import { environmentArgument } from './environment-argument.ts';
import { findInFlight } from './find-in-flight.ts';
import { recordRequest } from './record-request.ts';
import { commandTarget } from './service-deps.ts';

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
    return {
      kind: 'refused',
      reason: 'forbidden',
      message: `You may not deploy to ${commandTarget(deps, env.name)}.`,
    };
  }
  const { rest: givenRef, override } = splitOverride(request.ref);
  const guard = await checkGuards(deps, env, actor, override, { windows: true });
  if (!guard.ok) return { kind: 'refused', reason: guard.reason, message: guard.message };
  const refusal = await checkTarget(deps, env, givenRef ?? env.branch);
  if ('reason' in refusal) return refusal;
  const { commit } = refusal;

  const running = await findInFlight(deps, env.name);
  if (running) {
    return {
      kind: 'refused',
      reason: 'in_flight',
      message: `A deployment to ${commandTarget(deps, env.name)} is already ${running.state.replace('_', ' ')} (${running.sha.slice(0, 7)}). Wait for it to finish, or /cancel ${commandTarget(deps, env.name)}.`,
    };
  }

  const { deployment, confirmation } = await recordRequest(deps, {
    actor,
    chatId: request.chatId,
    environment: env.name,
    action: 'deploy',
    ref: givenRef ?? env.branch,
    commit,
    detail: await compareWithRunning(deps, env.name, commit.sha),
    confirm: env.confirm,
    outcome: env.confirm ? 'awaiting_confirmation' : 'accepted',
    override: override === null ? null : { reason: override, used: guard.overridden.length > 0 },
  });
  if (confirmation) return { kind: 'confirm', deployment, confirmation };
  return { kind: 'dispatching', deployment, dispatch: dispatchDeployment(deps, deployment.id) };
}

/**
 * What runs in the environment now, and what the deploy adds over it: context for the
 * confirmation, not a precondition (unknown when GitHub cannot say).
 */
async function compareWithRunning(
  deps: DeployDeps,
  environment: string,
  sha: string,
): Promise<Pick<DeploymentDetail, 'baseSha' | 'aheadBy' | 'changes'>> {
  try {
    // The commit really deployed, not the run's own (deploy.yml runs from the default branch).
    const [current] = await listDeployedCommits(deps, environment, { limit: 1, successfulOnly: true });
    // An untrusted deployment (made by hand through the API) says nothing reliable about what runs.
    if (!current?.trusted) return { baseSha: null, aheadBy: null, changes: [] };
    if (current.sha === sha) return { baseSha: current.sha, aheadBy: 0, changes: [] };
    const comparison = await compareCommits(deps.github, deps.repo, current.sha, sha);
    return { baseSha: current.sha, aheadBy: comparison?.aheadBy ?? null, changes: comparison?.changes ?? [] };
  } catch (error) {
    if (!(error instanceof GitHubError)) throw error;
    return { baseSha: null, aheadBy: null, changes: [] };
  }
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
      message: `${commandTarget(deps, env.name)} accepts only ${describeRefRules(env.refs)}; not "${checked.ref}".`,
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
