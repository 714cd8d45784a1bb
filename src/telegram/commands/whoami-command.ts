import { rolesOf } from '../../core/roles.ts';
import type { CommandHandler } from './command-input.ts';

/** `/whoami`, for anyone: the user's id and roles, so nobody needs a third-party bot to find their id. */
export const whoamiCommand: CommandHandler = async ({ actor, chatId }, deps) => {
  const roles = rolesOf(actor.id, deps.deploy.config.access);
  await deps.outbox.send(
    chatId,
    `Your Telegram id: <code>${actor.id}</code>\nRoles: ${roles.length ? roles.join(', ') : 'none (ask an admin to add your id)'}`,
  );
};
