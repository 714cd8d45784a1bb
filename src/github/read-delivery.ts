import type { RunEvent } from '../core/run-events.ts';
import type { RepoRef } from './resolve-ref.ts';
import { type GitHubRun, jobEvent, runEvent } from './run-events-from-github.ts';
import {
  deploymentStatusPayload,
  repositoryPayload,
  workflowJobPayload,
  workflowRunPayload,
} from './webhook-payloads.ts';

/** A webhook delivery whose signature was verified: its `X-GitHub-Delivery`, `X-GitHub-Event` and body. */
export type Delivery = { id: string; name: string; payload: unknown };

/** What a delivery says, in the bot's terms. Deliveries the bot has no use for are `ignored`. */
export type DeliveryNews =
  /** A workflow run changed; `run` carries what following an unknown run needs. */
  | { kind: 'run'; run: GitHubRun; events: RunEvent[] }
  /** A job of a run changed; `waiting` when it waits for the environment's reviewers. */
  | { kind: 'job'; runId: number; waiting: boolean; events: RunEvent[] }
  /** A deployment status named the environment's URL. */
  | { kind: 'deployment_status'; runId: number; events: RunEvent[] }
  | { kind: 'ignored' };

/**
 * The repository a delivery is about (`repository.full_name`), or null when it names none: the cheap
 * first look, before anything is stored, since an organisation-wide webhook sends every repository's
 * events and only the services' repositories are handled.
 */
export function repositoryOf(delivery: Delivery): RepoRef | null {
  const parsed = repositoryPayload.safeParse(delivery.payload);
  if (!parsed.success) return null;
  const [owner = '', repo = ''] = parsed.data.repository.full_name.split('/');
  return owner && repo ? { owner, repo } : null;
}

/** The `X-GitHub-Event`s {@link readDelivery} reads; any other is `ignored` whatever its payload. */
export const READ_EVENTS: ReadonlySet<string> = new Set([
  'workflow_run',
  'workflow_job',
  'deployment_status',
]);

/**
 * Turns a `workflow_run`, `workflow_job` or `deployment_status` payload into run events. A payload
 * missing what the bot needs is ignored, never half-applied. Pure.
 */
export function readDelivery(delivery: Delivery): DeliveryNews {
  if (delivery.name === 'workflow_run') {
    const parsed = workflowRunPayload.safeParse(delivery.payload);
    if (!parsed.success) return { kind: 'ignored' };
    const run = parsed.data.workflow_run;
    return { kind: 'run', run, events: [runEvent(run)] };
  }
  if (delivery.name === 'workflow_job') {
    const parsed = workflowJobPayload.safeParse(delivery.payload);
    if (!parsed.success) return { kind: 'ignored' };
    const job = parsed.data.workflow_job;
    return { kind: 'job', runId: job.run_id, waiting: job.status === 'waiting', events: [jobEvent(job)] };
  }
  if (delivery.name === 'deployment_status') {
    const parsed = deploymentStatusPayload.safeParse(delivery.payload);
    if (!parsed.success || !parsed.data.workflow_run) return { kind: 'ignored' };
    const url = parsed.data.deployment_status.environment_url;
    return {
      kind: 'deployment_status',
      runId: parsed.data.workflow_run.id,
      events: url && /^https?:\/\//.test(url) ? [{ type: 'environment_url', url }] : [],
    };
  }
  return { kind: 'ignored' };
}

/** Whether a run is of the deploy workflow: `DEPLOY_WORKFLOW` is a file name or a numeric id. */
export function isRunOfWorkflow(run: Pick<GitHubRun, 'workflow_id' | 'path'>, workflow: string): boolean {
  if (/^\d+$/.test(workflow)) return run.workflow_id === Number(workflow);
  return typeof run.path === 'string' && run.path.split('@')[0]?.endsWith(`/${workflow}`) === true;
}
