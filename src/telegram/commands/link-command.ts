import { type LinkFinish, startLink } from '../../deploy/link-account.ts';
import { escapeHtml, link } from '../html.ts';
import type { CommandHandler } from './command-input.ts';

/** What the user reads when the device flow has ended; nothing when it was stopped (a newer /link). */
export function linkFinishText(finish: LinkFinish): string | null {
  switch (finish.kind) {
    case 'linked': {
      const replaced =
        finish.previous && finish.previous !== finish.login
          ? ` (instead of ${escapeHtml(finish.previous)})`
          : '';
      return `✅ Linked to GitHub as <b>${escapeHtml(finish.login)}</b>${replaced}. Approve and Reject on a waiting run now act as you on GitHub, where your reviewer rights apply. /unlink removes the link.`;
    }
    case 'expired':
      return 'The code expired before it was entered at GitHub; nothing was linked. Send /link to get a new one.';
    case 'denied':
      return 'You declined at GitHub; nothing was linked.';
    case 'failed':
      return `Linking failed: ${escapeHtml(finish.message)}`;
    case 'stopped':
      return null;
  }
}

/**
 * `/link`: shows the device-flow code and where to enter it, and later (without holding the update)
 * whether GitHub linked the account. The use case refuses outside a private chat.
 */
export const linkCommand: CommandHandler = async ({ actor, chatId }, deps) => {
  const outcome = await startLink(deps.deploy, { actor, chatId, privateChat: chatId === actor.id });
  if (outcome.kind === 'refused') {
    await deps.outbox.send(chatId, escapeHtml(outcome.message));
    return;
  }
  const until = new Date(outcome.expiresAt).toISOString().slice(11, 16);
  await deps.outbox.send(
    chatId,
    [
      '🔗 Link your GitHub account, so you can approve production from here as yourself:',
      `1. Open ${link(outcome.verificationUri, outcome.verificationUri)}`,
      `2. Enter the code <code>${escapeHtml(outcome.userCode)}</code> (valid until ${until} UTC)`,
      'I will tell you here when GitHub confirms.',
    ].join('\n'),
  );
  void outcome.finished
    .then(async (finish) => {
      const text = linkFinishText(finish);
      if (text) await deps.outbox.send(chatId, text);
    })
    .catch(() =>
      deps.outbox.send(chatId, 'Linking failed on the bot’s side; send /link again.').catch(() => {}),
    );
};
