import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import {
  ADA,
  buttonData,
  EVE,
  eventually,
  GITHUB_SECRET,
  GITHUB_TOKEN,
  type Harness,
  SAM,
  startHarness,
  TELEGRAM_SECRET,
  TELEGRAM_TOKEN,
} from '../harness.ts';

const run = promisify(execFile);
let h: Harness;
afterEach(async () => {
  await h?.close();
});

const dispatches = (harness: Harness) =>
  harness.github.requests.filter(
    (r) => r.method === 'POST' && r.path.endsWith('/dispatches') && r.status < 300,
  );
const lastText = (harness: Harness, chatId: number) => harness.botMessages(chatId).at(-1)?.text ?? '';

async function requestProduction(harness: Harness) {
  await harness.say(ADA, '/deploy production');
  return eventually(
    () => harness.botMessages(ADA.id).find((m) => m.text.includes('Deploy to production')),
    15_000,
    'confirmation',
  );
}

describe('request path: /deploy to a confirmed workflow_dispatch', () => {
  it('shows the pinned commit and dispatches exactly that SHA once on Confirm', async () => {
    h = await startHarness();
    const sha = h.github.repo.commit({
      branch: 'main',
      message: 'Fix checkout <b>totals</b> & tax',
      author: 'Grace Hopper',
    });
    const confirm = await requestProduction(h);
    expect(confirm.text).toContain(sha.slice(0, 7));
    expect(confirm.text).toContain('Fix checkout <b>totals</b> & tax'); // shown literally, not as markup
    expect(confirm.text).toContain('Grace Hopper');
    expect(confirm.text).toContain('First deployment');
    expect(confirm.text).toContain('Requested by Ada');
    expect(confirm.text).toMatch(/Waiting for confirmation until \d\d:\d\d UTC/);
    // Main moves on after the confirmation was shown: what was shown is what is deployed.
    h.github.repo.commit({ branch: 'main', message: 'Later commit' });
    await h.press(ADA, confirm.message_id, buttonData(confirm, 'Deploy'));
    await eventually(() => dispatches(h).length === 1, 15_000, 'dispatch');
    const body = dispatches(h)[0]?.body as {
      ref: string;
      inputs: Record<string, string>;
      return_run_details: boolean;
    };
    expect(body.ref).toBe('main');
    expect(body.return_run_details).toBe(true);
    expect(body.inputs).toMatchObject({
      environment: 'production',
      sha,
      action: 'deploy',
      requested_by: 'Ada (@ada)',
    });
    expect(body.inputs.request_id).toMatch(/^[A-Za-z0-9-]{1,64}$/);
    await eventually(
      () =>
        h
          .botMessages(ADA.id)
          .find((m) => m.message_id === confirm.message_id)
          ?.text.includes('Dispatched'),
      15_000,
      'edit',
    );
    const edited = h.botMessages(ADA.id).find((m) => m.message_id === confirm.message_id);
    expect(edited?.reply_markup?.inline_keyboard.flat().some((b) => 'url' in b && b.url)).toBe(true);
    expect(h.github.violations).toEqual([]);
  });

  it('says how many commits a deploy adds over what the environment runs', async () => {
    h = await startHarness();
    const running = h.github.repo.commit({ branch: 'main', message: 'Running now' });
    h.github.deployments.seed({
      environment: 'production',
      sha: running,
      statuses: ['in_progress', 'success', 'inactive'],
    });
    h.github.repo.commit({ branch: 'main', message: 'One' });
    h.github.repo.commit({ branch: 'main', message: 'Two' });
    const confirm = await requestProduction(h);
    expect(confirm.text).toContain(`2 commits over ${running.slice(0, 7)}, running now:`);
    // Newest first, so the on-call engineer sees what is about to go out.
    expect(confirm.text).toMatch(/• Two — .*\n\s*• One — /);
  });

  it('a double tap, a replayed update and a replayed button dispatch once', async () => {
    h = await startHarness();
    const confirm = await requestProduction(h);
    const data = buttonData(confirm, 'Deploy');
    const update = h.telegram.pressButton(ADA.id, confirm.message_id, ADA, data);
    const again = h.telegram.pressButton(ADA.id, confirm.message_id, ADA, data);
    const answers = await Promise.all([h.postUpdate(update), h.postUpdate(again), h.postUpdate(update)]);
    expect(answers.map((r) => r.status)).toEqual([200, 200, 200]);
    await eventually(() => dispatches(h).length === 1, 15_000, 'dispatch');
    await h.press(ADA, confirm.message_id, data);
    await new Promise((r) => setTimeout(r, 300));
    expect(dispatches(h)).toHaveLength(1);
    expect(h.telegram.answeredCallbacks.some((a) => a.text === 'Already answered.')).toBe(true);
  });

  it('refuses forged, expired and other-user presses without dispatching', async () => {
    h = await startHarness({ service: { confirmTtlMs: 1500 } });
    const confirm = await requestProduction(h);
    const data = buttonData(confirm, 'Deploy');
    const forged = `${data.slice(0, -4)}AAAA`;
    await h.press(ADA, confirm.message_id, forged);
    await h.press(ADA, confirm.message_id, 'c:AAAAAAAAAAAAAAAAAAAAAA:AAAAAAAAAAAAAAAA');
    await h.press(SAM, confirm.message_id, data, ADA.id);
    await eventually(() => h.telegram.answeredCallbacks.length >= 3, 10_000, 'answers');
    expect(h.telegram.answeredCallbacks.map((a) => a.text)).toEqual([
      'This button is not valid.',
      'This button is not valid.',
      'Only Ada (@ada) can confirm this.',
    ]);
    await new Promise((r) => setTimeout(r, 1600));
    await h.press(ADA, confirm.message_id, data);
    await eventually(() => h.telegram.answeredCallbacks.length >= 4, 10_000, 'expired answer');
    expect(h.telegram.answeredCallbacks.at(-1)?.text).toContain('expired');
    expect(dispatches(h)).toHaveLength(0);
    await eventually(
      () =>
        h
          .botMessages(ADA.id)
          .find((m) => m.message_id === confirm.message_id)
          ?.text.includes('Expired'),
      10_000,
      'expired message',
    );
  });

  it('re-checks the role at the press: an admin removed by a restart cannot confirm', async () => {
    h = await startHarness();
    const confirm = await requestProduction(h);
    await h.restart({ ADMIN_TELEGRAM_IDS: '4242' });
    await h.press(ADA, confirm.message_id, buttonData(confirm, 'Deploy'));
    await eventually(() => h.telegram.answeredCallbacks.length >= 1, 10_000, 'answer');
    expect(h.telegram.answeredCallbacks[0]?.text).toBe('You may no longer deploy to production.');
    expect(dispatches(h)).toHaveLength(0);
  });

  it('Cancel closes the request; the requester or any admin may cancel', async () => {
    h = await startHarness();
    const confirm = await requestProduction(h);
    await h.press(ADA, confirm.message_id, buttonData(confirm, 'Cancel'));
    await eventually(
      () =>
        h
          .botMessages(ADA.id)
          .find((m) => m.message_id === confirm.message_id)
          ?.text.includes('Cancelled'),
      10_000,
      'cancelled',
    );
    await h.press(ADA, confirm.message_id, buttonData(confirm, 'Deploy'));
    await new Promise((r) => setTimeout(r, 300));
    expect(dispatches(h)).toHaveLength(0);
  });

  it('staging deploys at once, any branch; production refuses other branches before asking GitHub', async () => {
    h = await startHarness();
    const develop = h.github.repo.commit({ branch: 'develop', message: 'Staging work' });
    await h.say(SAM, '/deploy staging');
    await eventually(() => dispatches(h).length === 1, 15_000, 'staging dispatch');
    expect(dispatches(h)[0]?.body).toMatchObject({ inputs: { sha: develop } });
    await eventually(() => lastText(h, SAM.id).includes('Dispatched'), 15_000, 'dispatched message');
    // One in flight: a second deploy to staging is refused until it ends.
    const feature = h.github.repo.commit({ branch: 'feature/login', message: 'Login form' });
    await h.say(SAM, '/deploy staging feature/login');
    await eventually(() => lastText(h, SAM.id).includes('already'), 15_000, 'in-flight refusal');
    expect(dispatches(h)).toHaveLength(1);
    expect(feature).toMatch(/^[0-9a-f]{40}$/);
    const before = h.github.requests.length;
    await h.say(ADA, '/deploy production develop');
    await eventually(
      () => lastText(h, ADA.id).includes('production accepts only branch main'),
      15_000,
      'ref refusal',
    );
    expect(h.github.requests.length).toBe(before);
  });

  it.each([
    ['main;rm -rf /', 'may contain only'],
    ['$(id)', 'may contain only'],
    ['../../etc', 'is not a valid branch or tag name'],
    ['x'.repeat(300), 'at most 200 characters'],
  ])('refuses the ref %j with a clear message and no GitHub call', async (ref, message) => {
    h = await startHarness();
    const before = h.github.requests.length;
    await h.say(SAM, `/deploy staging ${ref}`);
    await eventually(() => lastText(h, SAM.id).includes(message), 15_000, 'refusal');
    expect(h.github.requests.length).toBe(before);
  });

  it('gives each role its commands, and strangers one short denial with an audit record', async () => {
    h = await startHarness();
    await h.say(EVE, '/deploy production');
    await h.say(EVE, '/whoami');
    await h.say(SAM, '/help');
    await h.say(SAM, '/deploy production');
    await eventually(
      () => h.botMessages(EVE.id).length === 2 && h.botMessages(SAM.id).length === 2,
      15_000,
      'answers',
    );
    expect(h.botMessages(EVE.id).map((m) => m.text)).toEqual([
      `Not authorised. Your Telegram id is ${EVE.id}.`,
      `Your Telegram id: ${EVE.id}\nRoles: none (ask an admin to add your id)`,
    ]);
    const help = h.botMessages(SAM.id)[0]?.text ?? '';
    expect(help).toContain('/deploy');
    expect(help).toContain('staging');
    expect(help).not.toContain('production:');
    expect(h.botMessages(SAM.id)[1]?.text).toBe('You may not deploy to production.');
    expect(dispatches(h)).toHaveLength(0);
    const audit = await readFile(h.config.auditLogPath, 'utf8');
    expect(audit).toContain('"actor_id":1003');
    expect(audit).toContain('"outcome":"unauthorised"');
    expect(audit).toContain('"action":"deploy_denied"');
  });

  it('answers 401 to a wrong secret without calling Telegram, 400 and 413 to bad bodies, and keeps serving', async () => {
    h = await startHarness();
    const callsBefore = h.telegram.calls.length;
    const wrong = await h.postUpdate(h.telegram.userMessage(ADA.id, ADA, '/whoami'), 'wrong-secret');
    expect(wrong.status).toBe(401);
    const missing = await fetch(`${h.service.url}/telegram/webhook`, { method: 'POST', body: '{}' });
    expect(missing.status).toBe(401);
    const headers = {
      'x-telegram-bot-api-secret-token': TELEGRAM_SECRET,
      'content-type': 'application/json',
    };
    const broken = await fetch(`${h.service.url}/telegram/webhook`, {
      method: 'POST',
      headers,
      body: '{"update_id": 1,',
    });
    expect(broken.status).toBe(400);
    const notUpdate = await fetch(`${h.service.url}/telegram/webhook`, {
      method: 'POST',
      headers,
      body: '[1,2]',
    });
    expect(notUpdate.status).toBe(400);
    const huge = await fetch(`${h.service.url}/telegram/webhook`, {
      method: 'POST',
      headers,
      body: `{"x":"${'a'.repeat(1024 * 1024)}"}`,
    });
    expect(huge.status).toBe(413);
    const ignored = await h.postUpdate({
      update_id: 999_999,
      channel_post: { message_id: 1, date: 1, chat: { id: -5, type: 'channel' }, text: 'hi' },
    });
    expect(ignored.status).toBe(200);
    await new Promise((r) => setTimeout(r, 200));
    expect(h.telegram.calls.length).toBe(callsBefore);
    expect((await fetch(`${h.service.url}/healthz`)).status).toBe(200);
    expect((await fetch(`${h.service.url}/readyz`)).status).toBe(200);
    await h.say(ADA, '/whoami');
    await eventually(() => lastText(h, ADA.id).includes('Roles: admin, staging'), 10_000, 'still serving');
  });

  it('falls back to finding the run by name on a server that refuses return_run_details', async () => {
    h = await startHarness({ github: { supportsReturnRunDetails: false } });
    await h.say(SAM, '/deploy staging');
    await eventually(() => lastText(h, SAM.id).includes('Dispatched'), 20_000, 'dispatched');
    const record = (await h.service.deps.store.listDeployments({ limit: 1 }))[0];
    expect(record?.runId).toBe(h.github.runs.list()[0]?.id);
  });

  it('turns GitHub refusals into messages a user can act on', async () => {
    h = await startHarness({ env: { DEPLOY_WORKFLOW: 'missing.yml' } });
    await h.say(SAM, '/deploy staging');
    await eventually(
      () => lastText(h, SAM.id).includes('does not know workflow missing.yml'),
      15_000,
      'not found',
    );
    await h.close();
    h = await startHarness({ github: { permissions: { actions: 'read' } } });
    await h.say(SAM, '/deploy staging');
    await eventually(() => lastText(h, SAM.id).includes('Actions read/write'), 15_000, 'forbidden');
  });

  it('keeps secrets out of logs and the audit trail, and the trail verifies', async () => {
    h = await startHarness();
    const confirm = await requestProduction(h);
    await h.press(ADA, confirm.message_id, buttonData(confirm, 'Deploy'));
    await eventually(() => dispatches(h).length === 1, 15_000, 'dispatch');
    await h.say(EVE, '/deploy production');
    await eventually(() => h.botMessages(EVE.id).length === 1, 10_000, 'denial');
    await h.service.close();
    const audit = await readFile(h.config.auditLogPath, 'utf8');
    const logs = h.logs();
    expect(logs.length).toBeGreaterThan(0);
    for (const secret of [
      TELEGRAM_TOKEN,
      TELEGRAM_SECRET,
      GITHUB_TOKEN,
      GITHUB_SECRET,
      TELEGRAM_TOKEN.split(':')[1] as string,
    ]) {
      expect(logs).not.toContain(secret);
      expect(audit).not.toContain(secret);
    }
    const { stdout } = await run(process.execPath, ['src/cli.ts', 'audit', 'verify', h.config.auditLogPath]);
    expect(stdout).toMatch(/\d+ lines, hash chain intact/);
  });
});
