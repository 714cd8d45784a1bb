import type { InlineKeyboardMarkup } from 'grammy/types';
import { encodeCallback } from '../core/callback-data.ts';
import type { DeploymentRecord } from '../core/deployment.ts';

/** Confirm / Cancel for a pending request; the labels say what each does (`/cancel` keeps a run with its second button). */
export function confirmKeyboard(
  key: Buffer,
  confirmationId: string,
  verb = 'Confirm',
  dismiss = '✖️ Cancel',
  confirmIcon = '✅',
): InlineKeyboardMarkup {
  return {
    inline_keyboard: [
      [
        { text: `${confirmIcon} ${verb}`, callback_data: encodeCallback(key, 'confirm', confirmationId) },
        { text: dismiss, callback_data: encodeCallback(key, 'cancel', confirmationId) },
      ],
    ],
  };
}

/** The buttons of a `/cancel` confirmation: stop the run, or keep it going. */
export function cancelRunKeyboard(key: Buffer, confirmationId: string): InlineKeyboardMarkup {
  return confirmKeyboard(key, confirmationId, 'Cancel the run', '↩️ Keep it running', '⛔');
}

/**
 * The buttons a deployment message carries in its current state: Confirm / Cancel while it waits
 * for confirmation, a link to the run once there is one, none otherwise (an edit without
 * reply_markup removes the keyboard, which is what Telegram does).
 */
export function deploymentKeyboard(key: Buffer, record: DeploymentRecord): InlineKeyboardMarkup | undefined {
  if (record.state === 'requested' && record.detail.confirmationId) {
    return confirmKeyboard(
      key,
      record.detail.confirmationId,
      record.action === 'rollback' ? 'Roll back' : 'Deploy',
    );
  }
  if (record.runUrl && /^https?:\/\//.test(record.runUrl)) {
    return { inline_keyboard: [[{ text: '🔗 Open run on GitHub', url: record.runUrl }]] };
  }
  return undefined;
}
