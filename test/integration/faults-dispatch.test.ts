import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { GITHUB_ROUTE, GITHUB_TEXT } from '../fakes/github-faults.ts';
import type { RunRecord } from '../fakes/github-state.ts';
import { eventually, type Harness, SAM, startHarness } from '../harness.ts';
import { faultReport, journey, keyLine } from './fault-report.ts';

// Issue #10: a dispatch GitHub carried out but answered with an error must never run twice. Each
// case injects the fault on the workflow_dispatch POST, sends /deploy staging over HTTP and checks
// how many runs GitHub holds for the request and what the chat shows.

let h: Harness | undefined;
const report = faultReport('workflow_dispatch faults');
afterEach(async () => {
  await h?.close();
  h = undefined;
});
afterAll(() => report.print());

const posts = (harness: Harness) =>
  harness.github.requests.filter((r) => r.method === 'POST' && r.path.endsWith('/dispatches'));
const runsOf = (harness: Harness, requestId: string): RunRecord[] =>
  harness.github.runs.list().filter((r) => r.inputs.request_id === requestId);
const liveText = (harness: Harness) => harness.botMessages(SAM.id).at(-1)?.text ?? '';

/**
 * /deploy staging with a fault on the dispatch; waits until the message names a run, plays it to
 * success and returns the request id, the run and how long the final state took from the command.
 */
async function deployThrough(harness: Harness, fault: string) {
  const started = Date.now();
  await harness.say(SAM, '/deploy staging');
  const runLine = await eventually(
    () => /run \d+/.exec(liveText(harness))?.[0],
    40_000,
    'a run on the message',
  );
  const record = (await harness.service.deps.store.listDeployments({ limit: 5 }))[0];
  if (!record) throw new Error('no deployment recorded');
  const run = harness.github.runs.get(Number(runLine.slice(4)));
  if (!run) throw new Error(`GitHub has no ${runLine}`);
  await harness.github.simulate(run.id, 'success', { delayMs: 0 });
  await eventually(() => liveText(harness).includes('Succeeded'), 20_000, 'final state');
  const finalMs = Date.now() - started;
  const runs = runsOf(harness, record.id);
  report.add({
    fault,
    userSaw: journey(harness.botMessages(SAM.id).at(-1)?.history ?? []),
    dispatches: `${runs.length} run (${posts(harness).length} POST)`,
    finalMs,
    measuredFrom: 'from /deploy',
  });
  return { requestId: record.id, run, runs };
}

describe('exactly-once dispatch (issue #10)', () => {
  it('502 after GitHub created the run: the run is found and followed, never dispatched again', async () => {
    h = await startHarness();
    h.github.faults.serverError({ route: GITHUB_ROUTE.dispatch, status: 502, after: true });
    const { runs } = await deployThrough(h, '502 on the dispatch, run created');
    expect(runs).toHaveLength(1);
    expect(posts(h)).toHaveLength(1);
    const audit = await h.audit();
    expect(audit.find((a) => a.action === 'deploy_dispatched')?.outcome).toBe(
      `run ${runs[0]?.id} found after 502`,
    );
  }, 60_000);

  it('502 after the run was created, listed only 5 s later: the search waits for it', async () => {
    h = await startHarness();
    h.github.faults.inject({
      route: GITHUB_ROUTE.dispatch,
      status: 502,
      body: { message: GITHUB_TEXT.serverError },
      after: true,
      runListedAfterMs: 5000,
    });
    const { runs } = await deployThrough(h, '502, run listed 5 s late');
    expect(runs).toHaveLength(1);
    expect(posts(h)).toHaveLength(1);
  }, 60_000);

  it('connection reset after the run was created: one run', async () => {
    h = await startHarness();
    h.github.faults.connectionReset({ route: GITHUB_ROUTE.dispatch, after: true });
    const { runs } = await deployThrough(h, 'connection reset after the work');
    expect(runs).toHaveLength(1);
    expect(posts(h)).toHaveLength(1);
  }, 60_000);

  it('no answer at all (the client times out) after the run was created: one run', async () => {
    h = await startHarness();
    h.github.faults.inject({ route: GITHUB_ROUTE.dispatch, hang: true, after: true });
    const { runs } = await deployThrough(h, 'no answer (timeout), run created');
    expect(runs).toHaveLength(1);
    expect(posts(h)).toHaveLength(1);
  }, 60_000);

  it('502 where GitHub did nothing: sent again only after GitHub, asked long enough, lists no run', async () => {
    h = await startHarness();
    h.github.faults.serverError({ route: GITHUB_ROUTE.dispatch, status: 502 });
    const checking = eventually(
      () => liveText(h as Harness).includes('checking whether the run started'),
      10_000,
    );
    const { runs } = await deployThrough(h, '502, GitHub did nothing');
    await checking;
    expect(runs).toHaveLength(1);
    expect(posts(h).map((r) => r.status)).toEqual([502, 200]);
    // The second POST went out only after the search had looked for the run several times.
    const lookups = h.github.requests.filter(
      (r) => r.path.endsWith('/runs') && r.query.event === 'workflow_dispatch',
    );
    expect(lookups.length).toBeGreaterThanOrEqual(3);
  }, 60_000);

  it('a 4xx that says GitHub did nothing is reported at once, nothing is sent again', async () => {
    h = await startHarness();
    h.github.faults.inject({
      route: GITHUB_ROUTE.dispatch,
      status: 422,
      body: {
        message: "Workflow does not have 'workflow_dispatch' trigger",
        documentation_url: 'https://docs.github.com/rest',
      },
    });
    const started = Date.now();
    await h.say(SAM, '/deploy staging');
    await eventually(() => liveText(h as Harness).includes('Failed'), 15_000, 'failed');
    report.add({
      fault: '422 on the dispatch',
      userSaw: keyLine(liveText(h), /refused/),
      dispatches: `0 run (${posts(h).length} POST)`,
      finalMs: Date.now() - started,
      measuredFrom: 'from /deploy',
    });
    expect(posts(h)).toHaveLength(1);
    expect(h.github.runs.list()).toHaveLength(0);
    expect(liveText(h)).toContain('GitHub refused the request for workflow deploy.yml');
  }, 30_000);
});
