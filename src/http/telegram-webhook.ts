import type { Handler } from 'hono';
import { parseJson } from './parse-json.ts';
import { readLimitedBody } from './read-limited-body.ts';

export type TelegramWebhookOptions = {
  maxBodyBytes: number;
  handleUpdate: (update: { update_id: number }) => Promise<void>;
  /** False while the bot has not reached Telegram yet (it cannot handle updates then). */
  ready: () => boolean;
  /** Told every request's outcome (`ok`, `bad_request`, `too_large`, `not_ready`, `error`). */
  count: (outcome: string) => void;
  onError: (error: unknown) => void;
};

/**
 * `POST /telegram/webhook`, after the secret header was checked (`requireSecretHeader`): 413 over the
 * size limit, 400 for anything but an update, 503 while the bot has not reached Telegram yet (Telegram
 * sends it again), else 200 once the update was handled. A handler that
 * fails still gets 200: the update is remembered, so Telegram's re-send would change nothing.
 */
export function telegramWebhook(options: TelegramWebhookOptions): Handler {
  const { count } = options;
  return async function telegramWebhookRoute(c) {
    const read = await readLimitedBody(c.req.raw, options.maxBodyBytes);
    if (!read.ok) {
      count(read.status === 413 ? 'too_large' : 'bad_request');
      return c.json(
        { ok: false, error: read.status === 413 ? 'body too large' : 'unreadable body' },
        read.status,
      );
    }
    const update = parseJson(read.body);
    if (!isUpdate(update)) {
      count('bad_request');
      return c.json({ ok: false, error: 'not a Telegram update' }, 400);
    }
    if (!options.ready()) {
      // Telegram sends the update again later; answering 200 would lose it.
      count('not_ready');
      return c.json({ ok: false, error: 'not ready: the bot has not reached Telegram yet' }, 503);
    }
    try {
      await options.handleUpdate(update);
      count('ok');
    } catch (error) {
      count('error');
      options.onError(error);
    }
    return c.json({ ok: true });
  };
}

function isUpdate(value: unknown): value is { update_id: number } {
  return (
    typeof value === 'object' &&
    value !== null &&
    'update_id' in value &&
    Number.isSafeInteger(value.update_id) &&
    (value.update_id as number) >= 0
  );
}
