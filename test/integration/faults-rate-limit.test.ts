import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { GITHUB_ROUTE } from '../fakes/github-faults.ts';
import { eventually, type Harness, SAM, startHarness } from '../harness.ts';
import { faultReport, journey } from './fault-report.ts';

// Issue #10: GitHub's rate limits. One that lifts within about 30 s is waited out and the command
// goes through; a longer one is told with the time it lifts; a secondary limit without retry-after
// means "at least a minute" (GitHub's guidance) and is told, not waited out in silence.

let h: Harness | undefined;
const report = faultReport('GitHub rate limits');
afterEach(async () => {
  await h?.close();
  h = undefined;
});
afterAll(() => report.print());

const botTexts = (harness: Harness) => harness.botMessages(SAM.id).map((m) => m.text);
const posts = (harness: Harness) =>
  harness.github.requests.filter((r) => r.method === 'POST' && r.path.endsWith('/dispatches'));

/** /deploy staging; resolves when the chat shows a dispatched run or a refusal, with what it showed. */
async function deploy(
  harness: Harness,
  fault: string,
  done: (texts: string[]) => boolean,
  timeoutMs = 45_000,
) {
  const started = Date.now();
  await harness.say(SAM, '/deploy staging');
  await eventually(() => done(botTexts(harness)), timeoutMs, `the answer to /deploy (${fault})`);
  const ms = Date.now() - started;
  const last = harness.botMessages(SAM.id).at(-1);
  report.add({
    fault,
    userSaw: last?.history.length && /Deploy to/.test(last.text) ? journey(last.history) : (last?.text ?? ''),
    dispatches: `${harness.github.runs.list().length} run (${posts(harness).length} POST)`,
    finalMs: ms,
    measuredFrom: 'from /deploy to the answer',
  });
  return ms;
}
const dispatched = (texts: string[]) => texts.some((t) => /run \d+/.test(t));

describe('GitHub rate limits (issue #10)', () => {
  it('a primary limit that resets in 3 s is waited out, also when GitHub reports it once more', async () => {
    h = await startHarness();
    h.github.faults.primaryRateLimit({ route: '*', resetInSeconds: 3, times: 2 });
    const ms = await deploy(h, 'primary limit, resets in 3 s, reported twice', dispatched);
    expect(botTexts(h).join('\n')).not.toMatch(/rate limit/i);
    expect(h.github.runs.list()).toHaveLength(1);
    expect(ms).toBeGreaterThanOrEqual(4000);
  }, 60_000);

  it('a primary limit that resets in 12 minutes is told with the time it resets', async () => {
    h = await startHarness();
    h.github.faults.primaryRateLimit({
      route: '*',
      resetInSeconds: 12 * 60,
      times: Number.POSITIVE_INFINITY,
    });
    await deploy(
      h,
      'primary limit, resets in 12 min',
      (texts) => texts.some((t) => /rate limit/.test(t)),
      15_000,
    );
    const text = botTexts(h).at(-1) ?? '';
    const reset = new Date(Math.ceil((Date.now() + 12 * 60_000) / 60_000) * 60_000)
      .toISOString()
      .slice(11, 16);
    expect(text).toMatch(/GitHub’s rate limit resets at \d\d:\d\d UTC \(in 1[12] min\)/);
    expect(text.slice(text.indexOf('resets at') + 10, text.indexOf('resets at') + 15) <= reset).toBe(true);
    expect(posts(h)).toHaveLength(0);
  }, 30_000);

  it('a primary limit on the dispatch itself is waited out: GitHub refused it, so it is sent again', async () => {
    h = await startHarness();
    h.github.faults.primaryRateLimit({ route: GITHUB_ROUTE.dispatch, resetInSeconds: 3 });
    await deploy(h, 'primary limit on the dispatch, resets in 3 s', dispatched);
    expect(h.github.runs.list()).toHaveLength(1);
    expect(posts(h).map((r) => r.status)).toEqual([403, 200]);
  }, 60_000);

  it('a secondary limit with retry-after 3 is waited out', async () => {
    h = await startHarness();
    h.github.faults.secondaryRateLimit({ status: 429, retryAfter: 3, times: 2 });
    await deploy(h, 'secondary limit (429, retry-after 3), twice', dispatched);
    expect(botTexts(h).join('\n')).not.toMatch(/rate limit/i);
    expect(h.github.runs.list()).toHaveLength(1);
  }, 60_000);

  it('a secondary limit without retry-after is told at once: try again after a minute', async () => {
    h = await startHarness();
    h.github.faults.secondaryRateLimit({ status: 403, times: Number.POSITIVE_INFINITY });
    await deploy(
      h,
      'secondary limit (403) without retry-after',
      (texts) => texts.some((t) => /secondary rate limit/.test(t)),
      15_000,
    );
    expect(botTexts(h).at(-1)).toMatch(
      /GitHub asked the bot to slow down \(secondary rate limit\)\. Try again after \d\d:\d\d UTC \(in 1 min\)\./,
    );
    expect(posts(h)).toHaveLength(0);
  }, 30_000);
});
