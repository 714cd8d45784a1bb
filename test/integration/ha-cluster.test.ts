import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChatMessage } from '../fakes/telegram-api.ts';
import { ADA, eventually, SAM } from '../harness.ts';
import {
  type Cluster,
  nginxTool,
  peakCallsPerWindow,
  requestConfirmation,
  startCluster,
} from './cluster-support.ts';
import { recordFigure } from './ha-figures.ts';

/**
 * Issue #14: two instances on one PostgreSQL behind a real nginx (round robin) behave as one bot.
 * Every instance is a separate `node src/cli.ts serve` process, so it can be killed with SIGKILL.
 */

const GROUP = -100_777;
const POOL = Array.from({ length: 10 }, (_, i) => `pool-${i + 1}`);
const CONFIG = `
environments:
  staging:
    branch: main
    role: staging
  production:
    branch: main
    role: admin
${POOL.map((name) => `  ${name}:\n    branch: main\n    role: staging\n    confirm: false\n`).join('')}`;

/** The lifecycle order of the state lines a deployment message shows (render-deployment.ts). */
const ORDER = [
  'Waiting for confirmation',
  'Confirmed, dispatching',
  'Dispatched to GitHub Actions',
  'Queued',
  'Waiting for approval',
  'In progress',
  'Succeeded',
];

/** The rank of the state a message version shows; -1 when it shows none of these. */
function rank(text: string): number {
  let found = -1;
  ORDER.forEach((line, i) => {
    if (text.includes(line)) found = i;
  });
  return found;
}

/** The versions a message showed, in order, as lifecycle ranks: never lower than one shown before. */
function expectNeverOlder(message: ChatMessage): void {
  const ranks = [...message.history, message.text].map(rank).filter((r) => r >= 0);
  for (let i = 1; i < ranks.length; i++) {
    expect(
      ranks[i],
      `version ${i} of message ${message.message_id}: ${ranks.join(' → ')}`,
    ).toBeGreaterThanOrEqual(ranks[i - 1] ?? 0);
  }
}

let c: Cluster;
const skip = nginxTool.skip;

beforeAll(async () => {
  if (skip) return;
  c = await startCluster({ configYaml: CONFIG, reconcileSeconds: 5 });
}, 60_000);

afterAll(async () => {
  await c?.close();
}, 60_000);

