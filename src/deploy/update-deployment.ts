import type { DeploymentPatch, DeploymentRecord } from '../core/deployment.ts';
import type { Store } from '../store/store.ts';

/**
 * Read-modify-write of a deployment with optimistic concurrency: `change` sees the current record
 * and returns the patch (or null for "nothing to do"); a concurrent writer makes it re-read and
 * try again. Returns the record after the change, or the unchanged record when `change` declined.
 * @throws {Error} when the record does not exist or keeps changing under us (a bug or a storm).
 */
export async function updateDeployment(
  store: Store,
  id: string,
  now: number,
  change: (current: DeploymentRecord) => DeploymentPatch | null,
): Promise<{ record: DeploymentRecord; changed: boolean }> {
  for (let attempt = 0; attempt < 8; attempt++) {
    const current = await store.getDeployment(id);
    if (!current) throw new Error(`deployment ${id} not found`);
    const patch = change(current);
    if (!patch) return { record: current, changed: false };
    const updated = await store.updateDeployment(id, current.version, patch, now);
    if (updated) return { record: updated, changed: true };
  }
  throw new Error(`deployment ${id} kept changing; gave up after 8 attempts`);
}
