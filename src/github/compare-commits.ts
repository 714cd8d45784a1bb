import type { GitHubClient } from './github-client.ts';
import { toGitHubError } from './github-error.ts';
import type { RepoRef } from './resolve-ref.ts';

/** What a deploy changes: the count, and the newest commits' subjects (newest first) for the confirmation. */
export type Comparison = { aheadBy: number; changes: string[] };

/** How many subjects the confirmation lists; the rest are counted. */
export const LISTED_CHANGES = 5;

/**
 * What `head` adds over `base`; null when GitHub cannot compare them (unrelated histories, a base
 * that was force-pushed away): the confirmation then says so instead of failing.
 * @throws {GitHubError} when GitHub fails otherwise.
 */
export async function compareCommits(
  octokit: GitHubClient,
  repo: RepoRef,
  base: string,
  head: string,
): Promise<Comparison | null> {
  try {
    const { data } = await octokit.rest.repos.compareCommitsWithBasehead({
      ...repo,
      basehead: `${base}...${head}`,
      per_page: 100,
    });
    // GitHub lists the commits oldest first; a long comparison is cut at 100 here, newest kept.
    const changes = data.commits
      .slice(-LISTED_CHANGES)
      .reverse()
      .map((c) => {
        const subject = c.commit.message.split('\n', 1)[0] ?? '';
        const author = c.commit.author?.name ?? c.author?.login;
        return author ? `${subject} — ${author}` : subject;
      });
    return { aheadBy: data.ahead_by, changes };
  } catch (error) {
    const failure = toGitHubError(error, 'the comparison');
    if (failure.reason === 'not_found' || failure.reason === 'invalid') return null;
    throw failure;
  }
}

/**
 * Whether `sha` is in the history of `branch` (an ancestor, or its head). A commit that only ever
 * lived on another branch is not: a rollback must never go to code the branch never held.
 * @throws {GitHubError} when GitHub fails; an unknown commit or branch is `false`.
 */
export async function isAncestor(
  octokit: GitHubClient,
  repo: RepoRef,
  sha: string,
  branch: string,
): Promise<boolean> {
  try {
    const { data } = await octokit.rest.repos.compareCommitsWithBasehead({
      ...repo,
      basehead: `${sha}...${branch}`,
      per_page: 1,
    });
    return data.status === 'ahead' || data.status === 'identical';
  } catch (error) {
    const failure = toGitHubError(error, 'the comparison');
    if (failure.reason === 'not_found' || failure.reason === 'invalid') return false;
    throw failure;
  }
}
