import { afterEach, describe, expect, it } from 'vitest';
import { reconcileInTurns } from '../../src/deploy/reconcile.ts';
import { eventually, type Harness, SAM, startHarness } from '../harness.ts';

const NAMES = ['e1', 'e2', 'e3', 'e4', 'e5', 'e6', 'e7'];
const SEVEN = `environments:\n${NAMES.map((n) => `  ${n}: { branch: develop, role: staging, confirm: false }`).join('\n')}\n`;

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

/** Sam deploys every environment; each run exists on the fake GitHub, its record is `dispatched`. */
async function deployAll(harness: Harness): Promise<Map<number, string>> {
  const store = harness.service.deps.store;
  const runs = new Map<number, string>();
  for (const name of NAMES) {
    await harness.say(SAM, `/deploy ${name}`);
    const run = await eventually(
      () => harness.github.runs.list().find((r) => r.inputs.environment === name),
      15_000,
      `run of ${name}`,
    );
    await eventually(
      async () => (await store.listDeployments({ environment: name, states: ['dispatched'] })).length === 1,
      15_000,
      `${name} dispatched`,
    );
    runs.set(run.id, name);
  }
  return runs;
}

describe('reconciliation with more deployments in flight than one pass polls', () => {
  it('resumes each pass where the last stopped, so every run is polled once within a few passes', async () => {
    h = await startHarness({ configYaml: SEVEN });
    const harness = h;
    const store = harness.service.deps.store;
    for (const runId of (await deployAll(harness)).keys()) {
      // Every webhook of every run is lost: only polling can tell the bot.
      await harness.github.simulate(runId, 'success', { delivery: { drop: true }, delayMs: 0 });
    }
    const succeeded = async () =>
      (await store.listDeployments({ states: ['succeeded'] })).map((d) => d.environment).sort();
    expect(await succeeded()).toEqual([]);

    const pass = reconcileInTurns(harness.service.deps, 3);
    const first = await pass();
    expect(first).toMatchObject({ polled: 3, errors: 0 });
    expect(first.resumeAfter).not.toBeNull();
    // Newest first.
    expect(await succeeded()).toEqual(['e5', 'e6', 'e7']);
    const second = await pass();
    expect(second).toMatchObject({ polled: 3, errors: 0 });
    expect(await succeeded()).toEqual(['e2', 'e3', 'e4', 'e5', 'e6', 'e7']);
    const third = await pass();
    // The oldest one was left; this pass reached the end, so the next starts from the newest again.
    expect(third).toMatchObject({ polled: 1, errors: 0, resumeAfter: null });
    expect(await succeeded()).toEqual(NAMES);
    // Nothing is left in flight: the next pass has nothing to poll.
    expect(await pass()).toMatchObject({ polled: 0, resumeAfter: null });
  });

  it('turns through runs that stay in progress instead of polling the newest ones every pass', async () => {
    h = await startHarness({ configYaml: SEVEN });
    const harness = h;
    const runs = await deployAll(harness);
    /** The environments whose run GitHub was asked about during `work`. */
    const polledDuring = async (work: () => Promise<unknown>) => {
      const from = harness.github.requests.length;
      await work();
      return harness.github.requests
        .slice(from)
        .map((r) => (r.method === 'GET' ? /\/actions\/runs\/(\d+)$/.exec(r.path)?.[1] : undefined))
        .flatMap((id) => (id === undefined ? [] : [runs.get(Number(id)) ?? `unknown ${id}`]))
        .sort();
    };
    const pass = reconcileInTurns(harness.service.deps, 3);
    // No run moves, so every record stays in flight: only the cursor moves the passes on.
    expect(await polledDuring(pass)).toEqual(['e5', 'e6', 'e7']);
    expect(await polledDuring(pass)).toEqual(['e2', 'e3', 'e4']);
    expect(await polledDuring(pass)).toEqual(['e1']);
    expect(await polledDuring(pass)).toEqual(['e5', 'e6', 'e7']);
  });
});
