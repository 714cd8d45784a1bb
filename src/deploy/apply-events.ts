import { applyRunEvent } from '../core/apply-run-event.ts';
import type { DeploymentRecord } from '../core/deployment.ts';
import type { RunEvent } from '../core/run-events.ts';
import type { DeployDeps } from './deploy-deps.ts';
import { updateDeployment } from './update-deployment.ts';

/**
 * Applies GitHub's news about a run to its deployment record (atomically, retrying on a concurrent
 * change), tells the outbox, and reports a finished run once. Returns the record as it is now.
 */
export async function applyEvents(
  deps: Pick<DeployDeps, 'store' | 'now' | 'onDeploymentChanged' | 'onFinished'>,
  deploymentId: string,
  events: readonly RunEvent[],
): Promise<DeploymentRecord> {
  const now = deps.now();
  let finishedNow = false;
  const { record, changed } = await updateDeployment(deps.store, deploymentId, now, (current) => {
    let working = current;
    let merged = {};
    for (const event of events) {
      const patch = applyRunEvent(working, event, now);
      if (!patch) continue;
      merged = { ...merged, ...patch };
      working = { ...working, ...patch };
    }
    finishedNow = current.finishedAt === null && working.finishedAt !== null;
    return Object.keys(merged).length ? merged : null;
  });
  if (changed) deps.onDeploymentChanged(record.id);
  if (changed && finishedNow) deps.onFinished(record);
  return record;
}
