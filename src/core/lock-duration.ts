/** Lock durations typed in a chat: `30m`, `2h`, `1d`, or combined `1h30m`. Pure. */

export const DEFAULT_LOCK_MS = 4 * 3600_000;
export const MAX_LOCK_MS = 7 * 24 * 3600_000;
const MIN_LOCK_MS = 60_000;

export type DurationParse = { ok: true; ms: number } | { ok: false; message: string };

const UNIT_MS: Record<string, number> = { d: 24 * 3600_000, h: 3600_000, m: 60_000 };
const SHAPE = /^(?:(\d{1,4})d)?(?:(\d{1,5})h)?(?:(\d{1,6})m)?$/;

/**
 * Whether a word is meant as a duration (digits then letters): `/lock prod 2x freeze` should say
 * "2x is not a duration", not lock with the reason "2x freeze".
 */
export function looksLikeDuration(word: string): boolean {
  return /^\d+[a-z]+(?:\d+[a-z]+)*$/i.test(word);
}

/** Parses a lock duration; bad input gets a message that says what is accepted. Never throws. */
export function parseLockDuration(text: string): DurationParse {
  const word = text.trim().toLowerCase();
  const match = SHAPE.exec(word);
  const help = 'Give a duration like 30m, 2h, 1d or 1h30m (at most 7 days).';
  if (word === '' || !match || match.slice(1).every((part) => part === undefined)) {
    return { ok: false, message: `"${word.slice(0, 20)}" is not a duration. ${help}` };
  }
  const [, d = '0', h = '0', m = '0'] = match;
  const ms = Number(d) * (UNIT_MS.d ?? 0) + Number(h) * (UNIT_MS.h ?? 0) + Number(m) * (UNIT_MS.m ?? 0);
  if (ms < MIN_LOCK_MS) return { ok: false, message: `A lock lasts at least 1 minute. ${help}` };
  if (ms > MAX_LOCK_MS) return { ok: false, message: `A lock lasts at most 7 days. ${help}` };
  return { ok: true, ms };
}

/** "2h", "1d 4h", "45m": a duration for a chat line, to the minute. */
export function formatLockDuration(ms: number): string {
  const totalMinutes = Math.max(0, Math.round(ms / 60_000));
  const d = Math.floor(totalMinutes / 1440);
  const h = Math.floor((totalMinutes % 1440) / 60);
  const m = totalMinutes % 60;
  const parts = [d ? `${d}d` : '', h ? `${h}h` : '', m ? `${m}m` : ''].filter(Boolean);
  return parts.length ? parts.join(' ') : '0m';
}
