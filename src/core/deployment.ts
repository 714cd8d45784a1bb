import type { DeploymentState } from './deployment-state.ts';

/** What the bot asks the pipeline to do. */
export type DeployAction = 'deploy' | 'rollback';

/** A job of the run, as the live message shows it. */
export type JobView = {
  id: number;
  name: string;
  status: 'queued' | 'waiting' | 'in_progress' | 'completed' | 'pending' | 'requested';
  conclusion: string | null;
  startedAt: number | null;
  completedAt: number | null;
  steps: StepView[];
  url: string | null;
};

export type StepView = {
  number: number;
  name: string;
  status: 'queued' | 'in_progress' | 'completed' | 'pending';
  conclusion: string | null;
};

/**
 * Reviews given from Telegram while the run waits for its environment's reviewers: who pressed
 * Approve, how many the environment asks for, and what GitHub recorded once the bot submitted.
 */
export type ReviewView = {
  /** GitHub logins of the linked reviewers who approved in Telegram, oldest first (distinct). */
  approvals: string[];
  /** Approvals the environment's rule asks for before the bot submits (`approval.min_reviewers`). */
  required: number;
  /** What GitHub recorded for the run's environment: the decision and the reviewer it names. */
  recorded: { state: 'approved' | 'rejected'; login: string } | null;
  /** Set (ms) while one press submits the review, so two presses never both submit; stale after a minute. */
  submittingSince: number | null;
};

/** Everything the live message shows beyond the record's columns; stored as JSON. */
export type DeploymentDetail = {
  /** Commits this deploy adds over what the environment runs now; null when unknown. */
  aheadBy: number | null;
  /** SHA running in the environment when the request was made; null for a first deployment. */
  baseSha: string | null;
  /** The newest commits this deploy adds ("subject — author", newest first, a few at most). */
  changes: string[];
  jobs: JobView[];
  approval: { reviewers: string[]; url: string | null } | null;
  environmentUrl: string | null;
  failure: { job: string; step: string | null; logTail: string[] } | null;
  /** Why a request was refused or ended early, for the message. */
  note: string | null;
  /** The open confirmation while the request waits for Confirm (its buttons are re-sent on an edit). */
  confirmationId: string | null;
  /** When that confirmation expires (ms), so the message can say until when. */
  confirmBy: number | null;
  /** Approvals and rejections from Telegram (Approve / Reject buttons); null until the first press. */
  review: ReviewView | null;
};

/** One deployment request and everything known about its run. The store's unit of record. */
export type DeploymentRecord = {
  /** The request id: `[A-Za-z0-9-]{1,64}`, also in the run's name between square brackets. */
  id: string;
  /** The service deployed (`Service.name`); `''` only for records made before services, until adopted at start. */
  service: string;
  environment: string;
  action: DeployAction;
  /** What the user asked for (branch, tag or SHA). */
  ref: string;
  /** The pinned commit: what was shown is what is dispatched. */
  sha: string;
  subject: string;
  author: string;
  /** Telegram user who asked; null for deployments started outside Telegram. */
  requesterId: number | null;
  requesterName: string;
  chatId: number | null;
  messageId: number | null;
  state: DeploymentState;
  runId: number | null;
  runUrl: string | null;
  detail: DeploymentDetail;
  createdAt: number;
  updatedAt: number;
  dispatchedAt: number | null;
  finishedAt: number | null;
  /** Increments on every change; the edit scheduler shows versions up to it. */
  version: number;
  /** The last version shown in Telegram: below `version` means an edit is owed (also after a restart). */
  deliveredVersion: number;
};

/** Fields set when a record is created; the store fills in version, timestamps and delivery. */
export type NewDeployment = Omit<
  DeploymentRecord,
  'version' | 'deliveredVersion' | 'updatedAt' | 'service'
> & {
  /** Default `''`: the service start-up adoption gives records made before services. */
  service?: string;
};

/** Fields a change may set. */
export type DeploymentPatch = Partial<
  Pick<
    DeploymentRecord,
    | 'state'
    | 'sha'
    | 'subject'
    | 'author'
    | 'chatId'
    | 'messageId'
    | 'runId'
    | 'runUrl'
    | 'detail'
    | 'dispatchedAt'
    | 'finishedAt'
  >
>;

/** An empty detail for a new record. */
export function emptyDetail(): DeploymentDetail {
  return {
    aheadBy: null,
    baseSha: null,
    changes: [],
    jobs: [],
    approval: null,
    environmentUrl: null,
    failure: null,
    note: null,
    confirmationId: null,
    confirmBy: null,
    review: null,
  };
}
