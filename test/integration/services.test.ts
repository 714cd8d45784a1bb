import { afterEach, describe, expect, it } from 'vitest';
import type { Person } from '../fakes/telegram-updates.ts';
import {
  ADA,
  ask,
  buttonData,
  EVE,
  eventually,
  type Harness,
  pickerRefStep,
  SAM,
  startHarness,
} from '../harness.ts';

/** Two services in two repositories of one fake GitHub, each with its own team and chat. */
const TWO_SERVICES = `
services:
  shop:
    repository: acme/shop
    environments:
      staging: { branch: develop, role: staging, confirm: false, refs: ["**", "tag:**"] }
      production: { branch: main }
    deployers: [${SAM.id}]
    chats: [-100111]
  billing:
    repository: acme/billing
    environments:
      staging: { branch: main, role: staging, confirm: false, refs: ["**", "tag:v*"] }
      production: { branch: main }
    deployers: [${EVE.id}]
    chats: [-100222]
`;

let h: Harness;
afterEach(async () => {
  await h?.close();
});

async function start(): Promise<Harness> {
  // No global deployers: Sam deploys only the shop, Eve only billing; Ada (global admin) both.
  return startHarness({
    configYaml: TWO_SERVICES,
    github: { repositories: ['acme/billing'] },
    env: { STAGING_TELEGRAM_IDS: '' },
  });
}

const runsOf = (harness: Harness, repository: string) => harness.github.repository(repository).runs.list();

/** The deployment message in a chat that ends in `state`. */
const finalMessage = (harness: Harness, chatId: number, state: string) =>
  eventually(
    () => harness.botMessages(chatId).find((m) => m.text.includes(state)),
    20_000,
    `"${state}" in chat ${chatId}`,
  );

async function deployStaging(harness: Harness, who: Person, service: string) {
  await harness.say(who, `/deploy ${service} staging`);
  const run = await eventually(
    () => runsOf(harness, `acme/${service}`).find((r) => r.inputs.environment === 'staging'),
    15_000,
    `${service} run`,
  );
  // The deployment's own message can reach the chat after the run exists; wait for it, so the
  // next `ask` in this chat does not take it for its answer (CI caught exactly that).
  await eventually(
    () => harness.botMessages(who.id).some((m) => m.text.startsWith(`Deploy ${service} to staging`)),
    15_000,
    `${service} deployment message`,
  );
  return run;
}

