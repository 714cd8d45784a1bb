import { rolesOf } from '../../core/roles.ts';
import { escapeHtml } from '../html.ts';
import type { CommandHandler } from './command-input.ts';

/**
 * `/whoami`, for anyone: the user's id and roles, so nobody needs a third-party bot to find their id,
 * and the GitHub account they linked (where linking is set up).
 */
export const whoamiCommand: CommandHandler = async ({ actor, chatId }, deps) => {
  const roles = rolesOf(actor.id, deps.deploy.config.access);
  const lines = [
    `Your Telegram id: <code>${actor.id}</code>`,
    `Roles: ${roles.length ? roles.join(', ') : 'none (ask an admin to add your id)'}`,
  ];
  if (deps.deploy.config.accounts) {
    const account = await deps.deploy.store.getLinkedAccount(actor.id);
    lines.push(
      account
        ? `GitHub: linked as <b>${escapeHtml(account.githubLogin)}</b> (/unlink removes it)`
        : 'GitHub: not linked (/link, in a private chat)',
    );
  }
  await deps.outbox.send(chatId, lines.join('\n'));
};
