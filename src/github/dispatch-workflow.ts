import { buildDispatchInputs, type DispatchInputs } from './dispatch-inputs.ts';
import type { GitHubClient } from './github-client.ts';
import { GitHubError, toGitHubError } from './github-error.ts';
import type { RepoRef } from './resolve-ref.ts';
import { findRunByRequest } from './run-lookups.ts';

export type DispatchedRun = { runId: number | null; runUrl: string | null };

export type DispatchOptions = {
  workflow: string;
  /** The branch whose workflow file runs: the repository's default branch (the dispatch contract). */
  ref: string;
  inputs: DispatchInputs;
  /** How long to look for the run by its name when the server cannot return it. */
  findRunAttempts?: number;
  sleep?: (ms: number) => Promise<void>;
};

const sleepFor = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Dispatches the deploy workflow with `return_run_details: true`. GitHub Enterprise Server 3.20 and
 * older refuse that key (422 "... is not a permitted key"); then it dispatches without it and finds
 * the run by the `[request_id]` in its run-name. A run not found yet is not an error: the return path
 * matches it by name when its first webhook or poll arrives.
 * @throws {GitHubError} when GitHub refuses the dispatch (a message the user can act on).
 */
export async function dispatchWorkflow(
  octokit: GitHubClient,
  repo: RepoRef,
  options: DispatchOptions,
): Promise<DispatchedRun> {
  const inputs = buildDispatchInputs(options.inputs);
  const what = `workflow ${options.workflow}`;
  const workflow_id = /^\d+$/.test(options.workflow) ? Number(options.workflow) : options.workflow;
  try {
    const response = await octokit.rest.actions.createWorkflowDispatch({
      ...repo,
      workflow_id,
      ref: options.ref,
      inputs,
      return_run_details: true,
    });
    // Octokit's types know only the 204 of older servers; the 200 body is checked here at the boundary.
    const details = runDetails(response.data);
    if (details) return details;
    // 204: a server that ignores the field; look the run up like GHES.
  } catch (error) {
    const failure = toGitHubError(error, what);
    if (!(failure.reason === 'invalid' && /return_run_details/.test(failure.message)))
      throw explainInputs(failure, what);
    try {
      await octokit.rest.actions.createWorkflowDispatch({ ...repo, workflow_id, ref: options.ref, inputs });
    } catch (retryError) {
      throw explainInputs(toGitHubError(retryError, what), what);
    }
  }
  return findRunByRequestId(octokit, repo, workflow_id, inputs.request_id, options);
}

async function findRunByRequestId(
  octokit: GitHubClient,
  repo: RepoRef,
  workflow_id: string | number,
  requestId: string,
  options: DispatchOptions,
): Promise<DispatchedRun> {
  const attempts = options.findRunAttempts ?? 5;
  const sleep = options.sleep ?? sleepFor;
  for (let attempt = 0; attempt < attempts; attempt++) {
    if (attempt > 0) await sleep(1000 * attempt);
    try {
      const run = await findRunByRequest(octokit, repo, workflow_id, requestId);
      if (run) return run;
    } catch {
      // The dispatch went through; finding the run is best effort (reconciliation matches it later).
    }
  }
  return { runId: null, runUrl: null };
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

function runDetails(data: unknown): DispatchedRun | null {
  if (typeof data !== 'object' || data === null || !('workflow_run_id' in data)) return null;
  const runId = data.workflow_run_id;
  if (typeof runId !== 'number') return null;
  const htmlUrl = 'html_url' in data && typeof data.html_url === 'string' ? data.html_url : null;
  return { runId, runUrl: htmlUrl };
}
