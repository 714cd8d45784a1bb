import type { DeploymentRecord } from '../core/deployment.ts';
import type { EnvironmentSpec } from '../core/environment.ts';
import { hasRole } from '../core/roles.ts';
import { isAncestor } from '../github/compare-commits.ts';
import { GitHubError } from '../github/github-error.ts';
import { getCommit } from '../github/resolve-ref.ts';
import type { Confirmation } from '../store/store.ts';
import { type Actor, auditAs, type DeployDeps } from './deploy-deps.ts';
import { checkGuards, type GuardRefusal, splitOverride } from './deploy-guards.ts';
import { type DeployedCommit, listDeployedCommits } from './deployed-commits.ts';
import { clipArgument, environmentArgument } from './environment-argument.ts';
import { findInFlight } from './find-in-flight.ts';
import { recordRequest } from './record-request.ts';
import { commandTarget } from './service-deps.ts';

export type RollbackRefusal =
  | 'usage'
  | 'unknown_environment'
  | 'forbidden'
  | 'no_history'
  | 'in_flight'
  | 'github_error'
  | GuardRefusal;

export type RollbackOutcome =
  | { kind: 'refused'; reason: RollbackRefusal; message: string }
  /** Recorded (action `rollback`, pinned to the target SHA) and waiting for the requester's Confirm. */
  | {
      kind: 'confirm';
      deployment: DeploymentRecord;
      confirmation: Confirmation;
      current: DeployedCommit;
      target: DeployedCommit;
    };

export type RollbackRequest = {
  actor: Actor;
  chatId: number;
  environment: string | undefined;
  /** Words after the environment: only `--force <reason>` (override a lock) is meaningful. */
  rest: string | undefined;
};

/**
 * `/rollback <env>` (admin): proposes the last successful deployment before the current one, per
 * GitHub's Deployments API (a `success` among all of a deployment's statuses, not only its latest;
 * failed ones are skipped, and so are redeploys of the commit running now). Always asks to confirm;
 * Confirm dispatches with `action: rollback` like a deploy.
 */
export async function proposeRollback(deps: DeployDeps, request: RollbackRequest): Promise<RollbackOutcome> {
  const { actor } = request;
  if (!hasRole(actor.id, 'admin', deps.config.access)) {
    await auditAs(deps, actor, {
      action: 'rollback_denied',
      environment: request.environment ? clipArgument(request.environment) : null,
      outcome: 'forbidden',
    });
    return { kind: 'refused', reason: 'forbidden', message: 'Only admins can roll back.' };
  }
  const named = environmentArgument(deps.config, request.environment, 'Usage: /rollback <environment>.');
  if (!named.ok) return { kind: 'refused', reason: named.reason, message: named.message };
  const { env } = named;
  const { override } = splitOverride(request.rest);
  const guard = await checkGuards(deps, env, actor, override, { windows: false });
  if (!guard.ok) return { kind: 'refused', reason: guard.reason, message: guard.message };
  const running = await findInFlight(deps, env.name);
  if (running) {
    return {
      kind: 'refused',
      reason: 'in_flight',
      message: `A deployment to ${env.name} is ${running.state.replace('_', ' ')} (${running.sha.slice(0, 7)}). Wait for it to finish, or /cancel ${commandTarget(deps, env.name)}, then roll back.`,
    };
  }

  const found = await findRollbackTarget(deps, env);
  if (found.kind === 'refused') return found;
  const { current, target, commit, currentSubject } = found;

  const { deployment, confirmation } = await recordRequest(deps, {
    actor,
    chatId: request.chatId,
    environment: env.name,
    action: 'rollback',
    ref: target.sha,
    commit: {
      sha: target.sha,
      subject: commit?.subject ?? `deployment ${target.deploymentId} (commit details unavailable)`,
      author: commit?.author ?? target.creator,
    },
    // aheadBy unknown: a rollback goes back, "N commits over" would mislead.
    detail: {
      baseSha: current.sha,
      note: `Now running: ${current.sha.slice(0, 7)}${currentSubject ? ` "${currentSubject.slice(0, 80)}"` : ''}. Rolls back to ${target.sha.slice(0, 7)}, deployed successfully ${new Date(target.endedAt ?? target.createdAt).toISOString().slice(0, 16).replace('T', ' ')} UTC.`,
    },
    confirm: true,
    outcome: `awaiting_confirmation (from ${current.sha.slice(0, 7)})`,
    override: override === null ? null : { reason: override, used: guard.overridden.length > 0 },
  });
  if (!confirmation) throw new Error('a rollback always opens a confirmation');
  return { kind: 'confirm', deployment, confirmation, current, target };
}

type RollbackTarget = {
  kind: 'found';
  current: DeployedCommit;
  target: DeployedCommit;
  commit: { subject: string; author: string } | null;
  currentSubject: string | null;
};

/**
 * What runs now and the last successful deployment of another commit before it that the
 * environment's branch holds, with their subjects.
 */
async function findRollbackTarget(
  deps: DeployDeps,
  env: EnvironmentSpec,
): Promise<RollbackTarget | Extract<RollbackOutcome, { kind: 'refused' }>> {
  let current: DeployedCommit | undefined;
  let target: DeployedCommit | undefined;
  let commit: { subject: string; author: string } | null = null;
  let currentSubject: string | null = null;
  try {
    // Only deployments tied to the bot's own runs or to deploy.yml on the default branch count:
    // a writer's hand-made deployment must never become what a rollback goes back to.
    const successful = (
      await listDeployedCommits(deps, env.name, { limit: 10, successfulOnly: true })
    ).filter((d) => d.trusted);
    current = successful[0];
    for (const candidate of successful) {
      if (candidate.sha === current?.sha) continue;
      if (await isAncestor(deps.github, deps.repo, candidate.sha, env.branch)) {
        target = candidate;
        break;
      }
    }
    if (current && target) {
      // Context for the confirmation only: a commit GitHub cannot show does not stop a rollback.
      const [t, c] = await Promise.all([
        getCommit(deps.github, deps.repo, target.sha).catch(() => null),
        getCommit(deps.github, deps.repo, current.sha).catch(() => null),
      ]);
      commit = t;
      currentSubject = c?.subject ?? null;
    }
  } catch (error) {
    if (!(error instanceof GitHubError)) throw error;
    return { kind: 'refused', reason: 'github_error', message: error.userMessage };
  }
  if (!current || !target) {
    return {
      kind: 'refused',
      reason: 'no_history',
      message: current
        ? `${commandTarget(deps, env.name)} has no earlier successful deployment than the one running now (${current.sha.slice(0, 7)}) that the deploy workflow made on the default branch and ${env.branch} holds: nothing to roll back to.`
        : `${commandTarget(deps, env.name)} has no successful deployment on GitHub yet: nothing to roll back to.`,
    };
  }
  return { kind: 'found', current, target, commit, currentSubject };
}
