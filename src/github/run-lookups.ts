import type { JobView } from '../core/deployment.ts';
import type { RunEvent } from '../core/run-events.ts';
import type { GitHubClient } from './github-client.ts';
import type { RepoRef } from './resolve-ref.ts';
import { failureTail } from './run-events-from-github.ts';

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
