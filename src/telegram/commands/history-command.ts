import { deploymentHistory } from '../../deploy/deployment-history.ts';
import { commandTarget } from '../../deploy/service-deps.ts';
import { escapeHtml } from '../html.ts';
import { renderHistory } from '../render-status.ts';
import type { CommandHandler } from './command-input.ts';

/** `/history <env> [n]`: the last n deployments with outcome, duration and who. */
export const historyCommand: CommandHandler = async ({ actor, chatId, words }, deps) => {
  const outcome = await deploymentHistory(deps.deploy, { actor, words: words });
  if (outcome.kind === 'refused') {
    await deps.outbox.send(chatId, escapeHtml(outcome.message));
    return;
  }
  await deps.outbox.send(
    chatId,
    renderHistory(commandTarget(deps.deploy, outcome.environment), outcome.entries),
  );
};
