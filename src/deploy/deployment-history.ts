import type { DeploymentRecord } from '../core/deployment.ts';
import { isFinal } from '../core/deployment-state.ts';
import { hasRole } from '../core/roles.ts';
import { GitHubError } from '../github/github-error.ts';
import type { Actor, DeployDeps } from './deploy-deps.ts';
import { type DeployedCommit, listDeployedCommits } from './deployed-commits.ts';
import { environmentArgument } from './environment-argument.ts';

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
  /** False for a deployment not tied to the bot's runs or to deploy.yml on the default branch. */
  trusted: boolean;
};

export type HistoryOutcome =
  | {
      kind: 'refused';
      reason: 'usage' | 'unknown_environment' | 'forbidden' | 'github_error';
      message: string;
    }
  | { kind: 'history'; environment: string; entries: HistoryEntry[] };

/**
 * `/history <env> [n]` (staging role): the last n deployments (default 10, at most 50) from GitHub's
 * Deployments API, merged with the bot's own records where they match (the same Actions run): those
 * say who asked in Telegram, the commit deployed and the run's duration. Bot runs
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
  if (extra.length > 0) return { kind: 'refused', reason: 'usage', message: usage };
  const named = environmentArgument(deps.config, name, usage);
  if (!named.ok) return { kind: 'refused', reason: named.reason, message: named.message };
  const { env } = named;
  let count = DEFAULT_HISTORY;
  if (countWord !== undefined) {
    // Out of range is refused, not clamped: the user asked for something the answer would not be.
    if (!/^\d{1,3}$/.test(countWord) || Number(countWord) < 1 || Number(countWord) > MAX_HISTORY)
      return { kind: 'refused', reason: 'usage', message: usage };
    count = Number(countWord);
  }
  try {
    const [fromGitHub, ours] = await Promise.all([
      listDeployedCommits(deps, env.name, { limit: count }),
      deps.store.listDeployments({ service: deps.service.name, environment: env.name, limit: 200 }),
    ]);
    return { kind: 'history', environment: env.name, entries: merge(fromGitHub, ours, count) };
  } catch (error) {
    if (error instanceof GitHubError)
      return { kind: 'refused', reason: 'github_error', message: error.userMessage };
    throw error;
  }
}

function merge(fromGitHub: DeployedCommit[], ours: DeploymentRecord[], count: number): HistoryEntry[] {
  const used = new Set<string>();
  const entries: HistoryEntry[] = fromGitHub.map((d) => {
    const match = d.record;
    if (match) used.add(match.id);
    const botDuration =
      match && match.finishedAt !== null && match.dispatchedAt !== null
        ? match.finishedAt - match.dispatchedAt
        : null;
    return {
      sha: d.sha,
      subject: match?.subject ?? null,
      ref: d.ref,
      by: match ? match.requesterName : d.creator,
      // The bot knows more than GitHub about how a run ended (rolled back, cancelled).
      outcome: match && isFinal(match.state) ? match.state.replace('_', ' ') : d.outcome,
      durationMs: botDuration ?? (d.endedAt !== null ? d.endedAt - d.createdAt : null),
      at: match?.dispatchedAt ?? d.createdAt,
      source: match ? 'github+telegram' : 'github',
      action: match?.action ?? null,
      trusted: d.trusted,
    };
  });
  const oldest = fromGitHub.length >= count ? Math.min(...fromGitHub.map((d) => d.createdAt)) : 0;
  for (const r of ours) {
    if (used.has(r.id) || r.dispatchedAt === null || r.finishedAt === null || r.dispatchedAt < oldest)
      continue;
    // A finished run the bot dispatched that GitHub has no deployment for: it ended before the deploy job.
    if (fromGitHub.some((d) => d.runId !== null && d.runId === r.runId)) continue;
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
      trusted: true,
    });
  }
  return entries.sort((a, b) => b.at - a.at).slice(0, count);
}
