import type { DeploymentWindows, WindowRule } from './environment.ts';

/**
 * Deployment windows (a config file may set them per environment). Pure: wall-clock math
 * in the windows' IANA time zone with `Intl.DateTimeFormat` only, so daylight-saving changes are
 * whatever the zone database says, not an offset fixed at start.
 *
 * A window is half-open: open exactly at `from`, closed exactly at `to`.
 */

export type WindowCheck =
  | { open: true }
  /** `nextOpening` is an epoch-ms instant; null only for windows that can never open (no days). */
  | { open: false; nextOpening: number | null };

const WEEKDAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] as const;
const SHORT_DAY: Record<string, number> = { Sun: 0, Mon: 1, Tue: 2, Wed: 3, Thu: 4, Fri: 5, Sat: 6 };

type LocalTime = { year: number; month: number; day: number; weekday: number; minutes: number };

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatterFor(timeZone: string): Intl.DateTimeFormat {
  let formatter = formatters.get(timeZone);
  if (!formatter) {
    formatter = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      weekday: 'short',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(timeZone, formatter);
  }
  return formatter;
}

function localParts(timeZone: string, instant: number): LocalTime & { seconds: number } {
  const parts: Record<string, string> = {};
  for (const part of formatterFor(timeZone).formatToParts(new Date(instant))) parts[part.type] = part.value;
  const hour = Number(parts.hour) % 24;
  return {
    year: Number(parts.year),
    month: Number(parts.month),
    day: Number(parts.day),
    weekday: SHORT_DAY[parts.weekday ?? ''] ?? 0,
    minutes: hour * 60 + Number(parts.minute),
    seconds: Number(parts.second),
  };
}

/** The zone's offset from UTC at `instant`, in ms (positive east of Greenwich). */
function offsetAt(timeZone: string, instant: number): number {
  const p = localParts(timeZone, instant);
  const asUtc = Date.UTC(p.year, p.month - 1, p.day, 0, p.minutes, p.seconds);
  return asUtc - Math.floor(instant / 1000) * 1000;
}

/**
 * The instant a local wall-clock time happens in the zone. A time skipped by a spring-forward gap
 * is moved forward by the gap's length (02:30 on a 02:00→03:00 night is 03:30, as Temporal's
 * "compatible" does); a time that happens twice maps to its later occurrence.
 */
export function zonedTimeToInstant(
  timeZone: string,
  year: number,
  month: number,
  day: number,
  minutes: number,
): number {
  const wall = Date.UTC(year, month - 1, day, 0, minutes);
  const first = wall - offsetAt(timeZone, wall);
  const second = wall - offsetAt(timeZone, first);
  if (first === second) return first;
  // In a gap the two guesses disagree; the later one lands after the jump.
  return Math.max(first, second);
}

function minutesOf(hhmm: string): number {
  const [h = '0', m = '0'] = hhmm.split(':');
  return Number(h) * 60 + Number(m);
}

function ruleCovers(rule: WindowRule, weekday: number, minutes: number): boolean {
  const day = WEEKDAYS[weekday];
  return (
    day !== undefined &&
    rule.days.includes(day) &&
    minutes >= minutesOf(rule.from) &&
    minutes < minutesOf(rule.to)
  );
}

/** Whether deployments are allowed at `now`, and if not, when the next window opens. */
export function checkWindow(windows: DeploymentWindows, now: number): WindowCheck {
  const zone = windows.timezone;
  const here = localParts(zone, now);
  if (windows.allow.some((rule) => ruleCovers(rule, here.weekday, here.minutes))) return { open: true };
  // Today and the next seven local days cover every weekly rule at least once.
  let best: number | null = null;
  for (let offset = 0; offset <= 7; offset++) {
    const date = new Date(Date.UTC(here.year, here.month - 1, here.day + offset));
    const weekday = date.getUTCDay();
    for (const rule of windows.allow) {
      const day = WEEKDAYS[weekday];
      if (day === undefined || !rule.days.includes(day)) continue;
      const opening = zonedTimeToInstant(
        zone,
        date.getUTCFullYear(),
        date.getUTCMonth() + 1,
        date.getUTCDate(),
        minutesOf(rule.from),
      );
      if (opening > now && (best === null || opening < best)) best = opening;
    }
    if (best !== null) break;
  }
  return { open: false, nextOpening: best };
}

/** "Mon 09:00 Europe/Berlin": an instant as the zone's wall clock, for a chat message. */
export function formatInZone(instant: number, timeZone: string): string {
  const p = localParts(timeZone, instant);
  const day = WEEKDAYS[p.weekday] ?? 'sun';
  const hh = String(Math.floor(p.minutes / 60)).padStart(2, '0');
  const mm = String(p.minutes % 60).padStart(2, '0');
  return `${day.charAt(0).toUpperCase()}${day.slice(1)} ${hh}:${mm} ${timeZone}`;
}

/** "Mon–Fri 09:00–17:00, Sat 10:00–12:00 (Europe/Berlin)": the windows in one line. */
export function describeWindows(windows: DeploymentWindows): string {
  const rules = windows.allow.map((rule) => {
    const days = rule.days.map((d) => `${d.charAt(0).toUpperCase()}${d.slice(1)}`).join(', ');
    return `${days} ${rule.from}–${rule.to}`;
  });
  return `${rules.join('; ')} (${windows.timezone})`;
}
