import { Octokit } from '@octokit/rest';
import { toGitHubError } from './github-error.ts';
import type { RepoRef } from './resolve-ref.ts';

/**
 * GitHub calls made as a linked reviewer, with their own user access token: who they are, what a
 * run waits for (and whether they may approve it), and the review itself. GitHub judges every
 * review (required reviewers, prevent self-review, the environment's other rules) and records the
 * reviewer; the bot never approves with its own credentials.
 */

/** A plain Octokit for one user's token: no retries (a review is a POST), a time limit per request. */
export type UserClient = InstanceType<typeof Octokit>;

/** An environment the run waits for, as the reviewer sees it. */
export type PendingEnvironment = {
  id: number;
  name: string;
  /** GitHub's `current_user_can_approve` for the token's owner. */
  canApprove: boolean;
};

/** What GitHub's review log says about an environment of a run: the newest decision and its reviewer. */
export type RecordedReview = { state: 'approved' | 'rejected'; login: string };

const quiet = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };

/** A client acting as the owner of `token` against `apiUrl` (GITHUB_API_URL). */
export function createUserClient(apiUrl: string, token: string, timeoutMs = 10_000): UserClient {
  return new Octokit({ auth: token, ...clientOptions(apiUrl, timeoutMs) });
}

/** Octokit options for GitHub on behalf of a user (or nobody): quiet, with a time limit per request. */
function clientOptions(apiUrl: string, timeoutMs: number) {
  return {
    baseUrl: apiUrl,
    userAgent: 'telegram-deploy-bot',
    log: quiet,
    request: {
      fetch: (url: string | URL | Request, init?: RequestInit) =>
        fetch(url, { ...init, signal: init?.signal ?? AbortSignal.timeout(timeoutMs) }),
    },
  };
}

/**
 * The token's owner: login and numeric id (`GET /user`).
 * @throws {GitHubError} (`bad_credentials` for a token GitHub does not accept).
 */
export async function fetchViewer(client: UserClient): Promise<{ login: string; id: number }> {
  try {
    const { data } = await client.rest.users.getAuthenticated();
    return { login: data.login, id: data.id };
  } catch (error) {
    throw toGitHubError(error, 'your GitHub account');
  }
}

/**
 * The environments a run waits for (`GET …/pending_deployments`), with whether this user may approve.
 * Empty when the run no longer waits.
 * @throws {GitHubError}
 */
export async function fetchPendingEnvironments(
  client: UserClient,
  repo: RepoRef,
  runId: number,
): Promise<PendingEnvironment[]> {
  try {
    const { data } = await client.rest.actions.getPendingDeploymentsForRun({ ...repo, run_id: runId });
    return data.flatMap((p) =>
      typeof p.environment.id === 'number'
        ? [{ id: p.environment.id, name: p.environment.name ?? '', canApprove: p.current_user_can_approve }]
        : [],
    );
  } catch (error) {
    throw toGitHubError(error, `run ${runId}`);
  }
}

/**
 * Approves or rejects the run's waiting deployments to these environments
 * (`POST …/pending_deployments`). GitHub refuses with 422 (not a required reviewer, self-review
 * prevented, nothing waiting) or 401 (token expired or revoked); the error carries GitHub's words.
 * @throws {GitHubError}
 */
export async function submitReview(
  client: UserClient,
  repo: RepoRef,
  review: { runId: number; environmentIds: number[]; state: 'approved' | 'rejected'; comment: string },
): Promise<void> {
  try {
    await client.rest.actions.reviewPendingDeploymentsForRun({
      ...repo,
      run_id: review.runId,
      environment_ids: review.environmentIds,
      state: review.state,
      comment: review.comment,
    });
  } catch (error) {
    throw toGitHubError(error, `run ${review.runId}`);
  }
}

/**
 * The newest approval or rejection GitHub recorded for the run's `environment`
 * (`GET …/approvals`, the review log): who GitHub names as the reviewer. Null when it records none.
 * @throws {GitHubError}
 */
export async function fetchRecordedReview(
  client: Pick<UserClient, 'rest'>,
  repo: RepoRef,
  runId: number,
  environment: string,
): Promise<RecordedReview | null> {
  try {
    const { data } = await client.rest.actions.getReviewsForRun({ ...repo, run_id: runId });
    const reviews = data.filter(
      (r) => r.state !== 'pending' && r.environments.some((e) => e.name === environment),
    );
    const newest = reviews.at(-1);
    if (!newest || newest.state === 'pending') return null;
    return { state: newest.state, login: newest.user.login };
  } catch (error) {
    throw toGitHubError(error, `the reviews of run ${runId}`);
  }
}

/**
 * Revokes a user's tokens with GitHub's credential revocation API (`POST /credentials/revoke`, which
 * takes no credentials: it exists to revoke tokens found exposed; GitHub tells their owner). Revoking
 * through `DELETE /applications/{client_id}/token` needs the app's client secret, which the device
 * flow never gives the bot. False when the server refused or does not offer the endpoint (GitHub
 * Enterprise Server): the caller then only forgets the tokens.
 */
export async function revokeTokens(apiUrl: string, tokens: string[], timeoutMs = 10_000): Promise<boolean> {
  if (tokens.length === 0) return true;
  // Unauthenticated on purpose: GitHub answers an authenticated request to this endpoint with 403.
  const anonymous = new Octokit(clientOptions(apiUrl, timeoutMs));
  try {
    await anonymous.rest.credentials.revoke({ credentials: tokens });
    return true;
  } catch {
    return false;
  }
}
