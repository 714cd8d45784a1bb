import type { Context } from 'grammy';
import { environmentStatus } from '../../deploy/environment-status.ts';
import { actorOf } from '../actor.ts';
import type { BotDeps } from '../bot-deps.ts';
import { escapeHtml } from '../html.ts';
import { renderStatus } from '../render-status.ts';

/** `/status`: per environment what runs, since when and by whom, health, a deployment in flight, a lock. */
export async function statusCommand(ctx: Context, deps: BotDeps): Promise<void> {
  const user = ctx.from;
  const chatId = ctx.chat?.id;
  if (!user || chatId === undefined) return;
  const outcome = await environmentStatus(deps.deploy, actorOf(user));
  if (outcome.kind === 'refused') {
    await deps.outbox.send(chatId, escapeHtml(outcome.message));
    return;
  }
  await deps.outbox.send(
    chatId,
    renderStatus(outcome.environments, deps.deploy.config.environments, outcome.now),
  );
}
