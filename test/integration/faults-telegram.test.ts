import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { ADA, buttonData, eventually, type Harness, SAM, startHarness } from '../harness.ts';
import { faultReport, journey } from './fault-report.ts';

// Issue #10, Telegram's side: a 5xx or a network error in one chat never holds up another chat, the
// final state reaches the message within seconds of Telegram's recovery, a 429's retry_after is
// always honoured, and nothing owed is dropped.

let h: Harness | undefined;
const report = faultReport('Telegram faults');
afterEach(async () => {
  await h?.close();
  h = undefined;
});
afterAll(() => report.print());

const lastMessage = (harness: Harness, chatId: number) => harness.botMessages(chatId).at(-1);

/** Sam's staging deploy: its run and its live message. */
async function stagingRun(harness: Harness) {
  const dispatched = harness.github.waitForRun((r) => r.inputs.environment === 'staging', 15_000);
  await harness.say(SAM, '/deploy staging');
  const run = await dispatched;
  const live = await eventually(
    () => harness.botMessages(SAM.id).find((m) => /run \d+/.test(m.text)),
    15_000,
    'Sam’s live message',
  );
  return { run, messageId: live.message_id };
}

/** Ada's confirmed production deploy, in her own chat. */
async function productionRun(harness: Harness) {
  await harness.say(ADA, '/deploy production');
  const confirm = await eventually(
    () => harness.botMessages(ADA.id).find((m) => m.text.includes('Deploy to production')),
    15_000,
    'confirmation',
  );
  const dispatched = harness.github.waitForRun((r) => r.inputs.environment === 'production', 15_000);
  await harness.press(ADA, confirm.message_id, buttonData(confirm, 'Deploy'));
  const run = await dispatched;
  await eventually(() => /run \d+/.test(lastMessage(harness, ADA.id)?.text ?? ''), 15_000, 'Ada’s run');
  return { run, messageId: confirm.message_id };
}

/** Plays a run to success; resolves with how long its chat took to show the final state after the run ended. */
async function finalDelay(harness: Harness, chatId: number, messageId: number, runId: number) {
  await harness.github.simulate(runId, 'success', { delayMs: 20 });
  const ended = Date.now();
  await eventually(
    () => harness.telegram.message(chatId, messageId)?.text.includes('Succeeded'),
    30_000,
    `final state in chat ${chatId}`,
  );
  return { ended, ms: Date.now() - ended, at: Date.now() };
}

describe('Telegram faults (issue #10)', () => {
  it('five 502s on one chat’s edits: the other chat is not held up, and the final state arrives within seconds of recovery', async () => {
    h = await startHarness();
    const sam = await stagingRun(h);
    const ada = await productionRun(h);
    h.telegram.faults.badGateway({ method: 'editMessageText', chatId: SAM.id, times: 5 });
    const [samDone, adaDone] = await Promise.all([
      finalDelay(h, SAM.id, sam.messageId, sam.run.id),
      finalDelay(h, ADA.id, ada.messageId, ada.run.id),
    ]);
    const fired = h.telegram.faults.fired;
    expect(fired).toHaveLength(5);
    const recovered = (fired.at(-1)?.at ?? 0) + 1;
    const afterRecovery = samDone.at - recovered;
    report.add({
      fault: 'five 502s (nginx page) on editMessageText, one chat',
      userSaw: `that chat: ${journey(h.telegram.message(SAM.id, sam.messageId)?.history ?? [])
        .split(' → ')
        .at(-1)} ${(afterRecovery / 1000).toFixed(1)} s after Telegram recovered`,
      dispatches: '1 run',
      finalMs: samDone.ms,
      measuredFrom: 'after its run ended',
    });
    report.add({
      fault: '(the same) another chat meanwhile',
      userSaw: `other chat: ${journey(h.telegram.message(ADA.id, ada.messageId)?.history ?? [])
        .split(' → ')
        .at(-1)}`,
      dispatches: '1 run',
      finalMs: adaDone.ms,
      measuredFrom: 'after its run ended',
    });
    // Generous bounds on a busy two-core machine; the table shows the numbers.
    expect(adaDone.ms).toBeLessThan(8_000);
    expect(afterRecovery).toBeLessThan(12_000);
    expect(h.telegram.retryAfterViolations).toBe(0);
    expect(h.botMessages(SAM.id).filter((m) => /run \d+/.test(m.text))).toHaveLength(1);
  }, 90_000);

  it('a 429 whose retry_after is longer than auto-retry waits is honoured by the chat’s queue, nothing dropped', async () => {
    h = await startHarness();
    const sam = await stagingRun(h);
    h.telegram.faults.tooManyRequests({ method: 'editMessageText', chatId: SAM.id, retryAfter: 12 });
    const done = await finalDelay(h, SAM.id, sam.messageId, sam.run.id);
    report.add({
      fault: '429 retry_after 12 on editMessageText',
      userSaw:
        journey(h.telegram.message(SAM.id, sam.messageId)?.history ?? [])
          .split(' → ')
          .at(-1) ?? '',
      dispatches: '1 run',
      finalMs: done.ms,
      measuredFrom: 'after its run ended',
    });
    expect(h.telegram.retryAfterViolations).toBe(0);
    expect(h.telegram.faults.fired).toHaveLength(1);
  }, 60_000);

  it('a reset on the first message and on an edit Telegram carried out: sent once, final state shown', async () => {
    h = await startHarness();
    h.telegram.faults.connectionReset({ method: 'sendMessage', chatId: SAM.id });
    const sam = await stagingRun(h);
    h.telegram.faults.connectionReset({ method: 'editMessageText', chatId: SAM.id, after: true });
    const done = await finalDelay(h, SAM.id, sam.messageId, sam.run.id);
    report.add({
      fault: 'reset on the first sendMessage, then on an edit carried out',
      userSaw: journey(h.telegram.message(SAM.id, sam.messageId)?.history ?? []),
      dispatches: '1 run',
      finalMs: done.ms,
      measuredFrom: 'after its run ended',
    });
    expect(h.botMessages(SAM.id).filter((m) => m.text.includes('Deploy to staging'))).toHaveLength(1);
    expect(h.telegram.faults.fired).toHaveLength(2);
  }, 60_000);

  it('a command’s answer survives two 502s: it is sent again and arrives once', async () => {
    h = await startHarness();
    h.telegram.faults.badGateway({ method: 'sendMessage', chatId: SAM.id, times: 2 });
    const started = Date.now();
    await h.say(SAM, '/help');
    await eventually(() => lastMessage(h as Harness, SAM.id)?.text.includes('/deploy'), 20_000, 'help');
    report.add({
      fault: 'two 502s on sendMessage (a command’s answer)',
      userSaw: 'the /help answer, once',
      dispatches: '—',
      finalMs: Date.now() - started,
      measuredFrom: 'from /help',
    });
    expect(h.botMessages(SAM.id)).toHaveLength(1);
  }, 40_000);
});
