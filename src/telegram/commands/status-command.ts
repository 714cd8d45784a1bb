import { hasRole } from '../../core/roles.ts';
import { findService, type Service, serviceAccess } from '../../core/service.ts';
import { clipArgument } from '../../deploy/environment-argument.ts';
import { environmentStatus } from '../../deploy/environment-status.ts';
import { withService } from '../../deploy/service-deps.ts';
import type { BotDeps } from '../bot-deps.ts';
import { escapeHtml } from '../html.ts';
import { packMessages } from '../pack-messages.ts';
import { renderStatus } from '../render-status.ts';
import type { CommandHandler, CommandInput } from './command-input.ts';

/**
 * `/status [service]`: per environment what runs, since when and by whom, health, a deployment in
 * flight, a lock. With several services: every service the user may see (or the one named), each
 * under its name; with one, exactly as before services.
 */
export const statusCommand: CommandHandler = async (input, deps) => {
  const { services } = deps.deploy.services.config;
  if (services.length === 1) return singleStatus(input, deps);
  const named = input.words[0];
  const wanted =
    named === undefined ? services : [findService(services, named)].filter((s) => s !== undefined);
  if (named !== undefined && wanted.length === 0) {
    const names = services.map((s) => s.name).join(', ');
    await deps.outbox.send(
      input.chatId,
      escapeHtml(`There is no service "${clipArgument(named)}". Services: ${names}.`),
    );
    return;
  }
  const global = deps.deploy.services.config.access;
  const visible = wanted.filter((s) => hasRole(input.actor.id, 'staging', serviceAccess(s, global)));
  if (visible.length === 0) {
    await deps.outbox.send(input.chatId, 'You may not see the status.');
    return;
  }
  const blocks = await Promise.all(visible.map((service) => serviceBlock(input, deps, service)));
  // Fifty services do not fit in one message (Telegram refuses over 4096 characters).
  for (const message of packMessages(blocks)) await deps.outbox.send(input.chatId, message);
};

async function singleStatus({ actor, chatId }: CommandInput, deps: BotDeps): Promise<void> {
  const outcome = await environmentStatus(deps.deploy, actor);
  if (outcome.kind === 'refused') {
    await deps.outbox.send(chatId, escapeHtml(outcome.message));
    return;
  }
  const rendered = renderStatus(outcome.environments, deps.deploy.config.environments, outcome.now);
  for (const message of packMessages(rendered.split('\n\n'))) await deps.outbox.send(chatId, message);
}

async function serviceBlock(input: CommandInput, deps: BotDeps, service: Service): Promise<string> {
  const scoped = withService(deps.deploy, service);
  const outcome = await environmentStatus(scoped, input.actor);
  const { owner, repo } = service.repository;
  const title = `📦 <b>${escapeHtml(service.name)}</b> (${escapeHtml(`${owner}/${repo}`)})`;
  if (outcome.kind === 'refused') return `${title}\n${escapeHtml(outcome.message)}`;
  return `${title}\n${renderStatus(outcome.environments, scoped.config.environments, outcome.now)}`;
}
