import { requestCancel } from '../../deploy/cancel-run.ts';
import { commandTarget } from '../../deploy/service-deps.ts';
import { escapeHtml, link } from '../html.ts';
import { cancelRunKeyboard } from '../keyboards.ts';
import type { CommandHandler } from './command-input.ts';

/** `/cancel <env>`: asks to confirm cancelling the run in flight. */
export const cancelCommand: CommandHandler = async ({ actor, chatId, words }, deps) => {
  const [environment] = words;
  const outcome = await requestCancel(deps.deploy, { actor, chatId, environment });
  if (outcome.kind === 'refused') {
    await deps.outbox.send(chatId, escapeHtml(outcome.message));
    return;
  }
  const d = outcome.deployment;
  const verb = d.action === 'rollback' ? 'rollback' : 'deploy';
  await deps.outbox.send(
    chatId,
    [
      `Cancel the ${verb} to <b>${escapeHtml(commandTarget(deps.deploy, d.environment))}</b> · <code>${d.sha.slice(0, 7)}</code>?`,
      `${escapeHtml(d.subject.slice(0, 80))} — requested by ${escapeHtml(d.requesterName)}`,
      `Now: ${d.state.replace('_', ' ')} · ${link(d.runUrl, 'run')}`,
      'A deploy stopped halfway can leave the environment between versions; the run’s own steps decide what is cleaned up.',
    ].join('\n'),
    cancelRunKeyboard(deps.callbackKey, outcome.confirmation.id),
  );
};
