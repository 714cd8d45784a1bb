import type { Context } from 'grammy';
import { formatInZone } from '../../core/deployment-window.ts';
import { formatLockDuration } from '../../core/lock-duration.ts';
import { findEnvironment } from '../../deploy/deploy-deps.ts';
import { lockEnvironment } from '../../deploy/lock-environment.ts';
import { actorOf } from '../actor.ts';
import type { BotDeps } from '../bot-deps.ts';
import { escapeHtml } from '../html.ts';
import { commandWords } from './command-words.ts';

/** `/lock <env> [duration] [reason]`: stops deploys and rollbacks to an environment. */
export async function lockCommand(ctx: Context, deps: BotDeps): Promise<void> {
  const user = ctx.from;
  const chatId = ctx.chat?.id;
  if (!user || chatId === undefined) return;
  const outcome = await lockEnvironment(deps.deploy, { actor: actorOf(user), words: commandWords(ctx) });
  if (outcome.kind === 'refused') {
    await deps.outbox.send(chatId, escapeHtml(outcome.message));
    return;
  }
  const { lock } = outcome;
  const zone = findEnvironment(deps.deploy.config, lock.environment)?.windows?.timezone ?? 'UTC';
  const name = escapeHtml(lock.environment);
  await deps.outbox.send(
    chatId,
    [
      `🔒 <b>${name}</b> is locked for ${formatLockDuration(lock.expiresAt - lock.createdAt)}, until ${escapeHtml(formatInZone(lock.expiresAt, zone))}: ${escapeHtml(lock.reason)}`,
      `Deploys and rollbacks to ${name} are refused; an admin can override one with --force &lt;reason&gt;. /unlock ${name} lifts it. You get a reminder 10 minutes before it ends.`,
    ].join('\n'),
  );
}
