import type { Context } from 'grammy';
import { dispatchDeployment } from '../../deploy/dispatch-deployment.ts';
import { requestDeployment } from '../../deploy/request-deployment.ts';
import { actorOf } from '../actor.ts';
import type { BotDeps } from '../bot-deps.ts';
import { escapeHtml } from '../html.ts';
import { sendDeploymentMessage } from './send-deployment-message.ts';

/** `/deploy <env> [ref]`: a confirmation with the pinned commit, or (where the env asks none) a dispatch. */
export async function deployCommand(ctx: Context, deps: BotDeps): Promise<void> {
  const user = ctx.from;
  const chatId = ctx.chat?.id;
  if (!user || chatId === undefined) return;
  const [environment, ...refWords] = (typeof ctx.match === 'string' ? ctx.match : '')
    .trim()
    .split(/\s+/)
    .filter(Boolean);
  // Everything after the environment is the ref, so "main; rm -rf /" is refused as one bad ref.
  const ref = refWords.length ? refWords.join(' ') : undefined;
  const actor = actorOf(user);
  const outcome = await requestDeployment(deps.deploy, { actor, chatId, environment, ref });
  if (outcome.kind === 'refused') {
    await deps.outbox.send(chatId, escapeHtml(outcome.message));
    return;
  }
  await sendDeploymentMessage(deps, chatId, outcome.deployment);
  if (outcome.kind === 'ready') await dispatchDeployment(deps.deploy, outcome.deployment.id);
}
