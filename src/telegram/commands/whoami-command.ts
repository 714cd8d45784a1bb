import { rolesOf } from '../../core/roles.ts';
import { serviceAccess } from '../../core/service.ts';
import { escapeHtml } from '../html.ts';
import type { CommandHandler } from './command-input.ts';

/**
 * `/whoami`, for anyone: the user's id and roles, so nobody needs a third-party bot to find their id,
 * and the GitHub account they linked (where linking is set up).
 */
export const whoamiCommand: CommandHandler = async ({ actor, chatId }, deps) => {
  const { config } = deps.deploy.services;
  const roles = rolesOf(actor.id, config.access);
  // With several services, the roles a service grants on top of the global ones, per service.
  const own = config.services.flatMap((s) => {
    const extra = rolesOf(actor.id, serviceAccess(s, config.access)).filter((r) => !roles.includes(r));
    return config.services.length > 1 && extra.length > 0 ? [`${s.name}: ${extra.join(', ')}`] : [];
  });
  const shown = [...(roles.length ? [roles.join(', ')] : []), ...own];
  const lines = [
    `Your Telegram id: <code>${actor.id}</code>`,
    `Roles: ${shown.length ? escapeHtml(shown.join('; ')) : 'none (ask an admin to add your id)'}`,
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
