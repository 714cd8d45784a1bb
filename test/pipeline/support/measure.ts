import { readFileSync } from 'node:fs';
import { failed, type Sample } from './load-loop.ts';

/** What one scenario measured (docs/zero-downtime.md has the table). */
export interface Measurement {
  strategy: 'recreate' | 'blue-green' | 'canary';
  scenario: string;
  /** Exit code of the host script (through the gate, over ssh). */
  exitCode: number;
  /** Requests the load loop sent through nginx during the scenario, and how many failed. */
  sent: number;
  failed: number;
  /** Answers by version (the test images answer with their tag). */
  servedBy: Record<string, number>;
  /**
   * From the moment the script starts the switch (its log line "switching at <ms>", or for
   * recreate "replacing the container at <ms>") to the first answer of the new version; null when
   * nothing was switched.
   */
  switchMs: number | null;
  /** From the first failed request's start to the last one's end (0 when none failed). */
  failureWindowMs: number;
  /** How long the host script ran (ssh included). */
  scriptMs: number;
  /** Canary steps: the weight, the canary's share of the answers and of nginx's first attempts. */
  steps?: Array<{
    weight: number;
    exitCode: number;
    requests: number;
    answerShare: number;
    attemptShare: number;
  }>;
}

/** Epoch ms of a "... at <ms> ms" log line of the host scripts, or null. */
export function markAt(output: string, words: string): number | null {
  const match = new RegExp(`${words} at (\\d{13}) ms`).exec(output);
  return match?.[1] ? Number(match[1]) : null;
}

/** Summarises the samples of one scenario. */
export function summarise(
  samples: Sample[],
  options: { switchingAt: number | null; newVersion: string | null },
): Pick<Measurement, 'sent' | 'failed' | 'servedBy' | 'switchMs' | 'failureWindowMs'> {
  const servedBy: Record<string, number> = {};
  for (const s of samples) {
    const key = failed(s) ? `failed (${s.status || s.error || 'no answer'})` : s.body;
    servedBy[key] = (servedBy[key] ?? 0) + 1;
  }
  const failures = samples.filter(failed);
  let switchMs: number | null = null;
  if (options.switchingAt !== null && options.newVersion !== null) {
    const first = samples.find(
      (s) => s.body === options.newVersion && s.status === 200 && s.endedAt >= (options.switchingAt ?? 0),
    );
    switchMs = first ? first.endedAt - options.switchingAt : null;
  }
  const firstFailure = failures[0];
  const lastFailure = failures.at(-1);
  return {
    sent: samples.length,
    failed: failures.length,
    servedBy,
    switchMs,
    failureWindowMs: firstFailure && lastFailure ? lastFailure.endedAt - firstFailure.sentAt : 0,
  };
}

/** The canary's share (percent) of the answers sent and ended within [from, to]. */
export function answerShare(samples: Sample[], from: number, to: number, canaryVersion: string): number {
  const inWindow = samples.filter((s) => s.sentAt >= from && s.endedAt <= to && s.status === 200);
  if (inWindow.length === 0) return 0;
  return (100 * inWindow.filter((s) => s.body === canaryVersion).length) / inWindow.length;
}

/**
 * The canary's share (percent) of nginx's first attempts logged within [from, to] (the edge's
 * `deploybot` log format: $msec|$status|$upstream_addr|$upstream_status). A canary answer nginx
 * retried on the stable colour still counts here.
 */
export function attemptShare(accessLog: string, from: number, to: number, canaryAddress: string): number {
  const first = readFileSync(accessLog, 'utf8')
    .split('\n')
    .map((line) => line.split('|'))
    .filter((f) => f.length >= 4 && Number(f[0]) * 1000 >= from && Number(f[0]) * 1000 <= to)
    .map((f) => (f[2] ?? '').split(', ')[0]);
  if (first.length === 0) return 0;
  return (100 * first.filter((a) => a === canaryAddress).length) / first.length;
}

/** A Markdown table, columns padded. */
function markdown(head: string[], rows: string[][]): string {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join(' | ')} |`;
  return [line(head), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

/** The canary steps of the measurements as a Markdown table. */
export function stepTable(results: Measurement[]): string {
  const rows = results.flatMap((r) =>
    (r.steps ?? []).map((s) => [
      r.scenario,
      `${s.weight} %`,
      String(s.exitCode),
      String(s.requests),
      `${s.answerShare} %`,
      `${s.attemptShare} %`,
    ]),
  );
  const head = ['canary', 'weight', 'exit', 'requests judged', 'share of answers', 'share of attempts'];
  return markdown(head, rows);
}

/** The measurements as a Markdown table (what docs/zero-downtime.md shows). */
export function table(results: Measurement[]): string {
  const rows = results.map((r) => [
    r.strategy,
    r.scenario,
    String(r.exitCode),
    String(r.sent),
    String(r.failed),
    r.switchMs === null ? '—' : `${r.switchMs} ms`,
    r.failureWindowMs ? `${r.failureWindowMs} ms` : '—',
    `${(r.scriptMs / 1000).toFixed(1)} s`,
  ]);
  const head = [
    'strategy',
    'scenario',
    'exit',
    'requests',
    'failed',
    'switch',
    'failing for',
    'ssh + script',
  ];
  return markdown(head, rows);
}
