import { afterEach, describe, expect, it } from 'vitest';
import { ADA, eventually, type Harness, SAM, startHarness } from '../harness.ts';

let h: Harness;
afterEach(async () => {
  await h?.close();
});

describe('TELEGRAM_MODE=polling (a host with no public URL)', () => {
  it('takes commands by long polling and follows runs with no inbound connection at all', async () => {
    h = await startHarness({
      env: {
        TELEGRAM_MODE: 'polling',
        TELEGRAM_WEBHOOK_SECRET: '',
        GITHUB_WEBHOOK_SECRET: '',
        RECONCILE_INTERVAL_SECONDS: '5',
      },
    });
    // No webhook routes exist: nothing from outside reaches the process.
    expect((await fetch(`${h.service.url}/telegram/webhook`, { method: 'POST', body: '{}' })).status).toBe(
      404,
    );
    expect((await fetch(`${h.service.url}/github/webhook`, { method: 'POST', body: '{}' })).status).toBe(404);
    h.github.setWebhook(undefined);
    h.telegram.pushUpdate(h.telegram.userMessage(ADA.id, ADA, '/whoami'));
    await eventually(
      () => h.botMessages(ADA.id).at(-1)?.text.includes('Roles: admin, staging'),
      15_000,
      'reply by polling',
    );
    h.telegram.pushUpdate(h.telegram.userMessage(SAM.id, SAM, '/deploy staging'));
    const run = await eventually(() => h.github.runs.list()[0], 15_000, 'dispatch');
    await h.github.simulate(run.id, 'success', { delayMs: 0 });
    await eventually(
      () => h.botMessages(SAM.id).at(-1)?.text.includes('Succeeded'),
      20_000,
      'final state by reconciliation',
    );
    expect(h.telegram.calls.some((c) => c.method === 'getUpdates')).toBe(true);
  });
});
