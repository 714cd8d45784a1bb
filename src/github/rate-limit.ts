/**
 * GitHub's rate limits, read from an answer: when the limit lifts, and the sentence a user can act
 * on. Primary limit: 403 or 429 with `x-ratelimit-remaining: 0`, lifting at `x-ratelimit-reset`
 * (epoch seconds). Secondary limit: 403 or 429 with `retry-after` (seconds), or without it, where
 * GitHub's guidance is to wait at least a minute.
 * (docs.github.com/rest/using-the-rest-api/best-practices-for-using-the-rest-api#handle-rate-limit-errors-appropriately)
 */

/** A limit GitHub reported, and when it lifts. */
export type RateLimit = { kind: 'primary' | 'secondary'; retryAt: number; userMessage: string };

/** GitHub's guidance for a secondary rate limit that names no time: wait at least a minute. */
export const SECONDARY_FALLBACK_MS = 60_000;

type Headers = Record<string, string | number | undefined>;

/** The rate limit an answer reports, or null when it is not one (a plain 403 is a permission problem). */
export function rateLimitOf(
  status: number,
  headers: Headers,
  message: string,
  now: number,
): RateLimit | null {
  if (status !== 403 && status !== 429) return null;
  const retryAfter = Number(headers['retry-after']);
  const secondary = /secondary rate limit/i.test(message);
  if (Number.isFinite(retryAfter) && headers['retry-after'] !== undefined) {
    return secondaryLimit(now + Math.max(0, retryAfter) * 1000, now);
  }
  const reset = Number(headers['x-ratelimit-reset']);
  if (String(headers['x-ratelimit-remaining']) === '0' && !secondary && Number.isFinite(reset)) {
    const retryAt = Math.max(reset * 1000, now);
    return {
      kind: 'primary',
      retryAt,
      userMessage: `GitHub’s rate limit resets at ${clockTime(retryAt)} (in ${formatWait(retryAt - now)}). Try again then.`,
    };
  }
  if (secondary || status === 429 || /rate limit/i.test(message)) {
    return secondaryLimit(now + SECONDARY_FALLBACK_MS, now);
  }
  return null;
}

function secondaryLimit(retryAt: number, now: number): RateLimit {
  return {
    kind: 'secondary',
    retryAt,
    userMessage: `GitHub asked the bot to slow down (secondary rate limit). Try again after ${clockTime(retryAt)} (in ${formatWait(retryAt - now)}).`,
  };
}

/** "14:05 UTC" (rounded up to the next minute, so "after" holds). */
export function clockTime(ms: number): string {
  return `${new Date(Math.ceil(ms / 60_000) * 60_000).toISOString().slice(11, 16)} UTC`;
}

/** "3 s", "12 min", "1 h 5 min": how long until then, rounded up. */
export function formatWait(ms: number): string {
  const seconds = Math.max(1, Math.ceil(ms / 1000));
  if (seconds < 60) return `${seconds} s`;
  const minutes = Math.ceil(seconds / 60);
  if (minutes < 60) return `${minutes} min`;
  const rest = minutes % 60;
  return `${Math.floor(minutes / 60)} h${rest ? ` ${rest} min` : ''}`;
}
