import { describe, expect, it } from 'vitest';
import { checkWindow, describeWindows, formatInZone, zonedTimeToInstant } from './deployment-window.ts';
import type { DeploymentWindows } from './environment.ts';

const weekdays: DeploymentWindows = {
  timezone: 'Europe/Berlin',
  allow: [{ days: ['mon', 'tue', 'wed', 'thu', 'fri'], from: '09:00', to: '17:00' }],
};
const at = (iso: string) => Date.parse(iso);

describe('checkWindow', () => {
  it('is open exactly at from and closed exactly at to', () => {
    // Wed 2026-01-14, Berlin is UTC+1 in winter.
    expect(checkWindow(weekdays, at('2026-01-14T07:59:59Z'))).toEqual({
      open: false,
      nextOpening: at('2026-01-14T08:00:00Z'),
    });
    expect(checkWindow(weekdays, at('2026-01-14T08:00:00Z'))).toEqual({ open: true });
    expect(checkWindow(weekdays, at('2026-01-14T15:59:59Z'))).toEqual({ open: true });
    expect(checkWindow(weekdays, at('2026-01-14T16:00:00Z'))).toEqual({
      open: false,
      nextOpening: at('2026-01-15T08:00:00Z'),
    });
  });

  it('finds the next opening across a weekend', () => {
    // Friday 17:00 Berlin → Monday 09:00 Berlin.
    const friday = at('2026-01-16T16:00:00Z');
    const check = checkWindow(weekdays, friday);
    expect(check).toEqual({ open: false, nextOpening: at('2026-01-19T08:00:00Z') });
    if (!check.open && check.nextOpening !== null)
      expect(formatInZone(check.nextOpening, 'Europe/Berlin')).toBe('Mon 09:00 Europe/Berlin');
    // Saturday and Sunday: the same Monday.
    expect(checkWindow(weekdays, at('2026-01-17T12:00:00Z'))).toMatchObject({
      nextOpening: at('2026-01-19T08:00:00Z'),
    });
    expect(checkWindow(weekdays, at('2026-01-18T22:59:00Z'))).toMatchObject({
      nextOpening: at('2026-01-19T08:00:00Z'),
    });
  });

  it('opens at 09:00 local on both sides of the spring daylight-saving change', () => {
    // Sunday 2026-03-29 Berlin goes from UTC+1 to UTC+2 at 01:00 UTC.
    const sundays: DeploymentWindows = {
      timezone: 'Europe/Berlin',
      allow: [{ days: ['sat', 'sun', 'mon'], from: '09:00', to: '10:00' }],
    };
    expect(checkWindow(sundays, at('2026-03-28T12:00:00Z'))).toEqual({
      open: false,
      nextOpening: at('2026-03-29T07:00:00Z'),
    });
    expect(checkWindow(sundays, at('2026-03-28T08:00:00Z'))).toEqual({ open: true }); // Sat 09:00 CET
    expect(checkWindow(sundays, at('2026-03-29T06:59:59Z'))).toMatchObject({ open: false });
    expect(checkWindow(sundays, at('2026-03-29T07:00:00Z'))).toEqual({ open: true }); // Sun 09:00 CEST
    expect(checkWindow(sundays, at('2026-03-29T08:00:00Z'))).toEqual({
      open: false,
      nextOpening: at('2026-03-30T07:00:00Z'),
    });
  });

  it('opens at 09:00 local on both sides of the autumn daylight-saving change', () => {
    // Sunday 2026-10-25 Berlin goes from UTC+2 back to UTC+1 at 01:00 UTC.
    const daily: DeploymentWindows = {
      timezone: 'Europe/Berlin',
      allow: [{ days: ['sat', 'sun'], from: '09:00', to: '10:00' }],
    };
    expect(checkWindow(daily, at('2026-10-24T07:00:00Z'))).toEqual({ open: true }); // Sat 09:00 CEST
    const check = checkWindow(daily, at('2026-10-24T09:00:00Z'));
    expect(check).toEqual({ open: false, nextOpening: at('2026-10-25T08:00:00Z') });
    if (!check.open && check.nextOpening !== null)
      expect(formatInZone(check.nextOpening, 'Europe/Berlin')).toBe('Sun 09:00 Europe/Berlin');
    expect(checkWindow(daily, at('2026-10-25T07:30:00Z'))).toMatchObject({ open: false });
    expect(checkWindow(daily, at('2026-10-25T08:00:00Z'))).toEqual({ open: true });
  });

  it('handles 24:00, several rules and other zones', () => {
    const windows: DeploymentWindows = {
      timezone: 'America/New_York',
      allow: [
        { days: ['sun'], from: '22:00', to: '24:00' },
        { days: ['tue'], from: '06:30', to: '07:00' },
      ],
    };
    // Sunday 23:59 New York (EST, UTC-5) is open; Monday 00:00 is not; next is Tuesday 06:30.
    expect(checkWindow(windows, at('2026-01-19T04:59:00Z'))).toEqual({ open: true });
    expect(checkWindow(windows, at('2026-01-19T05:00:00Z'))).toEqual({
      open: false,
      nextOpening: at('2026-01-20T11:30:00Z'),
    });
    expect(formatInZone(at('2026-01-20T11:30:00Z'), 'America/New_York')).toBe('Tue 06:30 America/New_York');
    // Tuesday after its window: Sunday 22:00 New York is Monday 03:00 UTC.
    expect(checkWindow(windows, at('2026-01-20T12:00:00Z'))).toMatchObject({
      nextOpening: at('2026-01-26T03:00:00Z'),
    });
    // A single weekly window that just closed opens again on the same weekday next week.
    const tuesdays: DeploymentWindows = {
      timezone: 'UTC',
      allow: [{ days: ['tue'], from: '06:30', to: '07:00' }],
    };
    expect(checkWindow(tuesdays, at('2026-01-20T07:00:00Z'))).toMatchObject({
      nextOpening: at('2026-01-27T06:30:00Z'),
    });
  });

  it('maps a wall time inside a spring-forward gap past the gap', () => {
    expect(zonedTimeToInstant('Europe/Berlin', 2026, 3, 29, 2 * 60 + 30)).toBe(at('2026-03-29T01:30:00Z'));
    expect(zonedTimeToInstant('Europe/Berlin', 2026, 7, 1, 9 * 60)).toBe(at('2026-07-01T07:00:00Z'));
  });

  it('describes the windows in one line', () => {
    expect(describeWindows(weekdays)).toBe('Mon, Tue, Wed, Thu, Fri 09:00–17:00 (Europe/Berlin)');
  });
});
