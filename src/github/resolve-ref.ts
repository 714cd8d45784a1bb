import type { RefKinds } from '../core/ref-policy.ts';
import type { GitHubClient } from './github-client.ts';
import { GitHubError, toGitHubError } from './github-error.ts';

export type RepoRef = { owner: string; repo: string };

/** A commit as the confirmation shows it. */
export type ResolvedCommit = {
  sha: string;
  subject: string;
  author: string;
  url: string;
  kind: 'branch' | 'tag' | 'sha';
};

export type ResolveResult =
  | { ok: true; commit: ResolvedCommit }
  | { ok: false; reason: 'not_found'; message: string };

/**
 * Resolves a user's ref to a full commit SHA, trying only the kinds the environment allows
 * (branch first, then tag, then SHA) so `refs/heads/x` and `refs/tags/x` cannot be confused.
 * @throws {GitHubError} when GitHub fails in a way other than "no such ref".
 */
export async function resolveRef(
  octokit: GitHubClient,
  repo: RepoRef,
  ref: string,
  kinds: RefKinds,
): Promise<ResolveResult> {
  const candidates: Array<{ kind: ResolvedCommit['kind']; commitish: string }> = [];
  if (kinds.branch) candidates.push({ kind: 'branch', commitish: `heads/${ref}` });
  if (kinds.tag) candidates.push({ kind: 'tag', commitish: `tags/${ref}` });
  if (kinds.sha) candidates.push({ kind: 'sha', commitish: ref });
  for (const candidate of candidates) {
    const commit = await getCommit(octokit, repo, candidate.commitish, ref);
    if (commit) return { ok: true, commit: { ...commit, kind: candidate.kind } };
  }
  const what = [kinds.branch && 'branch', kinds.tag && 'tag', kinds.sha && 'commit']
    .filter(Boolean)
    .join(' or ');
  return { ok: false, reason: 'not_found', message: `No ${what} "${ref}" in ${repo.owner}/${repo.repo}.` };
}

/** One commit, or null when GitHub says there is no such ref (404 or "No commit found" 422). */
export async function getCommit(
  octokit: GitHubClient,
  repo: RepoRef,
  commitish: string,
  shown = commitish,
): Promise<Omit<ResolvedCommit, 'kind'> | null> {
  try {
    const { data } = await octokit.rest.repos.getCommit({ ...repo, ref: commitish });
    const message = data.commit.message ?? '';
    return {
      sha: data.sha,
      subject: message.split('\n', 1)[0] ?? '',
      author: data.commit.author?.name ?? data.author?.login ?? 'unknown',
      url: data.html_url,
    };
  } catch (error) {
    const failure = toGitHubError(error, `ref ${shown}`);
    if (failure.reason === 'not_found') return null;
    if (failure.reason === 'invalid' && /no commit found/i.test(failure.message)) return null;
    throw failure;
  }
}

export { GitHubError };
