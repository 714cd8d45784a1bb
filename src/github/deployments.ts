import type { GitHubClient } from './github-client.ts';
import { toGitHubError } from './github-error.ts';
import type { RepoRef } from './resolve-ref.ts';

/** A deployment that succeeded in an environment, per GitHub's Deployments API. */
export type SuccessfulDeployment = {
  deploymentId: number;
  sha: string;
  ref: string;
  creator: string;
  createdAt: string;
  /** When its `success` status was posted. */
  succeededAt: string;
  environmentUrl: string | null;
};

const PAGE = 30;

/**
 * The successful deployments of an environment, newest first. "Successful" means a `success` among
 * all of its statuses, not only as the latest one: GitHub later adds `inactive` to deployments a newer
 * one superseded (DESIGN.md "What is deployed where"). Deployments made without the bot count too.
 * @throws {GitHubError}
 */
export async function listSuccessfulDeployments(
  octokit: GitHubClient,
  repo: RepoRef,
  environment: string,
  limit: number,
): Promise<SuccessfulDeployment[]> {
  try {
    const { data: deployments } = await octokit.rest.repos.listDeployments({
      ...repo,
      environment,
      per_page: PAGE,
    });
    const found: SuccessfulDeployment[] = [];
    for (const deployment of deployments) {
      if (found.length >= limit) break;
      const { data: statuses } = await octokit.rest.repos.listDeploymentStatuses({
        ...repo,
        deployment_id: deployment.id,
        per_page: 100,
      });
      const success = statuses.find((s) => s.state === 'success');
      if (!success) continue;
      found.push({
        deploymentId: deployment.id,
        sha: deployment.sha,
        ref: deployment.ref,
        creator: deployment.creator?.login ?? 'unknown',
        createdAt: deployment.created_at,
        succeededAt: success.created_at,
        environmentUrl:
          success.environment_url ?? statuses.find((s) => s.environment_url)?.environment_url ?? null,
      });
    }
    return found;
  } catch (error) {
    throw toGitHubError(error, `deployments of ${environment}`);
  }
}

/** The commit running in an environment now, or null for an environment never deployed. */
export async function currentDeployment(
  octokit: GitHubClient,
  repo: RepoRef,
  environment: string,
): Promise<SuccessfulDeployment | null> {
  const [latest] = await listSuccessfulDeployments(octokit, repo, environment, 1);
  return latest ?? null;
}

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
