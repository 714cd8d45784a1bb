import { afterEach, describe, expect, it } from 'vitest';
import { signWebhook } from '../fakes/github-webhooks.ts';
import { ADA, buttonData, eventually, GITHUB_SECRET, type Harness, SAM, startHarness } from '../harness.ts';

let h: Harness;
afterEach(async () => {
  await h?.close();
});

/** The message with durations and run ids blanked, so runs played in different orders compare equal. */
const normalise = (text: string) =>
  text
    .replace(/\b\d+h \d\dm\b|\b\d+m \d\ds\b|\b\d+s\b/g, 'N')
    .replace(/run \d+/g, 'run N')
    .replace(/\[[A-Za-z0-9-]+\]/g, '[id]');

async function deployProduction(harness: Harness) {
  await harness.say(ADA, '/deploy production');
  const confirm = await eventually(
    () => harness.botMessages(ADA.id).find((m) => m.text.includes('Deploy to production')),
    15_000,
    'confirmation',
  );
  await harness.press(ADA, confirm.message_id, buttonData(confirm, 'Deploy'));
  const run = await eventually(
    () => harness.github.runs.list().find((r) => r.inputs.environment === 'production'),
    15_000,
    'run',
  );
  return { messageId: confirm.message_id, runId: run.id };
}

const messageText = (harness: Harness, chatId: number, messageId: number) =>
  harness.telegram.message(chatId, messageId)?.text ?? '';

