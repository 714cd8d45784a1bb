import type { Service } from '../core/service.ts';
import type { GitHubClient } from './github-client.ts';
import { toGitHubError } from './github-error.ts';
import type { RepoRef } from './resolve-ref.ts';

/** GitHub's answer to the bot at start: reachable with these credentials, or why not. */
export type AccessCheck = { ok: true } | { ok: false; fatal: boolean; problem: string };

/**
 * Whether GitHub answers with these credentials, by asking for the repository once. Bad credentials, no access or no such repository are fatal:
 * waiting would not help. A rate limit, a 5xx or the network is worth trying again.
 */
export async function checkGitHubAccess(octokit: GitHubClient, repo: RepoRef): Promise<AccessCheck> {
  try {
    // Once: the service tries again itself, with its own waits.
    await octokit.rest.repos.get({ ...repo, request: { retries: 0 } });
    return { ok: true };
  } catch (error) {
    const failure = toGitHubError(error, 'the repository in GITHUB_REPOSITORY');
    const fatal =
      failure.reason === 'bad_credentials' ||
      failure.reason === 'forbidden' ||
      failure.reason === 'not_found';
    return { ok: false, fatal, problem: fatal ? failure.userMessage : failure.message };
  }
}

/** {@link checkGitHubAccess} for every service's repository, in turn: the first failure, else ok. */
export async function checkServicesAccess(
  services: readonly Service[],
  clientOf: (service: Service) => GitHubClient,
): Promise<AccessCheck> {
  for (const service of services) {
    const check = await checkGitHubAccess(clientOf(service), service.repository);
    if (!check.ok) return check;
  }
  return { ok: true };
}
