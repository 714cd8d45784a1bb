import { buildDispatchInputs, type DispatchInputs } from './dispatch-inputs.ts';
import type { GitHubClient } from './github-client.ts';
import { GitHubError, mayHaveActed, toGitHubError } from './github-error.ts';
import type { RepoRef } from './resolve-ref.ts';
import type { FoundRun } from './run-lookups.ts';

export type DispatchOptions = {
  workflow: string;
  /** The branch whose workflow file runs: the repository's default branch (the dispatch contract). */
  ref: string;
  inputs: DispatchInputs;
};

/**
 * What one `workflow_dispatch` POST came to. Only `unanswered` leaves it open whether GitHub started
 * a run: look for it (by the request id in its run-name) before sending the POST again.
 */
export type DispatchAttempt =
  /** GitHub started the run and named it (`return_run_details`). */
  | { kind: 'created'; run: FoundRun }
  /** GitHub took the dispatch (204, a server that does not return run details); the run is listed soon. */
  | { kind: 'accepted' }
  /** GitHub certainly did not act (a 4xx that says so, a rate limit, a connection never made). */
  | { kind: 'refused'; error: GitHubError }
  /** A 5xx, a timeout or a connection cut after the request was sent: GitHub may have started the run. */
  | { kind: 'unanswered'; error: GitHubError };

/**
 * Sends one `workflow_dispatch` with `return_run_details: true`, never retried blindly (see
 * `mayRetryBlindly` in github-client.ts). GitHub Enterprise Server 3.20 and older refuse that key (422
 * "... is not a permitted key"): a refusal, so the dispatch is sent again without it. Never throws for
 * what GitHub answers; the caller decides what an unanswered dispatch means.
 * @throws {z.ZodError} when the inputs would be refused by the workflow (a bug, not GitHub's answer).
 */
export async function postDispatch(
  octokit: GitHubClient,
  repo: RepoRef,
  options: DispatchOptions,
): Promise<DispatchAttempt> {
  const inputs = buildDispatchInputs(options.inputs);
  const what = `workflow ${options.workflow}`;
  const workflow_id = /^\d+$/.test(options.workflow) ? Number(options.workflow) : options.workflow;
  const post = (details: boolean) =>
    octokit.rest.actions.createWorkflowDispatch({
      ...repo,
      workflow_id,
      ref: options.ref,
      inputs,
      ...(details ? { return_run_details: true } : {}),
      request: { retries: 0 },
    });
  const first = await attempt(() => post(true), what);
  if (
    first.kind === 'refused' &&
    first.error.reason === 'invalid' &&
    /return_run_details/.test(first.error.message)
  )
    return attempt(() => post(false), what);
  return first;
}

async function attempt(post: () => Promise<{ data: unknown }>, what: string): Promise<DispatchAttempt> {
  try {
    const response = await post();
    // Octokit's types know only the 204 of older servers; the 200 body is checked here at the boundary.
    const run = runDetails(response.data);
    return run ? { kind: 'created', run } : { kind: 'accepted' };
  } catch (error) {
    const failure = explainInputs(toGitHubError(error, what), what);
    return mayHaveActed(failure)
      ? { kind: 'unanswered', error: failure }
      : { kind: 'refused', error: failure };
  }
}

function explainInputs(failure: GitHubError, what: string): GitHubError {
  if (failure.reason === 'invalid' && /input/i.test(failure.message)) {
    return new GitHubError(
      failure.reason,
      failure.status,
      failure.message,
      `The ${what} on the default branch does not take the inputs the bot sends (${failure.message}). Update it from this project's deploy.yml.`,
    );
  }
  return failure;
}

function runDetails(data: unknown): FoundRun | null {
  if (typeof data !== 'object' || data === null || !('workflow_run_id' in data)) return null;
  const runId = data.workflow_run_id;
  if (typeof runId !== 'number') return null;
  const runUrl = 'html_url' in data && typeof data.html_url === 'string' ? data.html_url : null;
  return { runId, runUrl };
}
