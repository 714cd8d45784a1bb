import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { emptyDetail } from '../../src/core/deployment.ts';
import { openStore } from '../../src/store/open-store.ts';
import { TELEGRAM_TOKEN } from '../../test/harness.ts';
import { type Fakes, startBot, startFakes } from '../lib/bot.ts';
import { round, sleep, until } from '../lib/stats.ts';
import type { Context } from './context.ts';

export type MemoryResult = {
  deployments: number;
  /** Resident set size once everything settled, and its peak over the run, MB. */
  rssMB: number;
  peakRssMB: number;
  /** RSS right after /readyz answered 200 with the deployments in the store, MB. */
  rssAtReadyMB: number;
  webhooks: number;
  edits: number;
};

/**
 * Memory with `count` deployments tracked: the store holds that many deployments in progress (each
 * with its run on the fake GitHub and its message in its own chat), the bot starts (its first
 * reconciliation polls them), then every run reports three events by webhook and the bot edits the
 * messages. RSS is read from /proc once the edits stop.
 */
export async function memory(ctx: Context): Promise<MemoryResult> {
  const count = 1000;
  const fakes = await startFakes();
  const dir = await mkdtemp(join(tmpdir(), 'deploybot-bench-memory-'));
  try {
    const runIds = await seed(fakes, join(dir, 'deploybot.sqlite'), count);
    const bot = await startBot(fakes, {
      core: ctx.serverCore,
      root: ctx.botRoot,
      dir,
      env: { RECONCILE_INTERVAL_SECONDS: '60' },
    });
    try {
      const rssAtReadyMB = bot.memory().rssMB;
      for (const runId of runIds) void fakes.github.simulate(runId, 'success', { manual: true });
      let webhooks = 0;
      for (let round = 0; round < 3; round++) {
        for (const runId of runIds) {
          await fakes.github.advance(runId);
          webhooks++;
        }
      }
      // Settled: no Telegram call for two seconds (bounded).
      let last = -1;
      await until(
        async () => {
          const calls = fakes.telegram.calls.length;
          if (calls === last) return true;
          last = calls;
          await sleep(2000);
          return false;
        },
        90_000,
        'the edits to stop',
      );
      const edits = fakes.telegram.calls.filter((c) => c.method === 'editMessageText').length;
      const { rssMB, peakMB } = bot.memory();
      ctx.log(`  memory: ${count} deployments, RSS ${rssMB.toFixed(1)} MB (peak ${peakMB.toFixed(1)})`);
      return {
        deployments: count,
        rssMB: round(rssMB, 1),
        peakRssMB: round(peakMB, 1),
        rssAtReadyMB: round(rssAtReadyMB, 1),
        webhooks,
        edits,
      };
    } finally {
      await bot.stop();
    }
  } finally {
    await fakes.close();
    await rm(dir, { recursive: true, force: true });
  }
}

/** `count` deployments in progress, each with a dispatched run and a message already shown. */
async function seed(fakes: Fakes, databasePath: string, count: number): Promise<number[]> {
  const store = await openStore(databasePath);
  await store.migrate();
  const sha = fakes.github.state.refSha('main') ?? 'a'.repeat(40);
  const runIds: number[] = [];
  const now = Date.now();
  try {
    for (let i = 0; i < count; i++) {
      const id = `bench-${i.toString(36)}-${now.toString(36)}`;
      const chatId = 5_000_000 + i;
      const run = fakes.github.state.createRun(
        'main',
        sha,
        { environment: 'staging', sha, action: 'deploy', request_id: id, requested_by: 'Bench' },
        'ada',
      );
      run.status = 'in_progress';
      const sent = await fetch(`${fakes.telegram.url}/bot${TELEGRAM_TOKEN}/sendMessage`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ chat_id: chatId, text: `Deploy staging ${sha.slice(0, 7)}` }),
      });
      const messageId = ((await sent.json()) as { result: { message_id: number } }).result.message_id;
      const record = await store.insertDeployment({
        id,
        environment: 'staging',
        action: 'deploy',
        ref: 'main',
        sha,
        subject: `Bench change ${i}`,
        author: 'Ada',
        requesterId: chatId,
        requesterName: 'Bench',
        chatId,
        messageId,
        state: 'in_progress',
        runId: run.id,
        runUrl: `https://github.com/acme/shop/actions/runs/${run.id}`,
        detail: emptyDetail(),
        createdAt: now - 60_000,
        dispatchedAt: now - 60_000,
        finishedAt: null,
      });
      await store.markDelivered(record.id, record.version);
      runIds.push(run.id);
    }
  } finally {
    await store.close();
  }
  return runIds;
}