describe('return path: one live message per deployment', () => {
  it('follows a production run through approval to success, live in the same message', async () => {
    h = await startHarness();
    h.github.environments.set('production', {
      reviewers: ['lead-reviewer'],
      url: 'https://shop.example.com',
    });
    const { messageId, runId } = await deployProduction(h);
    const done = h.github.simulate(runId, 'success');
    await eventually(
      () => messageText(h, ADA.id, messageId).includes('Waiting for approval'),
      15_000,
      'approval wait',
    );
    const waiting = messageText(h, ADA.id, messageId);
    expect(waiting).toContain('lead-reviewer');
    expect(waiting).toContain('Resolve');
    h.github.approve(runId);
    await done;
    await eventually(() => messageText(h, ADA.id, messageId).includes('Succeeded'), 15_000, 'success');
    const final = messageText(h, ADA.id, messageId);
    expect(final).toContain('Health check');
    expect(final).toContain('https://shop.example.com');
    expect(final).toMatch(/Succeeded in \d/);
    expect(h.botMessages(ADA.id)).toHaveLength(1);
    const metrics = await (await fetch(`${h.service.url}/metrics`)).text();
    expect(metrics).toMatch(/deployments_total\{env="production",status="succeeded"\} 1/);
    expect(metrics).toMatch(/deployment_duration_seconds_count\{env="production"\} 1/);
  });

  it('ends in the same final message whatever the order of the webhooks, with duplicates', async () => {
    const finals: string[] = [];
    for (const delivery of [
      {},
      { shuffle: true, duplicates: 0.4, seed: 7 },
      { shuffle: true, duplicates: 0.4, seed: 99 },
    ]) {
      h = await startHarness();
      const { messageId, runId } = await deployProduction(h);
      await h.github.simulate(runId, 'health_fail_rollback', { delivery, delayMs: 0 });
      await eventually(
        () => messageText(h, ADA.id, messageId).includes('rolled back'),
        20_000,
        'final state',
      );
      await eventually(() => h.service.outbox.idle(), 10_000, 'outbox idle');
      finals.push(normalise(messageText(h, ADA.id, messageId)));
      expect(h.github.deliveries.every((d) => d.status === 200)).toBe(true);
      await h.close();
    }
    expect(finals[1]).toBe(finals[0]);
    expect(finals[2]).toBe(finals[0]);
  });

  it('shows the failed step and the last lines of its log, escaped, and that it rolled back', async () => {
    h = await startHarness();
    const { messageId, runId } = await deployProduction(h);
    await h.github.simulate(runId, 'health_fail_rollback', { delayMs: 0 });
    await eventually(() => messageText(h, ADA.id, messageId).includes('Failed in'), 20_000, 'log tail');
    const text = messageText(h, ADA.id, messageId);
    expect(text).toContain('rolled back');
    expect(text).toContain('Health check');
    // The fake's log has lines with < and &: Telegram accepted the message, so they were escaped.
    expect(text).toMatch(/[<&]/);
    const metrics = await (await fetch(`${h.service.url}/metrics`)).text();
    expect(metrics).toMatch(/deployments_total\{env="production",status="rolled_back"\} 1/);
  });

  it('refuses a bad signature with 401 and changes nothing', async () => {
    h = await startHarness();
    const { messageId, runId } = await deployProduction(h);
    await eventually(() => messageText(h, ADA.id, messageId).includes('Dispatched'), 15_000, 'dispatched');
    const payload = JSON.stringify({
      action: 'completed',
      workflow_run: {
        id: runId,
        status: 'completed',
        conclusion: 'success',
        html_url: 'https://x',
        updated_at: new Date().toISOString(),
        path: '.github/workflows/deploy.yml',
      },
      repository: { full_name: 'acme/shop' },
    });
    const send = (signature: string, body = payload) =>
      fetch(`${h.service.url}/github/webhook`, {
        method: 'POST',
        headers: {
          'x-github-event': 'workflow_run',
          'x-github-delivery': crypto.randomUUID(),
          'x-hub-signature-256': signature,
          'content-type': 'application/json',
        },
        body,
      });
    expect((await send(signWebhook('wrong-secret', payload))).status).toBe(401);
    expect((await send('sha256=00')).status).toBe(401);
    const noSignature = await fetch(`${h.service.url}/github/webhook`, { method: 'POST', body: payload });
    expect(noSignature.status).toBe(401);
    expect((await send(signWebhook(GITHUB_SECRET, '{not json'), '{not json')).status).toBe(400);
    const record = (await h.service.deps.store.listDeployments({ limit: 1 }))[0];
    expect(record?.state).toBe('dispatched');
    // The right signature for the same body is accepted; the same delivery id a second time has no effect.
    const id = crypto.randomUUID();
    const signed = signWebhook(GITHUB_SECRET, payload);
    const post = () =>
      fetch(`${h.service.url}/github/webhook`, {
        method: 'POST',
        headers: { 'x-github-event': 'workflow_run', 'x-github-delivery': id, 'x-hub-signature-256': signed },
        body: payload,
      });
    expect((await post()).status).toBe(200);
    expect((await post()).status).toBe(200);
    const after = await h.service.deps.store.getDeployment(record?.id ?? '');
    expect(after?.state).toBe('succeeded');
    expect(after?.version).toBe((record?.version ?? 0) + 1);
  });

  it('answers signed deliveries it cannot use with 200 and changes nothing', async () => {
    h = await startHarness();
    const { messageId, runId } = await deployProduction(h);
    await eventually(() => messageText(h, ADA.id, messageId).includes('Dispatched'), 15_000, 'dispatched');
    const before = (await h.service.deps.store.listDeployments({ limit: 1 }))[0];
    const bodies: Array<[string, unknown]> = [
      [
        'workflow_job',
        {
          action: 'completed',
          workflow_job: { id: 'x', run_id: runId },
          repository: { full_name: 'acme/shop' },
        },
      ],
      [
        'workflow_run',
        { action: 'completed', workflow_run: { id: runId }, repository: { full_name: 'acme/shop' } },
      ],
      [
        'workflow_run',
        {
          action: 'completed',
          workflow_run: {
            id: runId,
            status: 'completed',
            conclusion: 'success',
            html_url: 'x',
            updated_at: 'x',
          },
          repository: { full_name: 'other/repo' },
        },
      ],
      ['deployment_status', { deployment_status: {}, repository: { full_name: 'acme/shop' } }],
      ['ping', { zen: 'Keep it logically awesome.', repository: { full_name: 'acme/shop' } }],
      ['workflow_run', [1, 2, 3]],
      ['workflow_run', null],
    ];
    for (const [event, payload] of bodies) {
      const body = JSON.stringify(payload);
      const response = await fetch(`${h.service.url}/github/webhook`, {
        method: 'POST',
        headers: {
          'x-github-event': event,
          'x-github-delivery': crypto.randomUUID(),
          'x-hub-signature-256': signWebhook(GITHUB_SECRET, body),
        },
        body,
      });
      expect(response.status).toBe(200);
    }
    const after = await h.service.deps.store.getDeployment(before?.id ?? '');
    expect(after?.version).toBe(before?.version);
    expect((await fetch(`${h.service.url}/healthz`)).status).toBe(200);
  });

  it('reaches the final state through reconciliation when no webhook arrives', async () => {
    h = await startHarness({ env: { RECONCILE_INTERVAL_SECONDS: '5' } });
    await h.say(SAM, '/deploy staging');
    const run = await eventually(
      () => h.github.runs.list().find((r) => r.inputs.environment === 'staging'),
      15_000,
      'run',
    );
    await h.github.simulate(run.id, 'success', { delivery: { drop: true }, delayMs: 0 });
    expect(h.github.deliveries.filter((d) => d.runId === run.id)).toHaveLength(0);
    await eventually(
      () => h.botMessages(SAM.id).at(-1)?.text.includes('Succeeded'),
      20_000,
      'reconciled success',
    );
    expect(h.botMessages(SAM.id).at(-1)?.text).toContain('Deploy over SSH');
  });

  it('delivers the final state after the service is killed mid-run and restarted', async () => {
    h = await startHarness();
    const { messageId, runId } = await deployProduction(h);
    const done = h.github.simulate(runId, 'health_fail_rollback', { manual: true });
    for (let i = 0; i < 4; i++) await h.github.advance(runId);
    await eventually(
      () => messageText(h, ADA.id, messageId).includes('Resolve'),
      15_000,
      'progress before the kill',
    );
    await h.service.close();
    // While the service is down, the run finishes: those webhooks are lost.
    while (await h.github.advance(runId)) {}
    await done;
    expect(h.github.deliveries.some((d) => d.status === null)).toBe(true);
    await h.restart();
    await eventually(
      () => messageText(h, ADA.id, messageId).includes('rolled back'),
      20_000,
      'final after restart',
    );
    expect(h.botMessages(ADA.id)).toHaveLength(1);
  });

  it('keeps a burst of webhooks for one deployment within Telegram’s limits, the last edit final', async () => {
    h = await startHarness();
    const { messageId, runId } = await deployProduction(h);
    await eventually(() => messageText(h, ADA.id, messageId).includes('Dispatched'), 15_000, 'dispatched');
    const editsBefore = h.telegram.message(ADA.id, messageId)?.edits ?? 0;
    const played = h.github.simulate(runId, 'health_fail_rollback', {
      build: true,
      delayMs: 0,
      delivery: { duplicates: 0.5, seed: 3 },
    });
    // GitHub re-sends too (a redelivery from the UI, a retry after a timeout): the same events again, new ids.
    const echoes: Promise<Response>[] = [];
    await eventually(
      () => h.github.deliveries.filter((d) => d.runId === runId).length >= 10,
      10_000,
      'first deliveries',
    );
    const early = h.github.deliveries.filter((x) => x.runId === runId);
    for (const d of [...early, ...early, ...early]) {
      echoes.push(
        fetch(`${h.service.url}/github/webhook`, {
          method: 'POST',
          headers: {
            'x-github-event': d.event,
            'x-github-delivery': crypto.randomUUID(),
            'x-hub-signature-256': signWebhook(GITHUB_SECRET, d.body),
          },
          body: d.body,
        }),
      );
    }
    await played;
    expect((await Promise.all(echoes)).every((r) => r.status === 200)).toBe(true);
    const events = h.github.deliveries.filter((d) => d.runId === runId).length + echoes.length;
    expect(events).toBeGreaterThanOrEqual(50);
    await eventually(() => messageText(h, ADA.id, messageId).includes('Failed in'), 20_000, 'final state');
    await eventually(() => h.service.outbox.idle(), 15_000, 'outbox idle');
    const edits = (h.telegram.message(ADA.id, messageId)?.edits ?? 0) - editsBefore;
    // Every edit takes a 1 s slot; a burst delivered in well under a second coalesces into a few edits.
    expect(edits).toBeGreaterThanOrEqual(1);
    expect(edits).toBeLessThanOrEqual(8);
    expect(h.telegram.rateLimited).toBe(0);
    expect(h.telegram.retryAfterViolations).toBe(0);
    const record = (await h.service.deps.store.listDeployments({ limit: 1 }))[0];
    expect(record?.deliveredVersion).toBe(record?.version);
    process.stdout.write(`burst: ${events} webhook deliveries → ${edits} edits\n`);
  });
});