describe.skipIf(skip)('two instances behind nginx on one PostgreSQL (issue #14)', () => {
  it('a double tap whose presses land on different instances dispatches once', async () => {
    const { request, confirm } = await requestConfirmation(c, ADA, '/deploy production');
    const seen = (await c.access()).length;
    const presses = await Promise.all([
      c.press(ADA, request.message_id, confirm),
      c.press(ADA, request.message_id, confirm),
    ]);
    expect(presses.map((r) => r.status)).toEqual([200, 200]);
    const served = (await c.access()).slice(seen).filter((e) => e.uri === '/telegram/webhook');
    expect(new Set(served.map((e) => e.upstream)).size, JSON.stringify(served)).toBe(2);
    await eventually(() => c.github.runs.list().length === 1, 20_000, 'the dispatch');
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const dispatches = c.github.requests.filter((r) => r.method === 'POST' && r.path.endsWith('/dispatches'));
    expect(dispatches).toHaveLength(1);
    expect(c.github.runs.list()).toHaveLength(1);
    recordFigure('dispatches_per_double_tap', dispatches.length);
  }, 60_000);

  it('webhooks spread over both instances end in one message per deployment, never showing an older state', async () => {
    const [run] = c.github.runs.list();
    if (!run) throw new Error('no run from the previous test');
    const seen = (await c.access()).length;
    await c.github.simulate(run.id, 'success');
    const message = await eventually(
      () => c.telegram.messages(ADA.id).find((m) => m.from_bot && m.text.includes('Succeeded')),
      30_000,
      'the final state',
    );
    const hooks = (await c.access()).slice(seen).filter((e) => e.uri === '/github/webhook');
    expect(new Set(hooks.map((e) => e.upstream)).size, 'deliveries reached both instances').toBe(2);
    expect(hooks.every((e) => e.status === 200 || e.status === 202)).toBe(true);
    const shown = c.telegram.messages(ADA.id).filter((m) => m.from_bot && rank(m.text) >= 0);
    expect(shown.map((m) => m.message_id)).toEqual([message.message_id]);
    expectNeverOlder(message);
  }, 60_000);

  it('ten deployments at once in one group stay within 20 messages a minute for the whole cluster', async () => {
    const started = Date.now();
    const callsBefore = c.telegram.calls.length;
    const runsBefore = c.github.runs.list().length;
    const limited = c.telegram.rateLimited;
    await Promise.all(POOL.map((env) => c.say(SAM, `/deploy ${env}`, GROUP)));
    await eventually(
      () => c.github.runs.list().length === runsBefore + POOL.length,
      30_000,
      'ten dispatches',
    );
    const runs = c.github.runs.list().slice(runsBefore);
    // Runs that last about a minute: every event is an edit owed, far more than the chat's limit
    // allows, so the whole cluster must share one pace (two paces would send about 38 a minute).
    await Promise.all(runs.map((run) => c.github.simulate(run.id, 'success', { delayMs: 2500 })));
    const finals = await eventually(
      () => {
        const done = c.telegram.messages(GROUP).filter((m) => m.from_bot && m.text.includes('Succeeded'));
        return done.length === POOL.length ? done : null;
      },
      240_000,
      'ten final states in the group',
    );
    const peak = peakCallsPerWindow(c.telegram, GROUP);
    const calls = c.telegram.calls.slice(callsBefore).filter((call) => Number(call.params.chat_id) === GROUP);
    recordFigure('group_peak_calls_per_minute', peak);
    recordFigure('group_calls_total', calls.length);
    recordFigure('group_429s', c.telegram.rateLimited - limited);
    recordFigure(
      'group_run_events',
      c.github.deliveries.filter((d) => runs.some((r) => r.id === d.runId)).length,
    );
    recordFigure('group_all_final_ms', Date.now() - started);
    expect(peak).toBeLessThanOrEqual(20);
    expect(c.telegram.rateLimited - limited).toBe(0);
    // One message per deployment, each showing its states in order.
    const deploymentMessages = c.telegram.messages(GROUP).filter((m) => m.from_bot && rank(m.text) >= 0);
    expect(deploymentMessages).toHaveLength(POOL.length);
    for (const message of finals) expectNeverOlder(message);
  }, 300_000);

  it('an instance killed with SIGKILL mid-run: the other delivers the final state', async () => {
    const [first, second] = c.bots;
    if (!first || !second) throw new Error('two bots');
    const before = c.github.runs.list().length;
    await c.say(SAM, '/deploy pool-1', SAM.id);
    const run = await eventually(() => c.github.runs.list()[before], 20_000, 'dispatch');
    void c.github.simulate(run.id, 'success', { manual: true });
    await c.github.advance(run.id);
    await c.github.advance(run.id);
    await eventually(
      () => c.telegram.messages(SAM.id).find((m) => m.from_bot && /Queued|In progress/.test(m.text)),
      20_000,
      'a state before the kill',
    );
    const killed = await first.stop('SIGKILL');
    expect(killed.signal).toBe('SIGKILL');
    const killedAt = Date.now();
    while (await c.github.advance(run.id)) {
      // Each event is a webhook through nginx: the dead instance refuses, nginx sends it to the other.
    }
    const final = await eventually(
      () => c.telegram.messages(SAM.id).find((m) => m.from_bot && m.text.includes('Succeeded')),
      60_000,
      'the final state from the survivor',
    );
    recordFigure('sigkill_final_state_after_ms', Date.now() - killedAt);
    expect(c.telegram.messages(SAM.id).filter((m) => m.from_bot && rank(m.text) >= 0)).toEqual([final]);
    expectNeverOlder(final);
    await first.start();
  }, 120_000);

  it('a rolling restart of both instances loses nothing', async () => {
    const before = c.github.runs.list().length;
    const answersBefore = c.telegram.messages(ADA.id).filter((m) => m.from_bot).length;
    await c.say(SAM, '/deploy pool-2', SAM.id);
    const run = await eventually(() => c.github.runs.list()[before], 20_000, 'dispatch');
    void c.github.simulate(run.id, 'success', { manual: true });
    const statuses: number[] = [];
    let asked = 0;
    const stops: number[] = [];
    for (const bot of c.bots) {
      // Traffic while the instance stops and starts again: a command and a run event each time.
      const traffic = (async () => {
        for (let i = 0; i < 4; i++) {
          asked += 1;
          statuses.push((await c.say(ADA, '/status')).status);
          await c.github.advance(run.id);
          await new Promise((resolve) => setTimeout(resolve, 300));
        }
      })();
      const stopped = await bot.stop('SIGTERM');
      expect(stopped.code, `${bot.name} exit code`).toBe(0);
      stops.push(stopped.ms);
      await bot.start();
      await traffic;
      // As a rolling restart script does: the next instance stops once the balancer sends to this one
      // again (nginx leaves a failed instance out for fail_timeout, 5 s).
      await eventually(
        async () => {
          await fetch(`${c.url}/healthz`);
          return (await c.access()).slice(-2).some((e) => e.upstream.endsWith(`:${bot.port}`));
        },
        20_000,
        `nginx sending to ${bot.name} again`,
      );
    }
    while (await c.github.advance(run.id)) {
      // the rest of the run's events
    }
    recordFigure('sigterm_exit_ms', Math.max(...stops));
    expect(Math.max(...stops)).toBeLessThan(10_000);
    expect(
      statuses.filter((s) => s !== 200),
      JSON.stringify(statuses),
    ).toEqual([]);
    await eventually(
      () => c.telegram.messages(ADA.id).filter((m) => m.from_bot).length >= answersBefore + asked,
      30_000,
      'an answer to every /status',
    );
    const final = await eventually(
      () =>
        c.telegram
          .messages(SAM.id)
          .filter((m) => m.from_bot && m.text.includes('Succeeded'))
          .at(-1),
      60_000,
      'the final state after the restarts',
    );
    expectNeverOlder(final);
    const failedDeliveries = c.github.deliveries.filter((d) => d.status === null || d.status >= 300);
    expect(failedDeliveries).toEqual([]);
  }, 180_000);
});
