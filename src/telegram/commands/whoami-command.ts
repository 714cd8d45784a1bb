import type { Context } from 'grammy';
import { rolesOf } from '../../core/roles.ts';
import type { BotDeps } from '../bot-deps.ts';

/** `/whoami`, for anyone: the user's id and roles, so nobody needs a third-party bot to find their id. */
export async function whoamiCommand(ctx: Context, deps: BotDeps): Promise<void> {
  const user = ctx.from;
  const chatId = ctx.chat?.id;
  if (!user || chatId === undefined) return;
  const roles = rolesOf(user.id, deps.deploy.config.access);
  await deps.outbox.send(
    chatId,
    `Your Telegram id: <code>${user.id}</code>\nRoles: ${roles.length ? roles.join(', ') : 'none (ask an admin to add your id)'}`,
  );
}
