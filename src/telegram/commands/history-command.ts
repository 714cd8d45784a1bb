import type { Context } from 'grammy';
import { deploymentHistory } from '../../deploy/deployment-history.ts';
import { actorOf } from '../actor.ts';
import type { BotDeps } from '../bot-deps.ts';
import { escapeHtml } from '../html.ts';
import { renderHistory } from '../render-status.ts';
import { commandWords } from './command-words.ts';

/** `/history <env> [n]`: the last n deployments with outcome, duration and who. */
export async function historyCommand(ctx: Context, deps: BotDeps): Promise<void> {
  const user = ctx.from;
  const chatId = ctx.chat?.id;
  if (!user || chatId === undefined) return;
  const outcome = await deploymentHistory(deps.deploy, { actor: actorOf(user), words: commandWords(ctx) });
  if (outcome.kind === 'refused') {
    await deps.outbox.send(chatId, escapeHtml(outcome.message));
    return;
  }
  await deps.outbox.send(chatId, renderHistory(outcome.environment, outcome.entries));
}
