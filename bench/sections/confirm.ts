import { performance } from 'node:perf_hooks';
import type { Person } from '../../test/fakes/telegram-updates.ts';
import { startBot, startFakes } from '../lib/bot.ts';
import { type Distribution, distribution, round, sleep } from '../lib/stats.ts';
import { telegramClient } from '../lib/telegram-client.ts';
import { timingProxy } from '../lib/timing-proxy.ts';
import type { Context } from './context.ts';

export type ConfirmResult = {
  /** Confirm pressed (the callback update POSTed) → the fake GitHub received the dispatch, ms. */
  pressToDispatch: Distribution;
  /** The first press after the start (cold code paths), ms; not in the distribution. */
  firstPressMs: number;
  /** Every press after the first, in order, ms: where a slow one falls. */
  samplesMs: number[];
};

/**
 * Confirm → dispatch: one environment per sample (a deployment in flight holds its environment), each
 * `/deploy` answered with Confirm / Cancel, then Confirm pressed; timed from the callback update
 * leaving the benchmark to the head of `POST …/dispatches` arriving at a pass-through proxy in front of
 * the fake GitHub (GitHub's own time, and the fake's checks of the request, excluded).
 * Presses are at least 1.1 s apart: the GitHub client sends at most one write a second (Octokit's
 * throttling, against GitHub's secondary rate limits), and a press right after another waits for it.
 */
export async function confirm(ctx: Context): Promise<ConfirmResult> {
  const samples = ctx.quick ? 10 : 30;
  const names = Array.from({ length: samples + 1 }, (_, i) => `c${i}`);
  const yaml = `environments:\n${names.map((n) => `  ${n}: { branch: main, role: admin, confirm: true }`).join('\n')}\n`;
  // One admin (and so one private chat) per sample: each chat's messages are paced at about one a
  // second, which is not what is measured here.
  const admins: Person[] = names.map((_, i) => ({ id: 7_000 + i, first_name: `Admin${i}` }));
  const fakes = await startFakes();
  const proxy = await timingProxy(fakes.github.url);
  const bot = await startBot(fakes, {
    core: ctx.serverCore,
    root: ctx.botRoot,
    environments: yaml,
    env: { ADMIN_TELEGRAM_IDS: admins.map((a) => a.id).join(','), GITHUB_API_URL: proxy.url },
  });
  const tg = telegramClient(fakes, bot);
  const times: number[] = [];
  let lastDispatch = 0;
  try {
    for (const [i, environment] of names.entries()) {
      const admin = admins[i] as Person;
      const message = await tg.deploy(admin, environment);
      const data = tg.buttonData(message, 'Deploy');
      await sleep(lastDispatch + 1100 - performance.now());
      const dispatched = proxy.next((method, url) => method === 'POST' && url.endsWith('/dispatches'));
      const t0 = performance.now();
      const press = tg.press(admin, message.message_id, data);
      lastDispatch = await dispatched;
      times.push(lastDispatch - t0);
      await press;
    }
  } finally {
    await bot.stop();
    await proxy.close();
    await fakes.close();
  }
  const [first = Number.NaN, ...rest] = times;
  ctx.log(`  confirm → dispatch: first ${first.toFixed(1)} ms, then p50/p99 of ${rest.length}`);
  return {
    pressToDispatch: distribution(rest, 2),
    firstPressMs: round(first, 2),
    samplesMs: rest.map((t) => round(t, 1)),
  };
}
