import type { InlineKeyboardMarkup } from 'grammy/types';
import { encodeCallback, reviewCallbackId } from '../core/callback-data.ts';
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

/** What a deployment message may offer besides its state's own buttons. */
export type KeyboardOptions = {
  /** Approve / Reject while the run waits for its environment's reviewers (linking is set up). */
  review?: boolean;
};

/**
 * The buttons a deployment message carries in its current state: Confirm / Cancel while it waits
 * for confirmation, Approve / Reject (with `review`) while the run waits for its reviewers and GitHub
 * has recorded no review yet, a link to the run once there is one, none otherwise (an edit without
 * reply_markup removes the keyboard, which is what Telegram does).
 */
export function deploymentKeyboard(
  key: Buffer,
  record: DeploymentRecord,
  options: KeyboardOptions = {},
): InlineKeyboardMarkup | undefined {
  if (record.state === 'requested' && record.detail.confirmationId) {
    return confirmKeyboard(
      key,
      record.detail.confirmationId,
      record.action === 'rollback' ? 'Roll back' : 'Deploy',
    );
  }
  const runLink =
    record.runUrl && /^https?:\/\//.test(record.runUrl)
      ? [{ text: '🔗 Open run on GitHub', url: record.runUrl }]
      : null;
  const reviewable =
    options.review === true &&
    record.state === 'waiting_approval' &&
    record.runId !== null &&
    record.finishedAt === null &&
    !record.detail.review?.recorded;
  if (reviewable && record.runId !== null) {
    const id = reviewCallbackId(record.runId);
    const buttons = [
      { text: '✅ Approve', callback_data: encodeCallback(key, 'approve', id) },
      { text: '⛔ Reject', callback_data: encodeCallback(key, 'reject', id) },
    ];
    return { inline_keyboard: runLink ? [buttons, runLink] : [buttons] };
  }
  return runLink ? { inline_keyboard: [runLink] } : undefined;
}

/** The buttons of a `/deploy` picker step, one per row (thumb-sized on a phone). */
export function pickKeyboard(
  key: Buffer,
  buttons: ReadonlyArray<{ label: string; id: string }>,
): InlineKeyboardMarkup {
  return {
    inline_keyboard: buttons.map((b) => [
      { text: b.label.slice(0, 64), callback_data: encodeCallback(key, 'pick', b.id) },
    ]),
  };
}
