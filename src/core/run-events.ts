import type { JobView } from './deployment.ts';

/**
 * What GitHub tells about a run, normalised from webhooks or from polling (both produce the same
 * events, so a deployment followed either way ends in the same state).
 */
export type RunEvent =
  | {
      type: 'run';
      runId: number;
      runUrl: string | null;
      status: string;
      conclusion: string | null;
      /** When GitHub last changed the run (ms); used for the duration when the run completes. */
      updatedAt: number | null;
    }
  | { type: 'job'; job: JobView }
  | { type: 'approval'; reviewers: string[]; url: string | null }
  | { type: 'environment_url'; url: string }
  | { type: 'failure_log'; job: string; step: string | null; logTail: string[] };
