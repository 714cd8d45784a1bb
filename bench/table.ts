import type { ColdStartResult } from './sections/cold-start.ts';
import type { ConfirmResult } from './sections/confirm.ts';
import type { FreshnessResult } from './sections/freshness.ts';
import type { IngestResult } from './sections/ingest.ts';
import type { MemoryResult } from './sections/memory.ts';
import type { MicroRow } from './sections/micro.ts';

/** What `npm run bench` writes to bench/results/. */
export type Report = {
  date: string;
  quick: boolean;
  machine: { cpu: string; cores: number; memoryGiB: number; platform: string; node: string };
  pinning: { loadCore: number; serverCore: number } | null;
  loadAverageAtStart: number[];
  commit: string;
  /** Whether src/ had uncommitted changes. */
  dirty: boolean;
  ingest: IngestResult | null;
  confirm: ConfirmResult | null;
  freshness: FreshnessResult | null;
  memory: MemoryResult | null;
  coldStart: ColdStartResult | null;
  micro: MicroRow[] | null;
  seconds: number;
};

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    `| ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join(' | ')} |`;
  const rule = `| ${widths.map((w, i) => (i === 0 ? '-'.repeat(w) : `${'-'.repeat(Math.max(1, w - 1))}:`)).join(' | ')} |`;
  return [line(header), rule, ...rows.map(line)].join('\n');
}

const SERVER_LABELS = {
  floor: 'floor (node:http + HMAC)',
  bot: 'this bot',
  probot: 'Probot 14',
  baseline: 'this bot, baseline (--baseline)',
} as const;

const ms = (n: number, digits = 2) => `${n.toFixed(digits)} ms`;
const verdict = (ok: boolean) => (ok ? 'met' : '**missed**');

/** The report as Markdown: the ingest comparison, then the goals, then the micro-benchmarks. */
export function formatReport(r: Report): string {
  const out: string[] = [];
  const m = r.machine;
  out.push(
    `${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB, Node ${m.node}, ${r.date.slice(0, 10)}` +
      `${r.quick ? ' (quick run)' : ''}; commit ${r.commit}${r.dirty ? ' (modified)' : ''}; ` +
      `load average at start ${r.loadAverageAtStart.join(', ')}; ${r.seconds} s`,
  );
  const i = r.ingest;
  if (i) {
    out.push(
      '',
      `Webhook ingest: ${i.mix.deliveries} signed deliveries from @octokit/webhooks-examples (mean ${(i.mix.meanBodyBytes / 1000).toFixed(1)} kB), ` +
        `${Math.round((1 - i.mix.oursShare) * 100)}% other repositories, ${Math.round(i.mix.oursShare * 100)}% ${i.mix.repository} workflow_run/workflow_job; ` +
        `each server alone on core ${r.pinning?.serverCore ?? '(unpinned)'}; median of ${i.repetitions}`,
      '',
      table(
        [
          'server',
          'req/s (32 conns)',
          '× floor',
          'p50 @ 500/s',
          '× floor',
          'p99 @ 500/s',
          'p50 (32 conns)',
          'CPU/req',
          'RSS',
        ],
        i.rows.map((row) => [
          SERVER_LABELS[row.server],
          String(Math.round(row.throughput)),
          `${row.throughputVsFloor.toFixed(2)}×`,
          ms(row.p50At500, 3),
          `${row.p50At500VsFloor.toFixed(2)}×`,
          ms(row.p99At500),
          ms(row.p50AtMax),
          `${row.cpuUsPerRequest.toFixed(0)} µs`,
          `${row.rssMB.toFixed(0)} MB`,
        ]),
      ),
    );
  }
  const goals: string[][] = [];
  const bot = i?.rows.find((row) => row.server === 'bot');
  if (bot) {
    goals.push([
      'ingest throughput',
      '≥ 0.75× floor',
      `${bot.throughputVsFloor.toFixed(2)}×`,
      verdict(bot.throughputVsFloor >= 0.75),
    ]);
    goals.push([
      'ingest p50 at 500 req/s',
      '≤ 1.3× floor',
      `${bot.p50At500VsFloor.toFixed(2)}×`,
      verdict(bot.p50At500VsFloor <= 1.3),
    ]);
  }
  if (r.confirm) {
    const c = r.confirm.pressToDispatch;
    goals.push([
      `Confirm → dispatch sent (n=${c.n})`,
      '≤ 20 ms p99',
      `p50 ${ms(c.p50, 1)}, p99 ${ms(c.p99, 1)} (first press ${ms(r.confirm.firstPressMs, 0)})`,
      verdict(c.p99 <= 20),
    ]);
  }
  if (r.freshness) {
    const p = r.freshness.privateChat;
    const g = r.freshness.group;
    goals.push([
      `freshness, private chat (${p.events} changes)`,
      '≤ 2 s',
      `p50 ${ms(p.freshness.p50, 0)}, p99 ${ms(p.freshness.p99, 0)}, max ${ms(p.freshness.max, 0)}; ${p.rateLimited} × 429`,
      verdict(p.freshness.max <= 2000),
    ]);
    goals.push([
      `ten deployments in one group (${g.events} changes, ${g.edits} edits)`,
      '0 × 429',
      `${g.rateLimited} × 429; freshness p50 ${(g.freshness.p50 / 1000).toFixed(1)} s, p99 ${(g.freshness.p99 / 1000).toFixed(1)} s`,
      verdict(g.rateLimited === 0 && g.retryAfterViolations === 0),
    ]);
  }
  if (r.memory) {
    goals.push([
      `RSS with ${r.memory.deployments} deployments tracked`,
      '≤ 120 MB',
      `${r.memory.rssMB.toFixed(0)} MB (peak ${r.memory.peakRssMB.toFixed(0)} MB, at ready ${r.memory.rssAtReadyMB.toFixed(0)} MB)`,
      verdict(r.memory.rssMB <= 120),
    ]);
  }
  if (r.coldStart) {
    goals.push([
      'cold start to /readyz 200',
      '≤ 1 s',
      `restart ${ms(r.coldStart.restartMs, 0)} (first start, new database: ${ms(r.coldStart.firstMs, 0)})`,
      verdict(r.coldStart.restartMs <= 1000 && r.coldStart.firstMs <= 1000),
    ]);
  }
  if (goals.length) out.push('', table(['measure', 'goal', 'measured', ''], goals));
  if (r.micro) {
    out.push(
      '',
      table(
        ['in-process', 'p50', 'p95'],
        r.micro.map((row) => [row.name, ms(row.p50Ms, 3), ms(row.p95Ms, 3)]),
      ),
    );
  }
  return out.join('\n');
}
