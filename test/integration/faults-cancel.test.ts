import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { GITHUB_ROUTE } from '../fakes/github-faults.ts';
import { ADA, buttonData, eventually, type Harness, SAM, startHarness } from '../harness.ts';
import { faultReport, journey } from './fault-report.ts';

// Issue #10, /cancel: a cancel POST answered with a 5xx may have been carried out. The bot checks the
// run before it says anything, and never reports a failure for a run that was cancelled.

let h: Harness | undefined;
const report = faultReport('/cancel faults');
afterEach(async () => {
  await h?.close();
  h = undefined;
});
afterAll(() => report.print());

const cancelPosts = (harness: Harness) =>
  harness.github.requests.filter((r) => r.method === 'POST' && r.path.endsWith('/cancel'));

/** Sam deploys staging (a run that waits for a cancel), Ada confirms /cancel staging. */
async function cancelWith(harness: Harness, fault: string, inject: () => void) {
  const dispatched = harness.github.waitForRun((r) => r.inputs.environment === 'staging', 15_000);
  await harness.say(SAM, '/deploy staging');
  const run = await dispatched;
  const played = harness.github.simulate(run.id, 'cancel');
  const live = await eventually(() => harness.botMessages(SAM.id).at(-1), 15_000, 'live message');
  await harness.say(ADA, '/cancel staging');
  const confirm = await eventually(
    () => harness.botMessages(ADA.id).find((m) => m.text.includes('Cancel the deploy')),
    15_000,
    'cancel confirmation',
  );
  inject();
  const started = Date.now();
  await harness.press(ADA, confirm.message_id, buttonData(confirm, 'Cancel the run'));
  await played;
  await eventually(
    () => harness.telegram.message(SAM.id, live.message_id)?.text.includes('Cancelled'),
    20_000,
    'live message cancelled',
  );
  const answer = await eventually(
    () => harness.telegram.answeredCallbacks.at(-1)?.text,
    15_000,
    'the press answered',
  );
  const finalMs = Date.now() - started;
  const edited = harness.telegram.message(ADA.id, confirm.message_id)?.text ?? '';
  report.add({
    fault,
    userSaw: `toast "${answer}"; ${edited.split('\n')[0]}; live: ${journey(
      harness.telegram.message(SAM.id, live.message_id)?.history ?? [],
    )
      .split(' → ')
      .at(-1)}`,
    dispatches: `${cancelPosts(harness).length} cancel POST`,
    finalMs,
    measuredFrom: 'from Confirm',
  });
  return { answer, edited, run };
}

describe('/cancel against GitHub faults (issue #10)', () => {
  it('a cancel answered 502 after GitHub cancelled the run is reported as cancelled, not as a failure', async () => {
    h = await startHarness();
    const harness = h;
    const { answer, edited } = await cancelWith(harness, 'cancel answered 502, run cancelled', () =>
      harness.github.faults.serverError({
        route: GITHUB_ROUTE.cancelRun,
        status: 502,
        after: true,
        times: 3,
      }),
    );
    expect(answer).not.toMatch(/error|finished|nothing left/i);
    expect(edited).toContain('Ada (@ada) cancelled the run');
    expect(cancelPosts(harness)).toHaveLength(1);
    const audit = await harness.audit();
    expect(audit.filter((a) => a.action === 'cancel_run').map((a) => a.outcome)).toEqual([
      expect.stringMatching(/^attempt run \d+$/),
      'cancelled',
    ]);
  }, 60_000);

  it('a cancel answered 502 where GitHub did nothing is sent once more: a second cancel has no second effect', async () => {
    h = await startHarness();
    const harness = h;
    const { answer } = await cancelWith(harness, 'cancel answered 502, nothing done', () =>
      harness.github.faults.serverError({ route: GITHUB_ROUTE.cancelRun, status: 502 }),
    );
    expect(answer).toBe('Cancelling…');
    expect(cancelPosts(harness).map((r) => r.status)).toEqual([502, 202]);
  }, 60_000);
});
