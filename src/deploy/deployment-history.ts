import type { DeploymentRecord } from '../core/deployment.ts';
import { isFinal } from '../core/deployment-state.ts';
import { hasRole } from '../core/roles.ts';
import { GitHubError, toGitHubError } from '../github/github-error.ts';
import { type Actor, type DeployDeps, findEnvironment } from './deploy-deps.ts';

export const DEFAULT_HISTORY = 10;
export const MAX_HISTORY = 50;

/** One past deployment. */
export type HistoryEntry = {
  sha: string;
  /** The commit subject where the bot knows it (its own records); null for deploys made elsewhere. */
  subject: string | null;
  /** What was deployed as GitHub recorded it (branch, tag or SHA). */
  ref: string;
  /** The Telegram requester where the bot's record matches, else GitHub's creator. */
  by: string;
  outcome: string;
  durationMs: number | null;
  /** When it started (epoch ms). */
  at: number;
  /** `github`: GitHub's Deployments API only; `github+telegram`: matched with the bot's record; `telegram`: a bot run that never reached GitHub's deploy job. */
  source: 'github' | 'github+telegram' | 'telegram';
  action: 'deploy' | 'rollback' | null;
};

export type HistoryOutcome =
  | {
      kind: 'refused';
      reason: 'usage' | 'unknown_environment' | 'forbidden' | 'github_error';
      message: string;
    }
  | { kind: 'history'; environment: string; entries: HistoryEntry[] };

type GitHubDeployment = { id: number; sha: string; ref: string; creator: string; createdAt: number };

/**
 * `/history <env> [n]` (staging role): the last n deployments (default 10, at most 50) from GitHub's
 * Deployments API, merged with the bot's own records where they match (same SHA, dispatched before
 * GitHub created the deployment): those say who asked in Telegram and the run's duration. Bot runs
 * that ended before the deploy job (a failed build, a cancel) have no GitHub deployment and are
 * listed from the bot's records.
 */
export async function deploymentHistory(
  deps: DeployDeps,
  request: { actor: Actor; words: string[] },
): Promise<HistoryOutcome> {
  const { actor } = request;
  if (!hasRole(actor.id, 'staging', deps.config.access))
    return { kind: 'refused', reason: 'forbidden', message: 'You may not see the history.' };
  const [name, countWord, ...extra] = request.words;
  const usage = `Usage: /history <environment> [n], n from 1 to ${MAX_HISTORY} (default ${DEFAULT_HISTORY}).`;
  if (!name || extra.length > 0) return { kind: 'refused', reason: 'usage', message: usage };
  const env = findEnvironment(deps.config, name);
  if (!env) {
    const names = deps.config.environments.map((e) => e.name).join(', ');
    return {
      kind: 'refused',
      reason: 'unknown_environment',
      message: `There is no environment "${name.slice(0, 40)}". Environments: ${names}.`,
    };
  }
  let count = DEFAULT_HISTORY;
  if (countWord !== undefined) {
    if (!/^\d{1,3}$/.test(countWord) || Number(countWord) < 1)
      return { kind: 'refused', reason: 'usage', message: usage };
    count = Math.min(Number(countWord), MAX_HISTORY);
  }
  try {
    const [fromGitHub, ours] = await Promise.all([
      listDeployments(deps, env.name, count),
      deps.store.listDeployments({ environment: env.name, limit: 200 }),
    ]);
    return { kind: 'history', environment: env.name, entries: merge(fromGitHub, ours, count) };
  } catch (error) {
    if (error instanceof GitHubError)
      return { kind: 'refused', reason: 'github_error', message: error.userMessage };
    throw error;
  }
}

type WithStatuses = GitHubDeployment & { outcome: string; endedAt: number | null };

