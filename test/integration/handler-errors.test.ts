import { afterEach, describe, expect, it } from 'vitest';
import { HANDLER_FAILED_TEXT } from '../../src/telegram/create-bot.ts';
import { ADA, eventually, type Harness, startHarness } from '../harness.ts';

let h: Harness;
afterEach(async () => {
  await h?.close();
});

/** The audit trail's disk fills up under a running bot: every append fails the way Node reports it. */
function fillTheAuditDisk(harness: Harness): void {
  harness.service.deps.audit = {
    append: async () => {
      throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
    },
  };
}

describe('a handler that fails on the bot’s side', () => {
  it('webhook mode: the user gets the same reply as in polling mode, the route still answers 200, nothing is dispatched', async () => {
    h = await startHarness();
    fillTheAuditDisk(h);
    const response = await h.say(ADA, '/deploy staging');
    expect(response.status).toBe(200);
    await eventually(() => h.botMessages(ADA.id).at(-1)?.text === HANDLER_FAILED_TEXT, 10_000, 'error reply');
    expect(h.botMessages(ADA.id)).toHaveLength(1);
    expect(h.github.requests.filter((r) => r.path.endsWith('/dispatches'))).toHaveLength(0);
    expect(h.logs()).toContain('update handler failed');
  });

  it('polling mode: the same reply', async () => {
    h = await startHarness({
      env: { TELEGRAM_MODE: 'polling', TELEGRAM_WEBHOOK_SECRET: '', GITHUB_WEBHOOK_SECRET: '' },
    });
    fillTheAuditDisk(h);
    h.telegram.pushUpdate(h.telegram.userMessage(ADA.id, ADA, '/deploy staging'));
    await eventually(() => h.botMessages(ADA.id).at(-1)?.text === HANDLER_FAILED_TEXT, 15_000, 'error reply');
    expect(h.github.requests.filter((r) => r.path.endsWith('/dispatches'))).toHaveLength(0);
  });
});
