import type { Context } from 'grammy';

/** Telegram shows at most 200 characters in a callback answer. */
const TOAST_LIMIT = 200;

/** A callback answer's text, clipped to what Telegram shows (with an ellipsis when cut). */
export function clipToast(text: string): string {
  return text.length > TOAST_LIMIT ? `${text.slice(0, TOAST_LIMIT - 1)}…` : text;
}

/**
 * The message a button press came from; null, with the press already answered, when Telegram sent
 * none (a message too old, or a button of an inline result): such a press can act on nothing.
 */
export async function pressedMessage(
  ctx: Context & { callbackQuery: { data: string } },
): Promise<NonNullable<Context['callbackQuery']>['message'] | null> {
  const message = ctx.callbackQuery.message;
  if (message) return message;
  await ctx.answerCallbackQuery({ text: 'This button does not belong here.' });
  return null;
}
