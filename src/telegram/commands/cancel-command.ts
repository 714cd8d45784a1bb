import type { Context } from 'grammy';
import { requestCancel } from '../../deploy/cancel-run.ts';
import { actorOf } from '../actor.ts';
import type { BotDeps } from '../bot-deps.ts';
import { escapeHtml, link } from '../html.ts';
import { cancelRunKeyboard } from '../keyboards.ts';
import { commandWords } from './command-words.ts';

/** `/cancel <env>`: asks to confirm cancelling the run in flight. */
export async function cancelCommand(ctx: Context, deps: BotDeps): Promise<void> {
  const user = ctx.from;
  const chatId = ctx.chat?.id;
  if (!user || chatId === undefined) return;
  const [environment] = commandWords(ctx);
  const outcome = await requestCancel(deps.deploy, { actor: actorOf(user), chatId, environment });
  if (outcome.kind === 'refused') {
    await deps.outbox.send(chatId, escapeHtml(outcome.message));
    return;
  }
  const d = outcome.deployment;
  const verb = d.action === 'rollback' ? 'rollback' : 'deploy';
  await deps.outbox.send(
    chatId,
    [
      `Cancel the ${verb} to <b>${escapeHtml(d.environment)}</b> · <code>${d.sha.slice(0, 7)}</code>?`,
      `${escapeHtml(d.subject.slice(0, 80))} — requested by ${escapeHtml(d.requesterName)}`,
      `Now: ${d.state.replace('_', ' ')} · ${link(d.runUrl, 'run')}`,
      'A deploy stopped halfway can leave the environment between versions; the run’s own steps decide what is cleaned up.',
    ].join('\n'),
    cancelRunKeyboard(deps.callbackKey, outcome.confirmation.id),
  );
}
