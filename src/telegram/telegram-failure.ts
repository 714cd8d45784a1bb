import { GrammyError } from 'grammy';

/**
 * What a failed Bot API call means for the message it carried:
 * - `not_modified`: an edit that changes nothing ("message is not modified"): delivered;
 * - `flood`: a 429; the chat must wait `retryAfterMs` before the next call;
 * - `transient`: a 5xx, nginx's HTML error page, a reset or a timeout: try again soon;
 * - `permanent`: Telegram refused it for good (the message is gone, the bot was blocked, a bad
 *   request): trying again would fail forever.
 */
export type TelegramFailure =
  | { kind: 'not_modified' }
  | { kind: 'flood'; retryAfterMs: number }
  | { kind: 'transient' }
  | { kind: 'permanent'; code: number };

/** Reads a grammY error (or anything else thrown by a call) as a {@link TelegramFailure}. */
export function classifyTelegramFailure(error: unknown): TelegramFailure {
  if (error instanceof GrammyError) {
    if (error.error_code === 400 && /message is not modified/i.test(error.description))
      return { kind: 'not_modified' };
    if (error.error_code === 429) {
      const seconds = error.parameters.retry_after ?? 5;
      return { kind: 'flood', retryAfterMs: Math.max(1, seconds) * 1000 };
    }
    // 400: the message is gone or cannot be edited, the chat does not exist; 403: the bot was blocked.
    if (error.error_code === 400 || error.error_code === 403)
      return { kind: 'permanent', code: error.error_code };
    // A 5xx, or a code that says nothing about this message (401 while a token is swapped, 409, …).
    return { kind: 'transient' };
  }
  // grammY's HttpError: the network, a timeout, or an answer that is not the Bot API's JSON (nginx's
  // 502 page). Anything else thrown around a call is treated alike: keep it owed, try again soon.
  return { kind: 'transient' };
}

/** Waits between tries of one chat while Telegram fails: 1 s, 2 s, 4 s, then 5 s (ms). */
export function backoffMs(failures: number): number {
  return Math.min(5000, 1000 * 2 ** Math.max(0, failures - 1));
}