describe('services: two repositories, two teams, one bot', () => {
  it('a deployer of one service cannot deploy the other; each dispatch goes to its own repository', async () => {
    h = await start();
    expect(await ask(h, EVE, '/deploy shop staging')).toContain('You may not deploy to shop staging.');
    expect(await ask(h, SAM, '/deploy billing staging')).toContain('You may not deploy to billing staging.');
    const billing = await deployStaging(h, EVE, 'billing');
    expect(billing.inputs.requested_by).toContain('Eve');
    expect(runsOf(h, 'acme/shop')).toHaveLength(0);
    const shop = await deployStaging(h, SAM, 'shop');
    expect(runsOf(h, 'acme/billing')).toHaveLength(1);
    // GitHub's run ids are unique across repositories, and the SHAs differ.
    expect(shop.id).not.toBe(billing.id);
    expect(shop.inputs.sha).not.toBe(billing.inputs.sha);
    // Without naming the service: the bot asks which.
    expect(await ask(h, EVE, '/deploy staging')).toContain(
      'Name the service first. Services: shop, billing.',
    );
    const audit = await h.audit();
    expect(audit.some((l) => l.action === 'deploy_denied' && l.environment === 'shop/staging')).toBe(true);
  });

  it('a lock on one service does not touch the other', async () => {
    h = await start();
    const locked = await ask(h, ADA, '/lock shop staging 1h freeze');
    expect(locked).toContain('shop staging is locked for 1h');
    expect(locked).toContain('/unlock shop staging lifts it');
    // A refusal says which service's environment it is about (two have a staging here).
    expect(await ask(h, SAM, '/deploy shop staging')).toContain('shop staging is locked by Ada');
    // Hints in answers name the service, so they can be typed as they are.
    expect(await ask(h, ADA, '/lock shop staging 2h again')).toContain('/unlock shop staging first');
    await deployStaging(h, EVE, 'billing');
    expect(runsOf(h, 'acme/shop')).toHaveLength(0);
    expect(await ask(h, ADA, '/history billing staging')).toContain('History of billing staging');
    const status = await ask(h, ADA, '/status');
    expect(status).toContain('shop');
    expect(status).toContain('billing');
    expect(status.split('billing')[0]).toContain('freeze');
    expect(status.split('billing')[1]).not.toContain('freeze');
    expect(await ask(h, ADA, '/unlock billing staging')).toBe('billing staging is not locked.');
    expect(await ask(h, ADA, '/unlock shop staging')).toContain('shop staging is unlocked');
  });

  it('/cancel names the service and cancels that service’s run only', async () => {
    h = await start();
    const run = await deployStaging(h, EVE, 'billing');
    expect(await ask(h, ADA, '/cancel shop staging')).toBe('Nothing is in flight for shop staging.');
    const played = h.github.repository('acme/billing').simulate(run.id, 'cancel');
    expect(await ask(h, ADA, '/cancel billing staging')).toContain('Cancel the deploy to billing staging');
    const confirm = h.botMessages(ADA.id).at(-1);
    if (!confirm) throw new Error('no confirmation');
    await h.press(ADA, confirm.message_id, buttonData(confirm, 'Cancel the run'));
    await eventually(
      () =>
        h.telegram
          .message(ADA.id, confirm.message_id)
          ?.text.match(/cancel the run of \w+ to billing staging/),
      15_000,
      'confirmation edited',
    );
    await played;
    const cancels = h.github.requests.filter((r) => r.method === 'POST' && r.path.endsWith('/cancel'));
    expect(cancels.map((r) => r.path)).toEqual([`/repos/acme/billing/actions/runs/${run.id}/cancel`]);
  });

  it('webhooks of both repositories end in the right messages', async () => {
    h = await start();
    const shopRun = await deployStaging(h, SAM, 'shop');
    const billingRun = await deployStaging(h, EVE, 'billing');
    await Promise.all([
      h.github.repository('acme/shop').simulate(shopRun.id, 'success'),
      h.github.repository('acme/billing').simulate(billingRun.id, 'fail_build'),
    ]);
    const shopDone = await finalMessage(h, SAM.id, 'Succeeded');
    expect(shopDone.text).toContain(shopRun.inputs.sha?.slice(0, 7));
    const billingDone = await finalMessage(h, EVE.id, 'Failed');
    expect(billingDone.text).toContain(billingRun.inputs.sha?.slice(0, 7));
    expect(h.botMessages(SAM.id).some((m) => m.text.includes('Failed'))).toBe(false);
    const metrics = await (await fetch(`${h.service.url}/metrics`)).text();
    expect(metrics).toMatch(/deployments_total\{env="staging",service="shop",status="succeeded"\} 1/);
    expect(metrics).toMatch(/deployments_total\{env="staging",service="billing",status="failed"\} 1/);
  });

  it('a run started outside Telegram is followed in its service’s chat', async () => {
    h = await start();
    const billing = h.github.repository('acme/billing');
    const sha = billing.repo.commit({ branch: 'main', message: 'Started from the Actions UI' });
    const run = billing.state.createRun(
      'main',
      sha,
      { environment: 'staging', sha, action: 'deploy', request_id: 'manual-7', requested_by: 'octocat' },
      'octocat',
    );
    await billing.simulate(run.id, 'success', { delayMs: 20 });
    await eventually(
      () => h.botMessages(-100222).at(-1)?.text.includes('Succeeded'),
      20_000,
      'billing chat message',
    );
    expect(h.botMessages(-100222)[0]?.text).toContain(sha.slice(0, 7));
    expect(h.botMessages(-100111)).toHaveLength(0);
  });

  it('the picker: /deploy alone, a target, a recent ref the rules allow, then the dispatch; every step re-checked', async () => {
    h = await start();
    const billing = h.github.repository('acme/billing');
    const older = billing.repo.commit({ branch: 'main', message: 'Older' });
    billing.repo.tag('v1.0.0', older);
    billing.repo.tag('nightly', older);
    const newer = billing.repo.commit({ branch: 'feature/pay', message: 'Newer' });
    billing.state.advanceClock(60_000);
    const newest = billing.repo.commit({ branch: 'feature/pay', message: 'Newest' });
    expect(newer).not.toBe(newest);

    const targets = await eventually(
      async () => {
        if (h.botMessages(EVE.id).length === 0) await h.say(EVE, '/deploy');
        return h.botMessages(EVE.id).find((m) => m.text.includes('Pick a target'));
      },
      15_000,
      'picker',
    );
    const labels = targets.reply_markup?.inline_keyboard.flat().map((b) => b.text);
    expect(labels).toEqual(['billing · staging']);
    for (const row of targets.reply_markup?.inline_keyboard ?? [])
      for (const b of row)
        expect(Buffer.byteLength('callback_data' in b ? b.callback_data : '')).toBeLessThanOrEqual(64);
    const target = buttonData(targets, 'billing · staging');

    // Sam holds no role in billing: the same signed button does nothing for him.
    await h.press(SAM, targets.message_id, target, EVE.id);
    const denied = await eventually(
      () => h.telegram.answeredCallbacks.find((a) => a.text?.includes('may no longer deploy')),
      15_000,
      'refusal toast',
    );
    expect(denied.show_alert).toBe(true);
    // Eve's press replaces the message with the refs: newest first, only what the rules allow.
    await h.press(EVE, targets.message_id, target);
    const refs = await pickerRefStep(h, EVE.id, targets.message_id);
    const refLabels = refs.reply_markup?.inline_keyboard.flat().map((b) => b.text) ?? [];
    expect(refLabels[0]).toBe('🌿 feature/pay');
    expect(refLabels).toContain('🏷 v1.0.0');
    expect(refLabels).toContain('🌿 main');
    expect(refLabels.join()).not.toContain('nightly');
    await h.press(EVE, targets.message_id, buttonData(refs, 'v1.0.0'));
    const run = await eventually(() => runsOf(h, 'acme/billing')[0], 15_000, 'dispatch');
    expect(run.inputs).toMatchObject({ environment: 'staging', sha: older });
    expect(runsOf(h, 'acme/shop')).toHaveLength(0);
    // A tampered payload is refused before anything is looked up.
    await h.press(
      EVE,
      targets.message_id,
      target.replace(/.$/, (c) => (c === 'A' ? 'B' : 'A')),
    );
    const audit = await h.audit();
    expect(audit.some((l) => l.action === 'button_refused' && l.outcome === 'forged')).toBe(true);
    expect(audit.filter((l) => l.action === 'deploy_requested').map((l) => l.actor_id)).toEqual([EVE.id]);
  });

  it('the picker ends in the usual pinned-SHA confirmation where the environment asks for one', async () => {
    h = await start();
    await h.say(ADA, '/deploy');
    const targets = await eventually(
      () => h.botMessages(ADA.id).find((m) => m.text.includes('Pick a target')),
      15_000,
      'picker',
    );
    expect(targets.reply_markup?.inline_keyboard.flat().map((b) => b.text)).toEqual([
      'shop · staging',
      'shop · production',
      'billing · staging',
      'billing · production',
    ]);
    await h.press(ADA, targets.message_id, buttonData(targets, 'shop · production'));
    const refs = await pickerRefStep(h, ADA.id, targets.message_id);
    // production allows its branch only (the default rule).
    expect(refs.reply_markup?.inline_keyboard.flat().map((b) => b.text)).toEqual(['🌿 main']);
    await h.press(ADA, targets.message_id, buttonData(refs, 'main'));
    const confirm = await eventually(
      () => h.botMessages(ADA.id).find((m) => m.text.includes('Deploy shop to production')),
      15_000,
      'confirmation',
    );
    await h.press(ADA, confirm.message_id, buttonData(confirm, 'Deploy'));
    const run = await eventually(() => runsOf(h, 'acme/shop')[0], 15_000, 'dispatch');
    expect(run.inputs.environment).toBe('production');
    // Once it has done its job the picker says what was picked, and its buttons are gone.
    const picker = h.telegram.message(ADA.id, targets.message_id);
    expect(picker?.text).toBe('Deploy shop production: 🌿 main.');
    expect(picker?.reply_markup).toBeUndefined();
  });
});

