import { proposeRollback } from '../../deploy/propose-rollback.ts';
import { escapeHtml } from '../html.ts';
import type { CommandHandler } from './command-input.ts';

/** `/rollback <env> [--force <reason>]`: the previous successful deployment, always with Confirm. */
export const rollbackCommand: CommandHandler = async ({ actor, chatId, words }, deps) => {
  const [environment, ...rest] = words;
  const outcome = await proposeRollback(deps.deploy, {
    actor,
    chatId,
    environment,
    rest: rest.length ? rest.join(' ') : undefined,
  });
  // The proposal itself is the deployment's message, which the outbox sends.
  if (outcome.kind === 'refused') await deps.outbox.send(chatId, escapeHtml(outcome.message));
};
