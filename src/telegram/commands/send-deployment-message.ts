import type { DeploymentRecord } from '../../core/deployment.ts';
import { updateDeployment } from '../../deploy/update-deployment.ts';
import type { BotDeps } from '../bot-deps.ts';
import { deploymentKeyboard } from '../keyboards.ts';
import { renderDeployment } from '../render-deployment.ts';

/**
 * Sends a new deployment's live message (with its Confirm buttons) and attaches the message id to
 * the record, so later changes edit that message (as /deploy does).
 */
export async function sendDeploymentMessage(
  deps: BotDeps,
  chatId: number,
  record: DeploymentRecord,
): Promise<void> {
  const messageId = await deps.outbox.send(
    chatId,
    renderDeployment(record, deps.deploy.now()),
    deploymentKeyboard(deps.callbackKey, record),
  );
  const { record: attached } = await updateDeployment(
    deps.deploy.store,
    record.id,
    deps.deploy.now(),
    () => ({
      messageId,
    }),
  );
  // The message shows this version already, unless something changed in between (then an edit follows).
  if (attached.version === record.version + 1)
    await deps.deploy.store.markDelivered(record.id, attached.version);
  else deps.deploy.onDeploymentChanged(record.id);
}