async function listDeployments(
  deps: DeployDeps,
  environment: string,
  count: number,
): Promise<WithStatuses[]> {
  try {
    const { data } = await deps.github.rest.repos.listDeployments({
      ...deps.repo,
      environment,
      per_page: count,
    });
    const deployments = data.slice(0, count);
    const result: WithStatuses[] = [];
    // A few at a time: up to 50 status requests must not trip GitHub's secondary rate limit.
    for (let i = 0; i < deployments.length; i += 8) {
      const batch = deployments.slice(i, i + 8);
      result.push(
        ...(await Promise.all(
          batch.map(async (d) => {
            const { data: statuses } = await deps.github.rest.repos.listDeploymentStatuses({
              ...deps.repo,
              deployment_id: d.id,
              per_page: 100,
            });
            return {
              id: d.id,
              sha: d.sha,
              ref: d.ref,
              creator: d.creator?.login ?? 'unknown',
              createdAt: Date.parse(d.created_at),
              ...outcomeOf(statuses),
            };
          }),
        )),
      );
    }
    return result;
  } catch (error) {
    throw toGitHubError(error, `deployments of ${environment}`);
  }
}

/**
 * A deployment's outcome from all of its statuses (newest first, as GitHub lists them): a `success`
 * anywhere means it succeeded, even when a later `inactive` says a newer one replaced it.
 */
function outcomeOf(statuses: Array<{ state: string; created_at: string }>): {
  outcome: string;
  endedAt: number | null;
} {
  const success = statuses.find((s) => s.state === 'success');
  if (success) return { outcome: 'succeeded', endedAt: Date.parse(success.created_at) };
  const failed = statuses.find((s) => s.state === 'failure' || s.state === 'error');
  if (failed)
    return { outcome: failed.state === 'error' ? 'error' : 'failed', endedAt: Date.parse(failed.created_at) };
  const latest = statuses[0]?.state;
  if (latest === 'inactive') return { outcome: 'inactive', endedAt: null };
  return { outcome: latest ? latest.replace('_', ' ') : 'pending', endedAt: null };
}

function merge(fromGitHub: WithStatuses[], ours: DeploymentRecord[], count: number): HistoryEntry[] {
  const used = new Set<string>();
  const entries: HistoryEntry[] = fromGitHub.map((d) => {
    // The bot's record for the same commit dispatched most recently before GitHub created the deployment.
    const match = ours
      .filter(
        (r) =>
          !used.has(r.id) &&
          r.sha === d.sha &&
          r.dispatchedAt !== null &&
          r.dispatchedAt <= d.createdAt + 60_000,
      )
      .sort((a, b) => (b.dispatchedAt ?? 0) - (a.dispatchedAt ?? 0))[0];
    if (match) used.add(match.id);
    const botDuration =
      match?.finishedAt != null && match.dispatchedAt !== null ? match.finishedAt - match.dispatchedAt : null;
    return {
      sha: d.sha,
      subject: match?.subject ?? null,
      ref: match?.ref ?? d.ref,
      by: match ? match.requesterName : d.creator,
      // The bot knows more than GitHub about how a run ended (rolled back, cancelled).
      outcome: match && isFinal(match.state) ? match.state.replace('_', ' ') : d.outcome,
      durationMs: botDuration ?? (d.endedAt !== null ? d.endedAt - d.createdAt : null),
      at: match?.dispatchedAt ?? d.createdAt,
      source: match ? 'github+telegram' : 'github',
      action: match?.action ?? null,
    };
  });
  const oldest = fromGitHub.length >= count ? Math.min(...fromGitHub.map((d) => d.createdAt)) : 0;
  for (const r of ours) {
    if (used.has(r.id) || r.dispatchedAt === null || r.finishedAt === null || r.dispatchedAt < oldest)
      continue;
    entries.push({
      sha: r.sha,
      subject: r.subject,
      ref: r.ref,
      by: r.requesterName,
      outcome: r.state.replace('_', ' '),
      durationMs: r.finishedAt - r.dispatchedAt,
      at: r.dispatchedAt,
      source: 'telegram',
      action: r.action,
    });
  }
  return entries.sort((a, b) => b.at - a.at).slice(0, count);
}
