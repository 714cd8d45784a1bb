import { join } from 'node:path';
import { openStore } from '../../src/store/open-store.ts';
import type { Store } from '../../src/store/store.ts';
import type { Person } from '../../test/fakes/telegram-updates.ts';
import { type Bot, type Fakes, SAM, startBot, startFakes } from '../lib/bot.ts';
import { seeded } from '../lib/payloads.ts';
import { type Distribution, distribution, sleep, until } from '../lib/stats.ts';
import { telegramClient } from '../lib/telegram-client.ts';
import type { Context } from './context.ts';

export type FreshnessCase = {
  deployments: number;
  /** Webhook deliveries that changed a deployment (and so owed an edit). */
  events: number;
  /** Webhook sent → the Telegram edit showing it sent, ms. */
  freshness: Distribution;
  /** Calls Telegram answered 429 (flood control), and calls made before a retry_after elapsed. */
  rateLimited: number;
  retryAfterViolations: number;
  edits: number;
};

export type FreshnessResult = { privateChat: FreshnessCase; group: FreshnessCase };

const GROUP = -1_001_234_567_890;

/**
 * Freshness: GitHub's webhooks for real deploy runs (the fake GitHub plays them one event at a time,
 * at random gaps), and the time from each webhook leaving to the Telegram edit that shows it. Which
 * edit shows it is read from the bot's own store: the record's version right after the webhook was
 * answered, and the first edit after which the delivered version reached it (polled every 5 ms).
 * Events that changed nothing owe no edit and are not counted.
 */
export async function freshness(ctx: Context): Promise<FreshnessResult> {
  const names = [
    ...Array.from({ length: 3 }, (_, i) => `p${i}`),
    ...Array.from({ length: 10 }, (_, i) => `g${i}`),
  ];
  const yaml = `environments:\n${names.map((n) => `  ${n}: { branch: main, role: staging, confirm: false }`).join('\n')}\n`;
  const fakes = await startFakes();
  const bot = await startBot(fakes, { core: ctx.serverCore, root: ctx.botRoot, environments: yaml });
  const store = await openStore(join(bot.dir, 'deploybot.sqlite'));
  try {
    const runs = ctx.quick ? 1 : 2;
    const privateChat = await play(fakes, bot, store, {
      person: SAM,
      chatId: SAM.id,
      environments: names.slice(0, runs),
      gapMs: [0, 1500],
      sequential: true,
    });
    const group = await play(fakes, bot, store, {
      person: SAM,
      chatId: GROUP,
      environments: names.slice(3, 13),
      gapMs: ctx.quick ? [0, 100] : [0, 200],
      sequential: false,
    });
    return { privateChat, group };
  } finally {
    await store.close();
    await bot.stop();
    await fakes.close();
  }
}

type Pending = { runId: number; version: number; sentAt: number };

async function play(
  fakes: Fakes,
  bot: Bot,
  store: Store,
  options: {
    person: Person;
    chatId: number;
    environments: string[];
    gapMs: [number, number];
    sequential: boolean;
  },
): Promise<FreshnessCase> {
  const tg = telegramClient(fakes, bot);
  const limitedBefore = fakes.telegram.rateLimited;
  const violationsBefore = fakes.telegram.retryAfterViolations;
  const callsBefore = fakes.telegram.calls.length;
  const random = seeded(7);
  const groups = options.sequential ? options.environments.map((e) => [e]) : [options.environments];
  const pending: Pending[] = [];
  const shown: number[] = [];
  let polling = true;
  // Resolves each pending event when its version was delivered, with the time of the edit that did it.
  const poller = (async () => {
    while (polling || pending.length) {
      for (const p of [...pending]) {
        const record = await store.findDeploymentByRunId(p.runId);
        if (record && record.deliveredVersion >= p.version) {
          pending.splice(pending.indexOf(p), 1);
          const edit = lastEditBefore(
            fakes,
            callsBefore,
            record.chatId ?? 0,
            record.messageId ?? 0,
            Date.now(),
          );
          shown.push((edit ?? Date.now()) - p.sentAt);
        }
      }
      await sleep(5);
    }
  })();
  for (const environments of groups) {
    // Every /deploy at once; each is dispatched and its message sent when the chat's turn comes.
    const dispatched = environments.map((environment) =>
      fakes.github.waitForRun((run) => run.inputs.environment === environment, 60_000),
    );
    await Promise.all(
      environments.map((environment) => tg.say(options.person, `/deploy ${environment}`, options.chatId)),
    );
    const runs = (await Promise.all(dispatched)).map((run) => run.id);
    for (const runId of runs) {
      await until(
        async () => (await store.findDeploymentByRunId(runId))?.deliveredVersion,
        60_000,
        'run shown',
      );
      void fakes.github.simulate(runId, 'success', { manual: true });
    }
    // Let the edits owed for the dispatch go out before timing the run's events.
    await sleep(3500);
    const live = new Set(runs);
    while (live.size) {
      const runId = [...live][Math.floor(random() * live.size)] as number;
      const before = (await store.findDeploymentByRunId(runId))?.version ?? 0;
      const sentAt = Date.now();
      const more = await fakes.github.advance(runId);
      const after = (await store.findDeploymentByRunId(runId))?.version ?? 0;
      if (after > before) pending.push({ runId, version: after, sentAt });
      if (!more) live.delete(runId);
      await sleep(options.gapMs[0] + random() * (options.gapMs[1] - options.gapMs[0]));
    }
  }
  await until(() => pending.length === 0, 120_000, 'every change shown in Telegram', 20);
  polling = false;
  await poller;
  const edits = fakes.telegram.calls
    .slice(callsBefore)
    .filter((c) => c.method === 'editMessageText' && c.response.status === 200).length;
  return {
    deployments: options.environments.length,
    events: shown.length,
    freshness: distribution(shown, 0),
    rateLimited: fakes.telegram.rateLimited - limitedBefore,
    retryAfterViolations: fakes.telegram.retryAfterViolations - violationsBefore,
    edits,
  };
}

/** When the fake received the last successful edit of a message up to `until`. */
function lastEditBefore(
  fakes: Fakes,
  from: number,
  chatId: number,
  messageId: number,
  until: number,
): number | null {
  const calls = fakes.telegram.calls;
  for (let i = calls.length - 1; i >= from; i--) {
    const c = calls[i];
    if (!c || c.at > until || c.response.status !== 200) continue;
    if (c.method !== 'editMessageText' && c.method !== 'sendMessage') continue;
    if (Number(c.params.chat_id) !== chatId) continue;
    if (c.method === 'editMessageText' && Number(c.params.message_id) !== messageId) continue;
    return c.at;
  }
  return null;
}
