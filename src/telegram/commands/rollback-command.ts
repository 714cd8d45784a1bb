import type { Context } from 'grammy';
import { proposeRollback } from '../../deploy/propose-rollback.ts';
import { actorOf } from '../actor.ts';
import type { BotDeps } from '../bot-deps.ts';
import { escapeHtml } from '../html.ts';
import { commandWords } from './command-words.ts';
import { sendDeploymentMessage } from './send-deployment-message.ts';

/** `/rollback <env> [--force <reason>]`: the previous successful deployment, always with Confirm. */
export async function rollbackCommand(ctx: Context, deps: BotDeps): Promise<void> {
  const user = ctx.from;
  const chatId = ctx.chat?.id;
  if (!user || chatId === undefined) return;
  const [environment, ...rest] = commandWords(ctx);
  const outcome = await proposeRollback(deps.deploy, {
    actor: actorOf(user),
    chatId,
    environment,
    rest: rest.length ? rest.join(' ') : undefined,
  });
  if (outcome.kind === 'refused') {
    await deps.outbox.send(chatId, escapeHtml(outcome.message));
    return;
  }
  await sendDeploymentMessage(deps, chatId, outcome.deployment);
}
