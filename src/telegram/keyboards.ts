import type { InlineKeyboardMarkup } from 'grammy/types';
import { encodeCallback } from '../core/callback-data.ts';
import type { DeploymentRecord } from '../core/deployment.ts';

/** Confirm / Cancel for a pending request. */
export function confirmKeyboard(key: Buffer, confirmationId: string, verb = 'Confirm'): InlineKeyboardMarkup {
  return {
    inline_keyboard: [
      [
        { text: `✅ ${verb}`, callback_data: encodeCallback(key, 'confirm', confirmationId) },
        { text: '✖️ Cancel', callback_data: encodeCallback(key, 'cancel', confirmationId) },
      ],
    ],
  };
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
