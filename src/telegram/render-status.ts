import { formatInZone } from '../core/deployment-window.ts';
import type { EnvironmentSpec } from '../core/environment.ts';
import type { HistoryEntry } from '../deploy/deployment-history.ts';
import type { EnvironmentStatus } from '../deploy/environment-status.ts';
import { escapeHtml, formatDuration, link } from './html.ts';

/** "3m 05s ago", "just now". */
function ago(ms: number): string {
  return ms < 5_000 ? 'just now' : `${formatDuration(ms)} ago`;
}

function utc(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

/** The /status answer: one block per environment. Everything from GitHub or users is escaped. */
export function renderStatus(
  statuses: readonly EnvironmentStatus[],
  environments: readonly EnvironmentSpec[],
  now: number,
): string {
  const blocks = statuses.map((s) => {
    const env = environments.find((e) => e.name === s.name);
    const lines = [`<b>${escapeHtml(s.name)}</b>`];
    if (s.current) {
      const c = s.current;
      const subject = c.subject ? ` ${escapeHtml(c.subject.slice(0, 80))}` : '';
      const who = c.source === 'telegram' ? `${escapeHtml(c.by)} (Telegram)` : `${escapeHtml(c.by)} (GitHub)`;
      lines.push(`Running <code>${c.sha.slice(0, 7)}</code>${subject}`);
      lines.push(`Deployed ${ago(now - Date.parse(c.at))} (${utc(Date.parse(c.at))}) by ${who}`);
    } else if (s.currentError) {
      lines.push(`Running: unknown (${escapeHtml(s.currentError)})`);
    } else {
      lines.push('Running: nothing deployed yet');
    }
    if (s.health) {
      lines.push(
        s.health.up
          ? `Health: 🟢 up, ${s.health.latencyMs} ms`
          : `Health: 🔴 down (${escapeHtml(s.health.detail)}, ${s.health.latencyMs} ms)`,
      );
    } else {
      lines.push('Health: no health URL configured');
    }
    if (s.inFlight) {
      const d = s.inFlight;
      const verb = d.action === 'rollback' ? 'Rollback' : 'Deploy';
      lines.push(
        `In flight: ${verb} <code>${d.sha.slice(0, 7)}</code> · ${d.state.replace('_', ' ')} · ${escapeHtml(d.requesterName)} · ${link(d.runUrl, 'run')}`,
      );
    }
    if (s.lock) {
      const zone = env?.windows?.timezone ?? 'UTC';
      lines.push(
        `🔒 Locked by ${escapeHtml(s.lock.ownerName)} until ${escapeHtml(formatInZone(s.lock.expiresAt, zone))} (in ${formatDuration(s.lock.expiresAt - now)}): ${escapeHtml(s.lock.reason)}`,
      );
    }
    return lines.join('\n');
  });
  return blocks.join('\n\n');
}

const OUTCOME_ICON: Record<string, string> = {
  succeeded: '✅',
  failed: '❌',
  error: '❌',
  'rolled back': '↩️',
  'rollback failed': '🔥',
  cancelled: '⛔',
  'timed out': '⌛',
  inactive: '▫️',
};

/**
 * The /history answer, newest first, saying where each line comes from. `environment` as the
 * commands name it (`shop staging` where there are several services).
 */
export function renderHistory(environment: string, entries: readonly HistoryEntry[]): string {
  const head = `<b>History of ${escapeHtml(environment)}</b> (last ${entries.length}; from GitHub's Deployments API, matched with the bot's records: "via Telegram")`;
  if (entries.length === 0) return `${head}\nNo deployments yet.`;
  const lines = entries.map((e) => {
    const icon = OUTCOME_ICON[e.outcome] ?? '⏳';
    const what = e.subject
      ? ` ${escapeHtml(e.subject.slice(0, 60))}`
      : ` (${escapeHtml(e.ref.slice(0, 40))})`;
    const rollback = e.action === 'rollback' ? ' rollback' : '';
    const who = e.source === 'github' ? `${escapeHtml(e.by)} on GitHub` : `${escapeHtml(e.by)} via Telegram`;
    const took = e.durationMs !== null ? ` in ${formatDuration(e.durationMs)}` : '';
    const botOnly = e.source === 'telegram' ? ' · not on GitHub (ended before the deploy job)' : '';
    const unverified = e.trusted
      ? ''
      : ' · ⚠️ unverified: not made by the deploy workflow on the default branch';
    return `${icon} <code>${e.sha.slice(0, 7)}</code>${what}${rollback} · ${escapeHtml(e.outcome)}${took} · ${who} · ${utc(e.at)}${botOnly}${unverified}`;
  });
  return [head, ...lines].join('\n');
}
