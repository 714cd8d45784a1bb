/** The values the Approve / Reject use case (approve-run.ts) and its submission (submit-review.ts) share. */
import type { DeploymentRecord } from '../core/deployment.ts';
import type { LinkedAccount } from '../store/store.ts';
import type { Actor } from './deploy-deps.ts';

/** Stable codes for a press of Approve or Reject that changes nothing. */
export type ReviewRefusal =
  | 'forged'
  | 'unknown'
  | 'wrong_message'
  | 'not_configured'
  | 'forbidden'
  | 'not_waiting'
  /** `approval.not_requester`: the requester may not approve their own deployment. */
  | 'requester'
  | 'not_linked'
  /** The same Telegram user, or the same GitHub account, already pressed on this run. */
  | 'already_voted'
  /** The link's token expired and could not be refreshed, or the bot cannot read it. */
  | 'link_expired'
  /** GitHub answered 401: the token was revoked (or expired and its refresh was refused). */
  | 'token_rejected'
  /** GitHub says this user may not approve (not a required reviewer, self-review prevented). */
  | 'not_reviewer'
  /** GitHub refused the review itself (its 422/403/404 message is in the text). */
  | 'github_refused'
  | 'github_unavailable'
  /** Another reviewer's approval is being submitted at this moment. */
  | 'busy';

/** What a press asks GitHub to record (the `state` of the review). */
export type ReviewDecision = 'approved' | 'rejected';

/** What came of a press of Approve or Reject. */
export type ReviewOutcome =
  | { kind: 'refused'; reason: ReviewRefusal; message: string }
  /** An approval counted in Telegram: `have` of `need` distinct reviewers; nothing sent to GitHub yet. */
  | { kind: 'counted'; deployment: DeploymentRecord; login: string; have: number; need: number }
  /** GitHub recorded the review: `login` is the reviewer GitHub names in its review log. */
  | { kind: 'submitted'; deployment: DeploymentRecord; decision: ReviewDecision; login: string };

/** A press as the Telegram adapter hands it over: who, where, the button's payload, the callback key. */
export type ReviewPress = {
  actor: Actor;
  chatId: number;
  messageId: number | null;
  data: string;
  key: Buffer;
};

/** Everything checked before a vote is taken: the run, the presser, the link. */
export type CheckedPress = {
  decision: ReviewDecision;
  deployment: DeploymentRecord;
  runId: number;
  /** The presser's link; replaced by the refreshed one when a call refreshed its token. */
  account: LinkedAccount;
  minReviewers: number;
};
