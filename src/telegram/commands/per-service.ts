import { serviceArgument } from '../../deploy/service-deps.ts';
import { escapeHtml } from '../html.ts';
import type { CommandHandler } from './command-input.ts';

/**
 * A command that acts on one service's environments (`/deploy [service] <env> …`): the service is
 * taken off the words (or settled by the chat, or the only one), and the handler runs with that
 * service's deps, as it ran before services existed. A missing or unknown service is answered here.
 */
export function perService(handler: CommandHandler): CommandHandler {
  return async (input, deps) => {
    const picked = serviceArgument(deps.deploy, input.chatId, input.words);
    if (!picked.ok) {
      await deps.outbox.send(input.chatId, escapeHtml(picked.message));
      return;
    }
    await handler({ ...input, words: picked.words }, { ...deps, deploy: picked.deps });
  };
}
