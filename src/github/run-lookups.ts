import type { JobView } from '../core/deployment.ts';
import type { RunEvent } from '../core/run-events.ts';
import { requestIdFromTitle } from './dispatch-inputs.ts';
import type { GitHubClient } from './github-client.ts';
import { toGitHubError } from './github-error.ts';
import type { RepoRef } from './resolve-ref.ts';
import { failureTail, jobEvent, runEvent } from './run-events-from-github.ts';

/**
 * Who must approve a run waiting for an environment's reviewers, with the link to review it.
 * Null when nothing waits (or GitHub does not say): the message then shows no reviewers.
 */
export async function fetchApproval(
  octokit: GitHubClient,
  repo: RepoRef,
  runId: number,
  runUrl: string | null,
): Promise<RunEvent | null> {
  try {
    const { data } = await octokit.rest.actions.getPendingDeploymentsForRun({ ...repo, run_id: runId });
    if (data.length === 0) return null;
    const reviewers = data.flatMap((p) =>
      (p.reviewers ?? []).map((r) => {
        const reviewer = r.reviewer as { login?: string; name?: string; slug?: string } | undefined;
        return reviewer?.login ?? reviewer?.slug ?? reviewer?.name ?? 'reviewer';
      }),
    );
    return { type: 'approval', reviewers: [...new Set(reviewers)], url: runUrl };
  } catch {
    return null;
  }
}

/** The failed job's log tail (GitHub answers the log request with a redirect to the file). */
export async function fetchFailureLog(
  octokit: GitHubClient,
  repo: RepoRef,
  jobs: readonly JobView[],
): Promise<RunEvent | null> {
  const failed = jobs.find((j) => j.status === 'completed' && j.conclusion === 'failure');
  if (!failed) return null;
  const step = failed.steps.find((s) => s.conclusion === 'failure')?.name ?? null;
  try {
    const response = await octokit.rest.actions.downloadJobLogsForWorkflowRun({ ...repo, job_id: failed.id });
    const text = typeof response.data === 'string' ? response.data : String(response.data ?? '');
    return { type: 'failure_log', job: failed.name, step, logTail: failureTail(text) };
  } catch {
    return { type: 'failure_log', job: failed.name, step, logTail: [] };
  }
}

/**
 * Everything GitHub knows now about a run, as events: the run, its latest jobs and, while it waits,
 * who must approve it. Reconciliation applies these exactly as if the webhooks had arrived.
 * @throws {GitHubError} when GitHub cannot be asked.
 */
export async function fetchRunEvents(
  octokit: GitHubClient,
  repo: RepoRef,
  runId: number,
): Promise<RunEvent[]> {
  try {
    const { data: run } = await octokit.rest.actions.getWorkflowRun({ ...repo, run_id: runId });
    const { data: jobs } = await octokit.rest.actions.listJobsForWorkflowRun({
      ...repo,
      run_id: runId,
      filter: 'latest',
      per_page: 100,
    });
    const events: RunEvent[] = [...jobs.jobs.map((j) => jobEvent(j)), runEvent(run)];
    if (run.status === 'waiting' || jobs.jobs.some((j) => j.status === 'waiting')) {
      const approval = await fetchApproval(octokit, repo, runId, run.html_url);
      if (approval) events.push(approval);
    }
    return events;
  } catch (error) {
    throw toGitHubError(error, `run ${runId}`);
  }
}

/** A run of the deploy workflow, as the bot tracks it. */
export type FoundRun = { runId: number; runUrl: string | null };

/**
 * The newest dispatched run of the deploy workflow whose title carries `[requestId]` (deploy.yml's
 * run-name), or null when none does (yet: GitHub lists a dispatched run a few seconds late). With
 * `defaultBranch`, only a run on that branch counts: a copy of deploy.yml pushed on another branch
 * cannot pose as the request's run.
 * @throws {GitHubError} when GitHub cannot be asked.
 */
export async function findRunByRequest(
  octokit: GitHubClient,
  repo: RepoRef,
  workflow: string | number,
  requestId: string,
  defaultBranch?: string,
): Promise<FoundRun | null> {
  const runs = await findRunsByRequest(octokit, repo, workflow, requestId, defaultBranch);
  return runs.at(-1) ?? null;
}

/**
 * Every recent dispatched run of the deploy workflow whose title carries `[requestId]` (on
 * `defaultBranch` when given), oldest first. More than one means a dispatch was carried out twice.
 * @throws {GitHubError} when GitHub cannot be asked.
 */
export async function findRunsByRequest(
  octokit: GitHubClient,
  repo: RepoRef,
  workflow: string | number,
  requestId: string,
  defaultBranch?: string,
): Promise<FoundRun[]> {
  try {
    const { data } = await octokit.rest.actions.listWorkflowRuns({
      ...repo,
      workflow_id: typeof workflow === 'string' && /^\d+$/.test(workflow) ? Number(workflow) : workflow,
      event: 'workflow_dispatch',
      per_page: 30,
    });
    return data.workflow_runs
      .filter((r) => requestIdFromTitle(r.display_title) === requestId)
      .filter((r) => defaultBranch === undefined || r.head_branch === defaultBranch)
      .sort((a, b) => a.id - b.id)
      .map((r) => ({ runId: r.id, runUrl: r.html_url }));
  } catch (error) {
    throw toGitHubError(error, `the runs of ${workflow}`);
  }
}

/**
 * A run's status as the cancel path needs it: still going, or completed with which conclusion.
 * @throws {GitHubError} when GitHub cannot be asked.
 */
export async function fetchRunStatus(
  octokit: GitHubClient,
  repo: RepoRef,
  runId: number,
): Promise<{ completed: boolean; conclusion: string | null }> {
  try {
    const { data } = await octokit.rest.actions.getWorkflowRun({ ...repo, run_id: runId });
    return { completed: data.status === 'completed', conclusion: data.conclusion ?? null };
  } catch (error) {
    throw toGitHubError(error, `run ${runId}`);
  }
}
