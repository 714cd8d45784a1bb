import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { startBot, startFakes } from '../lib/bot.ts';
import { median, round } from '../lib/stats.ts';
import type { Context } from './context.ts';

export type ColdStartResult = {
  /** Process spawned → `/readyz` answers 200, ms: the first start (a new database: migrations) … */
  firstMs: number;
  /** … and restarts on the existing database (median, and each). */
  restartMs: number;
  restartRuns: number[];
};

/**
 * Cold start: the bot as deployed (`deployedCommand`: the Dockerfile's `node … dist/cli.js serve`)
 * spawned (pinned) until `/readyz` answers 200, polled every 5 ms.
 */
export async function coldStart(ctx: Context): Promise<ColdStartResult> {
  const restarts = ctx.quick ? 3 : 7;
  const fakes = await startFakes();
  const dir = await mkdtemp(join(tmpdir(), 'deploybot-bench-start-'));
  const times: number[] = [];
  try {
    for (let i = 0; i <= restarts; i++) {
      const t0 = performance.now();
      const bot = await startBot(fakes, { core: ctx.serverCore, root: ctx.botRoot, dir });
      times.push(performance.now() - t0);
      await bot.stop();
    }
  } finally {
    await fakes.close();
    await rm(dir, { recursive: true, force: true });
  }
  const [first = Number.NaN, ...rest] = times;
  ctx.log(
    `  cold start: first ${first.toFixed(0)} ms, restarts ${rest.map((t) => t.toFixed(0)).join(', ')} ms`,
  );
  return {
    firstMs: round(first, 0),
    restartMs: round(median(rest), 0),
    restartRuns: rest.map((t) => round(t, 0)),
  };
}
