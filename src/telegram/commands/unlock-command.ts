import type { Context } from 'grammy';
import { unlockEnvironment } from '../../deploy/unlock-environment.ts';
import { actorOf } from '../actor.ts';
import type { BotDeps } from '../bot-deps.ts';
import { escapeHtml } from '../html.ts';
import { commandWords } from './command-words.ts';

/** `/unlock <env>`: any admin lifts a lock. */
export async function unlockCommand(ctx: Context, deps: BotDeps): Promise<void> {
  const user = ctx.from;
  const chatId = ctx.chat?.id;
  if (!user || chatId === undefined) return;
  const [environment] = commandWords(ctx);
  const outcome = await unlockEnvironment(deps.deploy, { actor: actorOf(user), environment });
  if (outcome.kind === 'refused') {
    await deps.outbox.send(chatId, escapeHtml(outcome.message));
    return;
  }
  const { lock } = outcome;
  await deps.outbox.send(
    chatId,
    `🔓 <b>${escapeHtml(lock.environment)}</b> is unlocked (it was locked by ${escapeHtml(lock.ownerName)}: ${escapeHtml(lock.reason)}).`,
  );
}
