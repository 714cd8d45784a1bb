import { hasRole, rolesOf } from '../../core/roles.ts';
import { commandsFor } from '../command-list.ts';
import { escapeHtml } from '../html.ts';
import type { CommandHandler } from './command-input.ts';

/** `/start` and `/help`: only the commands this user may run, and the environments they may deploy to. */
export const helpCommand: CommandHandler = async ({ actor, chatId }, deps) => {
  const { config } = deps.deploy;
  const roles = rolesOf(actor.id, config.access);
  const lines = commandsFor(roles, { accounts: config.accounts !== null }).map(
    (c) => `/${c.name}${c.args ? ` ${escapeHtml(c.args)}` : ''} — ${escapeHtml(c.description)}`,
  );
  const envs = config.environments.filter((e) => hasRole(actor.id, e.role, config.access));
  const envLines = envs.map(
    (e) =>
      `• <b>${escapeHtml(e.name)}</b>: default <code>${escapeHtml(e.branch)}</code>${e.confirm ? ', asks to confirm' : ''}`,
  );
  await deps.outbox.send(
    chatId,
    ['<b>Commands</b>', ...lines, '', '<b>You may deploy to</b>', ...envLines].join('\n'),
  );
};
