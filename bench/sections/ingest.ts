import { join } from 'node:path';
import { type Bot, GITHUB_SECRET, OWNER, REPO, startBot, startFakes } from '../lib/bot.ts';
import { fixedRate, type LoadResult, prepare, throughput } from '../lib/http-load.ts';
import { deliveryMix } from '../lib/payloads.ts';
import { freePort, type ServerProcess, startServer } from '../lib/processes.ts';
import { median, round } from '../lib/stats.ts';
import type { Context } from './context.ts';

/** One server's results over the repetitions (medians), with its ratio to the floor. */
export type IngestRow = {
  server: Server;
  /** Requests per second at 32 connections (median of the repetitions) and each repetition's. */
  throughput: number;
  throughputRuns: number[];
  /** Latency at 32 connections, ms (median of the repetitions). */
  p50AtMax: number;
  p99AtMax: number;
  /** Latency at a fixed 500 requests/s, ms (median of the repetitions). */
  p50At500: number;
  p90At500: number;
  p99At500: number;
  p50At500Runs: number[];
  /** Server CPU time per request during the throughput run, µs. */
  cpuUsPerRequest: number;
  /** Resident memory after the runs, MB. */
  rssMB: number;
  /** Answers other than 200 (there must be none: every delivery is signed and well-formed). */
  non200: number;
  errors: number;
  throughputVsFloor: number;
  p50At500VsFloor: number;
};

export type IngestResult = {
  mix: { deliveries: number; oursShare: number; meanBodyBytes: number; repository: string };
  connections: number;
  rate: number;
  seconds: { warmup: number; throughput: number; latency: number };
  repetitions: number;
  rows: IngestRow[];
};

const SECRET = GITHUB_SECRET;
type Server = 'floor' | 'bot' | 'probot' | 'baseline';

type Measured = { load: LoadResult; fixed: LoadResult; cpuUs: number; rss: number };

/**
 * Webhook ingest, side by side: the bot (the real service), a bare node:http floor and Probot, each
 * in its own process pinned to the server core, loaded from this process on the other core with the
 * same signed deliveries. Each repetition starts every server afresh, in a rotating order.
 */
export async function ingest(ctx: Context): Promise<IngestResult> {
  const seconds = ctx.quick
    ? { warmup: 0.5, throughput: 2, latency: 2 }
    : { warmup: 1, throughput: 3, latency: 3 };
  const repetitions = ctx.reps ?? (ctx.quick ? 1 : 3);
  const connections = 32;
  const rate = 500;
  const deliveries = deliveryMix({ secret: SECRET, owner: OWNER, repo: REPO, count: 4000, oursShare: 0.2 });
  const fakes = await startFakes();
  // `--baseline DIR`: another checkout's bot in the same rotation, for a before/after under one load.
  const servers: Server[] = ['floor', 'bot', 'probot', ...(ctx.baselineRoot ? (['baseline'] as const) : [])];
  const runs = new Map<string, Measured[]>(servers.map((s) => [s, []]));
  try {
    for (let rep = 0; rep < repetitions; rep++) {
      const order = servers.map((_, i) => servers[(i + rep) % servers.length] as Server);
      for (const name of order) {
        const server = await start(name, ctx, fakes);
        try {
          const requests = prepare(deliveries, '/github/webhook', `127.0.0.1:${server.port}`);
          const cpuBefore = server.cpuMs();
          const load = await throughput({
            port: server.port,
            requests,
            connections,
            seconds: seconds.throughput,
            warmupSeconds: seconds.warmup,
          });
          const cpuUs =
            ((server.cpuMs() - cpuBefore) * 1000) /
            (load.total * ((seconds.throughput + seconds.warmup) / seconds.throughput));
          const fixed = await fixedRate({
            port: server.port,
            requests,
            rate,
            connections: 16,
            seconds: seconds.latency,
            warmupSeconds: seconds.warmup,
          });
          runs.get(name)?.push({ load, fixed, cpuUs, rss: server.memory().rssMB });
          ctx.log(
            `  ingest ${name.padEnd(6)} rep ${rep + 1}: ${Math.round(load.rate)} req/s, ` +
              `p50 ${load.p50.toFixed(2)} ms at 32 conns; p50 ${fixed.p50.toFixed(3)} ms at ${rate}/s`,
          );
        } finally {
          await server.stop();
        }
      }
    }
  } finally {
    await fakes.close();
  }
  const rows = servers.map((name) => row(name, runs.get(name) ?? []));
  const floor = rows.find((r) => r.server === 'floor');
  for (const r of rows) {
    r.throughputVsFloor = round(r.throughput / (floor?.throughput ?? Number.NaN), 2);
    r.p50At500VsFloor = round(r.p50At500 / (floor?.p50At500 ?? Number.NaN), 2);
  }
  return {
    mix: {
      deliveries: deliveries.length,
      oursShare: round(deliveries.filter((d) => d.ours).length / deliveries.length, 3),
      meanBodyBytes: Math.round(deliveries.reduce((a, d) => a + d.body.length, 0) / deliveries.length),
      repository: `${OWNER}/${REPO}`,
    },
    connections,
    rate,
    seconds,
    repetitions,
    rows,
  };
}

function row(server: IngestRow['server'], measured: Measured[]): IngestRow {
  const m = (f: (x: Measured) => number, digits = 3) => round(median(measured.map(f)), digits);
  return {
    server,
    throughput: m((x) => x.load.rate, 0),
    throughputRuns: measured.map((x) => Math.round(x.load.rate)),
    p50AtMax: m((x) => x.load.p50),
    p99AtMax: m((x) => x.load.p99),
    p50At500: m((x) => x.fixed.p50),
    p90At500: m((x) => x.fixed.p90),
    p99At500: m((x) => x.fixed.p99),
    p50At500Runs: measured.map((x) => round(x.fixed.p50)),
    cpuUsPerRequest: m((x) => x.cpuUs, 1),
    rssMB: m((x) => x.rss, 1),
    non200: measured.reduce((a, x) => a + x.load.non200 + x.fixed.non200, 0),
    errors: measured.reduce((a, x) => a + x.load.errors + x.fixed.errors, 0),
    throughputVsFloor: 1,
    p50At500VsFloor: 1,
  };
}

async function start(
  name: Server,
  ctx: Context,
  fakes: Awaited<ReturnType<typeof startFakes>>,
): Promise<ServerProcess & { port: number }> {
  if (name === 'bot' || name === 'baseline') {
    const root = name === 'bot' ? ctx.botRoot : ctx.baselineRoot;
    const bot: Bot = await startBot(fakes, { core: ctx.serverCore, root });
    return bot;
  }
  const port = await freePort();
  const server = await startServer({
    name,
    args: [join(import.meta.dirname, '..', 'servers', `${name}.ts`)],
    env: { WEBHOOK_SECRET: SECRET, BENCH_REPOSITORY: `${OWNER}/${REPO}`, LOG_LEVEL: 'info' },
    port,
    core: ctx.serverCore,
    readyPath: '/',
  });
  return { ...server, port };
}
