import { commandTarget } from '../../deploy/service-deps.ts';
import { unlockEnvironment } from '../../deploy/unlock-environment.ts';
import { escapeHtml } from '../html.ts';
import type { CommandHandler } from './command-input.ts';

/** `/unlock <env>`: any admin lifts a lock. */
export const unlockCommand: CommandHandler = async ({ actor, chatId, words }, deps) => {
  const [environment] = words;
  const outcome = await unlockEnvironment(deps.deploy, { actor, environment });
  if (outcome.kind === 'refused') {
    await deps.outbox.send(chatId, escapeHtml(outcome.message));
    return;
  }
  const { lock } = outcome;
  await deps.outbox.send(
    chatId,
    `🔓 <b>${escapeHtml(commandTarget(deps.deploy, lock.environment))}</b> is unlocked (it was locked by ${escapeHtml(lock.ownerName)}: ${escapeHtml(lock.reason)}).`,
  );
};
