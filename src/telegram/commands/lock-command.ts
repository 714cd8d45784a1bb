import { formatInZone } from '../../core/deployment-window.ts';
import { findEnvironment } from '../../core/environment.ts';
import { formatLockDuration } from '../../core/lock-duration.ts';
import { lockEnvironment } from '../../deploy/lock-environment.ts';
import { commandTarget } from '../../deploy/service-deps.ts';
import { escapeHtml } from '../html.ts';
import type { CommandHandler } from './command-input.ts';

/** `/lock <env> [duration] [reason]`: stops deploys and rollbacks to an environment. */
export const lockCommand: CommandHandler = async ({ actor, chatId, words }, deps) => {
  const outcome = await lockEnvironment(deps.deploy, { actor, words: words });
  if (outcome.kind === 'refused') {
    await deps.outbox.send(chatId, escapeHtml(outcome.message));
    return;
  }
  const { lock } = outcome;
  const zone = findEnvironment(deps.deploy.config.environments, lock.environment)?.windows?.timezone ?? 'UTC';
  // `shop staging` where the bot serves several services: the hint can be typed as it is.
  const name = escapeHtml(commandTarget(deps.deploy, lock.environment));
  await deps.outbox.send(
    chatId,
    [
      `🔒 <b>${name}</b> is locked for ${formatLockDuration(lock.expiresAt - lock.createdAt)}, until ${escapeHtml(formatInZone(lock.expiresAt, zone))}: ${escapeHtml(lock.reason)}`,
      `Deploys and rollbacks to ${name} are refused; an admin can override one with --force &lt;reason&gt;. /unlock ${name} lifts it. You get a reminder 10 minutes before it ends.`,
    ].join('\n'),
  );
};
