import { environmentStatus } from '../../deploy/environment-status.ts';
import { escapeHtml } from '../html.ts';
import { renderStatus } from '../render-status.ts';
import type { CommandHandler } from './command-input.ts';

/** `/status`: per environment what runs, since when and by whom, health, a deployment in flight, a lock. */
export const statusCommand: CommandHandler = async ({ actor, chatId }, deps) => {
  const outcome = await environmentStatus(deps.deploy, actor);
  if (outcome.kind === 'refused') {
    await deps.outbox.send(chatId, escapeHtml(outcome.message));
    return;
  }
  await deps.outbox.send(
    chatId,
    renderStatus(outcome.environments, deps.deploy.config.environments, outcome.now),
  );
};
