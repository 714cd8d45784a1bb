/**
 * `npm run bench [-- --quick] [-- --reps N] [-- --only ingest,confirm,freshness,memory,start,micro]
 *  [-- --bot-root DIR] [-- --baseline DIR] [-- --out FILE]`
 *
 * The bot measured side by side with its peers on this machine, printed as a table and written as one
 * JSON file to bench/results/ with the machine noted. Servers run in their own processes pinned to one
 * core (`taskset`); this process (load generator, fakes of Telegram and GitHub) is pinned to another.
 * Everything talks over 127.0.0.1. Speed is judged here, never by timed assertions in tests.
 */
import { execFileSync } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus, loadavg, platform, release, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { pinSelf, usableCores } from './lib/processes.ts';
import { type ColdStartResult, coldStart } from './sections/cold-start.ts';
import { type ConfirmResult, confirm } from './sections/confirm.ts';
import type { Context } from './sections/context.ts';
import { type FreshnessResult, freshness } from './sections/freshness.ts';
import { type IngestResult, ingest } from './sections/ingest.ts';
import { type MemoryResult, memory } from './sections/memory.ts';
import { type MicroRow, micro } from './sections/micro.ts';
import { formatReport, type Report } from './table.ts';

const SECTIONS = ['ingest', 'confirm', 'freshness', 'memory', 'start', 'micro'] as const;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      reps: { type: 'string' },
      only: { type: 'string' },
      out: { type: 'string' },
      'bot-root': { type: 'string' },
      baseline: { type: 'string' },
    },
  });
  const only = values.only ? values.only.split(',') : [...SECTIONS];
  for (const name of only)
    if (!(SECTIONS as readonly string[]).includes(name)) throw new Error(`--only: unknown section ${name}`);
  const cores = usableCores();
  // The load generator and the fakes on the first core, every server on the last: never the same core.
  const loadCore = cores[0] ?? 0;
  const serverCore = cores.length > 1 ? (cores.at(-1) ?? null) : null;
  const pinned = serverCore !== null && pinSelf(loadCore);
  const ctx: Context = {
    quick: values.quick ?? false,
    reps: values.reps ? Number(values.reps) : null,
    serverCore: pinned ? serverCore : null,
    botRoot: values['bot-root'] ? resolve(values['bot-root']) : null,
    baselineRoot: values.baseline ? resolve(values.baseline) : null,
    log: (line) => process.stderr.write(`${line}\n`),
  };
  if (!pinned) ctx.log('warning: could not pin to separate cores (taskset, 2+ cores); servers share the CPU');
  const started = Date.now();
  const report: Report = {
    date: new Date().toISOString(),
    quick: ctx.quick,
    machine: machine(),
    pinning: pinned ? { loadCore, serverCore } : null,
    loadAverageAtStart: loadavg().map((l) => Math.round(l * 100) / 100),
    commit: ctx.botRoot ? `bot from ${ctx.botRoot}` : git(['rev-parse', '--short', 'HEAD']),
    dirty: git(['status', '--porcelain', '--untracked-files=no', '--', 'src']) !== '',
    ingest: null as IngestResult | null,
    confirm: null as ConfirmResult | null,
    freshness: null as FreshnessResult | null,
    memory: null as MemoryResult | null,
    coldStart: null as ColdStartResult | null,
    micro: null as MicroRow[] | null,
    seconds: 0,
  };
  const step = async <T>(name: (typeof SECTIONS)[number], run: () => Promise<T>): Promise<T | null> => {
    if (!only.includes(name)) return null;
    const t = Date.now();
    ctx.log(`${name}…`);
    const result = await run();
    ctx.log(`${name}: ${((Date.now() - t) / 1000).toFixed(0)} s`);
    return result;
  };
  report.ingest = await step('ingest', () => ingest(ctx));
  report.confirm = await step('confirm', () => confirm(ctx));
  report.freshness = await step('freshness', () => freshness(ctx));
  report.memory = await step('memory', () => memory(ctx));
  report.coldStart = await step('start', () => coldStart(ctx));
  report.micro = await step('micro', () => micro(ctx));
  report.seconds = Math.round((Date.now() - started) / 1000);

  const dir = join(import.meta.dirname, 'results');
  await mkdir(dir, { recursive: true });
  const file =
    values.out ??
    join(dir, `${report.date.slice(0, 16).replace(':', '')}-${ctx.quick ? 'quick' : 'full'}.json`);
  await writeFile(file, `${JSON.stringify(report, null, 2)}\n`);
  process.stdout.write(`${formatReport(report)}\nwritten to ${file}\n`);
}

function machine() {
  const cpu = cpus();
  return {
    cpu: cpu[0]?.model ?? 'unknown',
    cores: cpu.length,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    platform: `${platform()} ${release()}`,
    node: process.version,
  };
}

function git(args: string[]): string {
  try {
    return execFileSync('git', args, { cwd: import.meta.dirname, encoding: 'utf8' }).trim();
  } catch {
    return '';
  }
}

await main();
