import { applyRunEvent } from '../core/apply-run-event.ts';
import type { DeploymentRecord } from '../core/deployment.ts';
import type { RunEvent } from '../core/run-events.ts';
import { auditRecord, type DeployDeps } from './deploy-deps.ts';
import { updateDeployment } from './update-deployment.ts';

/**
 * Applies GitHub's news about a run to its deployment record (atomically, retrying on a concurrent
 * change), tells the chat, and reports a finished run once (metrics and an audit line). Returns the
 * record as it is now.
 */
export async function applyEvents(
  deps: Pick<DeployDeps, 'store' | 'now' | 'notify' | 'observe' | 'audit'>,
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
  if (changed) deps.notify.changed(record.id);
  if (changed && finishedNow) await reportFinished(deps, record);
  return record;
}

/** Once per deployment, when it has ended: metrics, and the `<action>_finished` audit line. */
export async function reportFinished(
  deps: Pick<DeployDeps, 'observe' | 'audit'>,
  record: DeploymentRecord,
): Promise<void> {
  deps.observe.finished(record);
  await deps.audit.append(
    auditRecord({
      actor_id: record.requesterId,
      actor_name: record.requesterName,
      action: `${record.action}_finished`,
      environment: record.environment,
      sha: record.sha,
      request_id: record.id,
      outcome: record.state,
    }),
  );
}
