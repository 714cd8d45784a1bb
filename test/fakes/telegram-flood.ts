import { TelegramError } from './telegram-api-params.ts';

/** The flood limits the fake enforces (see `FakeTelegramOptions.limits`). */
export type FloodLimits = { enabled: boolean; perSecond: number; burst: number; perMinute: number };

/**
 * Telegram's flood control per chat: a token bucket (`perSecond`, `burst`) and, in groups (negative
 * chat ids), at most `perMinute` messages a minute. Counts the 429s it gave and the calls that came
 * back before the `retry_after` they were told.
 */
export class FloodControl {
  /** How many calls were refused with 429. */
  rateLimited = 0;
  /** How many calls came for a chat before the `retry_after` it was given had passed. */
  retryAfterViolations = 0;
  readonly #limits: FloodLimits;
  readonly #now: () => number;
  readonly #chats = new Map<number, { tokens: number; at: number; minute: number[]; retryUntil: number }>();

  constructor(limits: FloodLimits, now: () => number) {
    this.#limits = limits;
    this.#now = now;
  }

  /**
   * Counts a call against the chat. Handlers call it after the checks the Bot API server makes
   * itself: only requests that reach Telegram count.
   * @throws {TelegramError} the 429 `Too Many Requests: retry after N` Telegram would answer.
   */
  admit(chatId: number): void {
    const limits = this.#limits;
    if (!limits.enabled) return;
    const t = this.#now();
    let f = this.#chats.get(chatId);
    if (!f) {
      f = { tokens: limits.burst, at: t, minute: [], retryUntil: 0 };
      this.#chats.set(chatId, f);
    }
    if (t < f.retryUntil) this.retryAfterViolations += 1;
    f.tokens = Math.min(limits.burst, f.tokens + ((t - f.at) * limits.perSecond) / 1000);
    f.at = t;
    f.minute = f.minute.filter((hit) => hit > t - 60_000);
    let waitMs = f.tokens >= 1 ? 0 : ((1 - f.tokens) * 1000) / limits.perSecond;
    const oldest = f.minute[0];
    if (chatId < 0 && f.minute.length >= limits.perMinute && oldest !== undefined) {
      waitMs = Math.max(waitMs, oldest + 60_000 - t);
    }
    if (waitMs > 0) {
      const retryAfter = Math.max(1, Math.ceil(waitMs / 1000));
      f.retryUntil = t + retryAfter * 1000;
      this.rateLimited += 1;
      throw new TelegramError(429, `Too Many Requests: retry after ${retryAfter}`, retryAfter);
    }
    f.tokens -= 1;
    f.minute.push(t);
  }

  /** An injected error told a chat that has been seen to wait `retryAfter` seconds: calls before then count as violations. */
  noteRetryAfter(chatId: number, retryAfter: number): void {
    const f = this.#chats.get(chatId);
    if (f) f.retryUntil = this.#now() + retryAfter * 1000;
  }
}
