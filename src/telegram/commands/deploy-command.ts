import { requestDeployment } from '../../deploy/request-deployment.ts';
import { escapeHtml } from '../html.ts';
import type { CommandHandler } from './command-input.ts';

/**
 * `/deploy <env> [ref]`: a confirmation with the pinned commit, or (where the env asks none) a
 * dispatch. The deployment's own message comes from the outbox; this only says why not.
 */
export const deployCommand: CommandHandler = async ({ actor, chatId, words }, deps) => {
  const [environment, ...refWords] = words;
  // Everything after the environment is the ref, so "main; rm -rf /" is refused as one bad ref.
  const ref = refWords.length ? refWords.join(' ') : undefined;
  const outcome = await requestDeployment(deps.deploy, { actor, chatId, environment, ref });
  if (outcome.kind === 'refused') await deps.outbox.send(chatId, escapeHtml(outcome.message));
  // A failed dispatch shows on the deployment's message; waiting keeps errors in this update's hands.
  if (outcome.kind === 'dispatching') await outcome.dispatch;
};
