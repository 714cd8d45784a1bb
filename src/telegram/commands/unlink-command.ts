import { unlinkAccount } from '../../deploy/unlink-account.ts';
import { escapeHtml } from '../html.ts';
import type { CommandHandler } from './command-input.ts';

/** `/unlink`, for anyone with a link: forgets the linked GitHub account, revoking its token where GitHub allows. */
export const unlinkCommand: CommandHandler = async ({ actor, chatId }, deps) => {
  const outcome = await unlinkAccount(deps.deploy, actor);
  if (outcome.kind === 'not_linked') {
    await deps.outbox.send(chatId, 'No GitHub account is linked to you here.');
    return;
  }
  const login = `<b>${escapeHtml(outcome.login)}</b>`;
  await deps.outbox.send(
    chatId,
    outcome.revoked
      ? `Unlinked GitHub account ${login}; GitHub revoked its token.`
      : `Unlinked GitHub account ${login}; the bot forgot its token (GitHub could not revoke it: you can revoke the app's access in your GitHub settings, Applications).`,
  );
};
