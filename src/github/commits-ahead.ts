import type { GitHubClient } from './github-client.ts';
import { toGitHubError } from './github-error.ts';
import type { RepoRef } from './resolve-ref.ts';

/**
 * How many commits `head` adds over `base`; null when GitHub cannot compare them (unrelated
 * histories, a base that was force-pushed away): the confirmation then says so instead of failing.
 */
export async function commitsAhead(
  octokit: GitHubClient,
  repo: RepoRef,
  base: string,
  head: string,
): Promise<number | null> {
  try {
    const { data } = await octokit.rest.repos.compareCommitsWithBasehead({
      ...repo,
      basehead: `${base}...${head}`,
      per_page: 1,
    });
    return data.ahead_by;
  } catch (error) {
    const failure = toGitHubError(error, 'the comparison');
    if (failure.reason === 'not_found' || failure.reason === 'invalid') return null;
    throw failure;
  }
}
