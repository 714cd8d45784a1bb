import type { JobView, StepView } from '../core/deployment.ts';
import type { RunEvent } from '../core/run-events.ts';

/** The fields of a workflow run the bot reads (webhook `workflow_run` and REST share them). */
export type GitHubRun = {
  id: number;
  html_url: string;
  status: string | null;
  conclusion: string | null;
  updated_at: string;
  display_title?: string | null;
  path?: string;
  workflow_id?: number;
  head_sha?: string;
  head_branch?: string | null;
  event?: string;
  actor?: { login: string } | null;
  triggering_actor?: { login: string } | null;
};

/** The fields of a workflow job the bot reads (webhook `workflow_job` and REST share them). */
export type GitHubJob = {
  id: number;
  run_id: number;
  name: string;
  status: string;
  conclusion: string | null;
  started_at: string | null;
  completed_at: string | null;
  html_url: string | null;
  steps?: Array<{ name: string; status: string; conclusion: string | null; number: number }>;
};

const JOB_STATUSES: readonly JobView['status'][] = [
  'queued',
  'waiting',
  'in_progress',
  'completed',
  'pending',
  'requested',
];
const STEP_STATUSES: readonly StepView['status'][] = ['queued', 'in_progress', 'completed', 'pending'];

/** A run report as an event. */
export function runEvent(run: GitHubRun): RunEvent {
  return {
    type: 'run',
    runId: run.id,
    runUrl: run.html_url,
    status: run.status ?? 'queued',
    conclusion: run.conclusion,
    updatedAt: time(run.updated_at),
  };
}

/** A job report as an event; unknown statuses (GitHub adds some now and then) count as queued. */
export function jobEvent(job: GitHubJob): RunEvent {
  const status = JOB_STATUSES.find((s) => s === job.status) ?? 'queued';
  return {
    type: 'job',
    job: {
      id: job.id,
      name: job.name,
      status,
      conclusion: job.conclusion,
      startedAt: time(job.started_at),
      completedAt: status === 'completed' ? time(job.completed_at) : null,
      url: job.html_url,
      steps: (job.steps ?? []).map((s) => ({
        number: s.number,
        name: s.name,
        status: STEP_STATUSES.find((x) => x === s.status) ?? 'queued',
        conclusion: s.conclusion,
      })),
    },
  };
}

function time(iso: string | null | undefined): number | null {
  if (!iso) return null;
  const ms = Date.parse(iso);
  return Number.isNaN(ms) ? null : ms;
}

/**
 * The last lines of a job log that explain the failure: up to the first `##[error]` line (the
 * failed step's end), timestamps stripped; the log's last lines when there is no error marker.
 */
export function failureTail(log: string, lines = 15): string[] {
  const all = log
    .split(/\r?\n/)
    .map((l) => l.replace(/^\d{4}-\d\d-\d\dT[\d:.]+Z\s?/, '').replace(/^##\[(group|endgroup)\]/, ''))
    .filter((l) => l.trim() !== '');
  const errorAt = all.findIndex((l) => l.startsWith('##[error]'));
  const end = errorAt === -1 ? all.length : errorAt + 1;
  return all.slice(Math.max(0, end - lines), end).map((l) => l.replace(/^##\[error\]/, 'Error: '));
}