describe('/status with many services', () => {
  it('answers in as many messages as it takes, each one Telegram accepts, every service shown once', async () => {
    const names = Array.from({ length: 40 }, (_, i) => `svc-${String(i).padStart(2, '0')}`);
    const yaml = `services:\n${names
      .map(
        (name) =>
          `  ${name}:\n    repository: acme/${name}\n    environments:\n      staging: { branch: main, role: staging }\n      production: { branch: main }\n`,
      )
      .join('')}`;
    h = await startHarness({
      configYaml: yaml,
      github: { repo: names[0], repositories: names.slice(1).map((n) => `acme/${n}`) },
      env: { GITHUB_REPOSITORY: `acme/${names[0]}` },
    });
    const before = h.botMessages(ADA.id).length;
    await h.say(ADA, '/status');
    // The fake refuses a message over 4096 characters with Telegram's 400, as Telegram does.
    const answers = await eventually(
      () => {
        const got = h.botMessages(ADA.id).slice(before);
        return got.filter((m) => m.text.includes('svc-39')).length === 1 ? got : null;
      },
      30_000,
      'every service in the status',
    );
    expect(answers.length).toBeGreaterThan(1);
    const text = answers.map((m) => m.text).join('\n');
    for (const name of names) expect(text.split(`${name} (acme/${name})`).length - 1, name).toBe(1);
    expect(h.telegram.calls.filter((c) => c.response.status === 400)).toEqual([]);
  }, 60_000);
});

describe('a service removed from the configuration', () => {
  it('its open confirmation is refused, never dispatched to another service’s repository', async () => {
    h = await start();
    const before = h.botMessages(ADA.id).length;
    await h.say(ADA, '/deploy billing production');
    const request = await eventually(
      () =>
        h
          .botMessages(ADA.id)
          .slice(before)
          .find((m) => JSON.stringify(m.reply_markup ?? {}).includes('Deploy')),
      15_000,
      'the confirmation',
    );
    const shopOnly = TWO_SERVICES.slice(0, TWO_SERVICES.indexOf('  billing:'));
    await h.restart(undefined, shopOnly);
    await h.press(ADA, request.message_id, buttonData(request, 'Deploy'));
    const answer = await eventually(
      () => h.telegram.answeredCallbacks.at(-1),
      15_000,
      'the answer to the press',
    );
    expect(answer.text).toContain('billing');
    expect(answer.text).toContain('no longer configured');
    expect(runsOf(h, 'acme/shop')).toEqual([]);
    expect(runsOf(h, 'acme/billing')).toEqual([]);
  }, 60_000);
});
