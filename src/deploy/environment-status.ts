import type { DeploymentRecord } from '../core/deployment.ts';
import type { EnvironmentSpec } from '../core/environment.ts';
import { hasRole } from '../core/roles.ts';
import { toGitHubError } from '../github/github-error.ts';
import { getCommit } from '../github/resolve-ref.ts';
import type { EnvironmentLock } from '../store/store.ts';
import type { Actor, DeployDeps } from './deploy-deps.ts';
import { type DeployedCommit, listDeployedCommits } from './deployed-commits.ts';
import { findInFlight } from './find-in-flight.ts';
import { type HealthProbe, probeHealth } from './probe-health.ts';

/** What runs in an environment now, per GitHub's Deployments API (so deploys made without the bot count). */
export type CurrentDeployment = {
  sha: string;
  subject: string | null;
  /** When its `success` status was posted (ISO 8601). */
  at: string;
  /** The Telegram requester when the bot's records match the deployment, else GitHub's creator. */
  by: string;
  source: 'telegram' | 'github';
};

export type EnvironmentStatus = {
  name: string;
  /** null: never deployed; undefined is not used. */
  current: CurrentDeployment | null;
  /** Why GitHub could not tell what runs (the rest of the status still shows). */
  currentError: string | null;
  /** null when the environment has no health URL. */
  health: HealthProbe | null;
  inFlight: DeploymentRecord | null;
  lock: EnvironmentLock | null;
};

export type StatusOutcome =
  | { kind: 'refused'; reason: 'forbidden'; message: string }
  | { kind: 'status'; environments: EnvironmentStatus[]; now: number };

/**
 * `/status` (staging role): every environment at once, in parallel, each part failing on its own.
 * The health probe has a short time limit, so a hanging health URL costs about 1.5 s, not the answer.
 */
export async function environmentStatus(deps: DeployDeps, actor: Actor): Promise<StatusOutcome> {
  if (!hasRole(actor.id, 'staging', deps.config.access))
    return { kind: 'refused', reason: 'forbidden', message: 'You may not see the status.' };
  const environments = await Promise.all(deps.config.environments.map((env) => statusOf(deps, env)));
  return { kind: 'status', environments, now: deps.now() };
}

async function statusOf(deps: DeployDeps, env: EnvironmentSpec): Promise<EnvironmentStatus> {
  const probe = deps.probeHealth ?? ((url: string) => probeHealth(url));
  const [deployed, health, inFlight, lock] = await Promise.all([
    withDeadline(deployedNow(deps, env.name), GITHUB_DEADLINE_MS, {
      current: null,
      currentError: 'GitHub did not answer in time',
    }),
    env.healthUrl
      ? probe(env.healthUrl).then((result) => {
          deps.observe.health(env.name, result.up, deps.service.name);
          return result;
        })
      : Promise.resolve(null),
    findInFlight(deps, env.name),
    deps.store.getLock(env.name, deps.now(), deps.service.name),
  ]);
  return { name: env.name, ...deployed, health, inFlight: inFlight ?? null, lock };
}

/** /status waits this long for GitHub; a slow GitHub makes one line "unknown", not the answer late. */
const GITHUB_DEADLINE_MS = 4000;

function withDeadline<T>(work: Promise<T>, ms: number, fallback: T): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<T>((resolve) => {
    timer = setTimeout(() => resolve(fallback), ms);
  });
  return Promise.race([work, late]).finally(() => clearTimeout(timer));
}

/** Why /status will not name the commit of an untrusted deployment. */
export function untrustedWhy(deployment: DeployedCommit): string {
  return `the latest deployment (by ${deployment.creator}) was not made by the deploy workflow on the default branch`;
}

async function deployedNow(
  deps: DeployDeps,
  environment: string,
): Promise<{ current: CurrentDeployment | null; currentError: string | null }> {
  try {
    const [latest] = await listDeployedCommits(deps, environment, { limit: 1, successfulOnly: true });
    if (!latest) return { current: null, currentError: null };
    // Someone with write access can create deployments by hand: say "unknown" rather than believe one.
    if (!latest.trusted) return { current: null, currentError: untrustedWhy(latest) };
    const commit = await getCommit(deps.github, deps.repo, latest.sha).catch(() => null);
    const ours = latest.record;
    return {
      current: {
        sha: latest.sha,
        subject: commit?.subject ?? ours?.subject ?? null,
        at: new Date(latest.endedAt ?? latest.createdAt).toISOString(),
        by: ours ? ours.requesterName : latest.creator,
        source: ours ? 'telegram' : 'github',
      },
      currentError: null,
    };
  } catch (error) {
    return { current: null, currentError: toGitHubError(error, `deployments of ${environment}`).userMessage };
  }
}
