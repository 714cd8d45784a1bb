import { describe, expect, it } from 'vitest';
import { formatLockDuration, looksLikeDuration, parseLockDuration } from './lock-duration.ts';

describe('parseLockDuration', () => {
  it.each([
    ['30m', 30 * 60_000],
    ['2h', 2 * 3600_000],
    ['1d', 24 * 3600_000],
    ['1h30m', 90 * 60_000],
    ['7d', 7 * 24 * 3600_000],
    [' 2H ', 2 * 3600_000],
  ])('reads %j', (text, ms) => {
    expect(parseLockDuration(text)).toEqual({ ok: true, ms });
  });

  it.each([
    ['8d', 'at most 7 days'],
    ['169h', 'at most 7 days'],
    ['0m', 'at least 1 minute'],
    ['2x', 'is not a duration'],
    ['2', 'is not a duration'],
    ['h', 'is not a duration'],
    ['', 'is not a duration'],
    ['-1h', 'is not a duration'],
    ['1.5h', 'is not a duration'],
    ['30m2h', 'is not a duration'],
  ])('refuses %j with a clear message', (text, message) => {
    const parsed = parseLockDuration(text);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) {
      expect(parsed.message).toContain(message);
      expect(parsed.message).toContain('30m, 2h, 1d');
    }
  });

  it('tells a duration-like word from the start of a reason', () => {
    expect(looksLikeDuration('2h')).toBe(true);
    expect(looksLikeDuration('10y')).toBe(true);
    expect(looksLikeDuration('release')).toBe(false);
    expect(looksLikeDuration('v2')).toBe(false);
  });

  it('formats to the minute', () => {
    expect(formatLockDuration(2 * 3600_000)).toBe('2h');
    expect(formatLockDuration(28 * 3600_000 + 5 * 60_000)).toBe('1d 4h 5m');
    expect(formatLockDuration(20_000)).toBe('0m');
  });
});
