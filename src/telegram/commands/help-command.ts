import { hasRole, type Role, rolesOf } from '../../core/roles.ts';
import { serviceAccess } from '../../core/service.ts';
import { commandsFor } from '../command-list.ts';
import { escapeHtml } from '../html.ts';
import type { CommandHandler } from './command-input.ts';

/**
 * `/start` and `/help`: only the commands this user may run, and the environments they may deploy
 * to; with several services, per service (and the commands take the service first).
 */
export const helpCommand: CommandHandler = async ({ actor, chatId }, deps) => {
  const config = deps.deploy.services.config;
  const { services } = config;
  const several = services.length > 1;
  const roles = new Set<Role>(rolesOf(actor.id, config.access));
  const deployable: string[] = [];
  for (const service of services) {
    const access = serviceAccess(service, config.access);
    for (const role of rolesOf(actor.id, access)) roles.add(role);
    const envs = service.environments.filter((e) => hasRole(actor.id, e.role, access));
    if (several && envs.length > 0) deployable.push(`<b>${escapeHtml(service.name)}</b>`);
    deployable.push(
      ...envs.map(
        (e) =>
          `• <b>${escapeHtml(e.name)}</b>: default <code>${escapeHtml(e.branch)}</code>${e.confirm ? ', asks to confirm' : ''}`,
      ),
    );
  }
  const lines = commandsFor([...roles], { accounts: config.accounts !== null, services: several }).map(
    (c) => `/${c.name}${c.args ? ` ${escapeHtml(c.args)}` : ''} — ${escapeHtml(c.description)}`,
  );
  await deps.outbox.send(
    chatId,
    ['<b>Commands</b>', ...lines, '', '<b>You may deploy to</b>', ...deployable].join('\n'),
  );
};
