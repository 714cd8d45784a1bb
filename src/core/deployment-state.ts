/**
 * The deployment lifecycle (docs/architecture.md, "The deployment lifecycle"). Pure: no I/O.
 *
 * Webhooks arrive late, twice or out of order, so a state only ever moves forward: every state has a
 * rank, and an event that would lower it is ignored. Final states never change again.
 */
export const DEPLOYMENT_STATES = [
  'requested',
  'confirmed',
  'dispatched',
  'queued',
  'waiting_approval',
  'in_progress',
  'succeeded',
  'failed',
  'rolling_back',
  'rolled_back',
  'rollback_failed',
  'cancelled',
  'expired',
  'timed_out',
] as const;

export type DeploymentState = (typeof DEPLOYMENT_STATES)[number];

/** States after which nothing changes any more. `failed` is not one: the pipeline may still roll back. */
export const FINAL_STATES: ReadonlySet<DeploymentState> = new Set([
  'succeeded',
  'rolled_back',
  'rollback_failed',
  'cancelled',
  'expired',
  'timed_out',
]);

const RANK: Record<DeploymentState, number> = {
  requested: 0,
  confirmed: 1,
  dispatched: 2,
  queued: 3,
  waiting_approval: 4,
  in_progress: 5,
  failed: 6,
  rolling_back: 7,
  succeeded: 10,
  rolled_back: 10,
  rollback_failed: 10,
  cancelled: 10,
  expired: 10,
  timed_out: 10,
};

/** True when `state` is final. */
export function isFinal(state: DeploymentState): boolean {
  return FINAL_STATES.has(state);
}

/**
 * Whether a deployment in `from` may move to `to`. Forward only; final states are sticky; a run
 * can go back to waiting for approval after earlier jobs ran (so `waiting_approval` may follow
 * `in_progress`, but only while the deploy job itself has not started: the caller decides that).
 */
export function canMove(from: DeploymentState, to: DeploymentState): boolean {
  if (from === to) return false;
  if (isFinal(from)) return false;
  if (from === 'in_progress' && to === 'waiting_approval') return true;
  if (from === 'waiting_approval' && to === 'in_progress') return true;
  return RANK[to] > RANK[from];
}
