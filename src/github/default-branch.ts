import type { GitHubClient } from './github-client.ts';
import type { RepoRef } from './resolve-ref.ts';

/**
 * The repository's default branch, asked once and then remembered (the deploy workflow is
 * dispatched on it). A failed lookup is not remembered: the next call asks again.
 * @returns a function that resolves to the branch name and rejects with Octokit's error.
 */
export function cachedDefaultBranch(octokit: GitHubClient, repo: RepoRef): () => Promise<string> {
  let branch: Promise<string> | null = null;
  return () => {
    branch ??= octokit.rest.repos.get(repo).then(
      (r) => r.data.default_branch,
      (error) => {
        branch = null;
        throw error;
      },
    );
    return branch;
  };
}
