import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../src/config.ts';
import { createLogger } from '../src/logger.ts';
import { startService } from '../src/main.ts';
import { FAKE_OAUTH_CLIENT_ID, type FakeGitHub, startFakeGitHub } from '../test/fakes/github-api.ts';
import type { FakeTelegram } from '../test/fakes/telegram-api.ts';
import { startFakeTelegram } from '../test/fakes/telegram-api.ts';
import { renderMessage } from '../test/fakes/telegram-transcript.ts';
import type { Person } from '../test/fakes/telegram-updates.ts';
import { ChatPrinter } from './chat-printer.ts';

const TOKEN = '7000000001:DEMOdemoDEMOdemoDEMOdemoDEMOdemo123';
const TG_SECRET = 'demo-telegram-secret_0123456789abcdef';
const GH_SECRET = 'demo-github-secret-0123456789abcdef';
const ADA: Person = { id: 1001, first_name: 'Ada', username: 'ada' };
const SAM: Person = { id: 1002, first_name: 'Sam', username: 'sam' };
const EVE: Person = { id: 1003, first_name: 'Eve', username: 'eve' };
const LENA: Person = { id: 1004, first_name: 'Lena', username: 'lena' };
/** The billing team's deployer: a role in the billing service only. */
const KOFI: Person = { id: 1005, first_name: 'Kofi', username: 'kofi' };
/** The shop team's group chat: production is deployed, and reviewed, there. */
const TEAM = -100_2024;
/** The billing team's group chat. */
const BILLING = -100_3033;
const ENCRYPTION_KEY = Buffer.alloc(32, 'demo-encryption-key').toString('base64');
/**
 * Two services, one bot. The shop: production's approval rule says the requester may not approve
 * their own deployment. Billing: its own repository, its own team (Kofi) and group chat.
 */
const SERVICES_YAML = `services:
  shop:
    repository: acme/shop
    environments:
      staging: { branch: develop, role: staging, confirm: false, refs: ["**"] }
      production: { branch: main, role: admin, confirm: true, approval: { not_requester: true } }
    chats: [${TEAM}]
  billing:
    repository: acme/billing
    environments:
      staging: { branch: main, role: staging, confirm: false, refs: ["**", "tag:v*"] }
      production: { branch: main, role: admin, confirm: true }
    deployers: [${KOFI.id}]
    chats: [${BILLING}]
`;

/**
 * `npm run demo`: the real service, in this process, against the fake Telegram and a fake GitHub that
 * plays the deploy workflow (signed webhooks, some repeated and out of order). No network, no
 * credentials. Prints the chats as people read them, each message as it changes. Exit code 1 when a
 * deployment did not reach the state it should (so the demo doubles as a smoke test).
 */
export async function runDemo(): Promise<number> {
  const dir = await mkdtemp(join(tmpdir(), 'deploybot-demo-'));
  const telegram = await startFakeTelegram({ token: TOKEN });
  const github = await startFakeGitHub({
    owner: 'acme',
    repo: 'shop',
    token: 'demo-github-token',
    runNameTemplate: 'Deploy {environment} {sha} [{request_id}]',
    oauth: { intervalSeconds: 0.2 },
    repositories: ['acme/billing'],
  });
  const out = (line = '') => process.stdout.write(`${line}\n`);
  const env = {
    TELEGRAM_BOT_TOKEN: TOKEN,
    TELEGRAM_WEBHOOK_SECRET: TG_SECRET,
    TELEGRAM_API_ROOT: telegram.url,
    ADMIN_TELEGRAM_IDS: String(ADA.id),
    STAGING_TELEGRAM_IDS: `${SAM.id},${LENA.id}`,
    GITHUB_REPOSITORY: 'acme/shop',
    GITHUB_TOKEN: 'demo-github-token',
    GITHUB_API_URL: github.url,
    GITHUB_WEBHOOK_SECRET: GH_SECRET,
    DATABASE_URL: join(dir, 'deploybot.sqlite'),
    AUDIT_LOG_PATH: join(dir, 'audit.jsonl'),
    RECONCILE_INTERVAL_SECONDS: '5',
    HOST: '127.0.0.1',
    // Reviewers approve from Telegram as themselves on GitHub.
    GITHUB_OAUTH_CLIENT_ID: FAKE_OAUTH_CLIENT_ID,
    DEPLOYBOT_ENCRYPTION_KEY: ENCRYPTION_KEY,
    GITHUB_WEB_URL: github.url,
    DEPLOYBOT_CONFIG: join(dir, 'services.yml'),
  };
  const loaded = loadConfig(env, { path: env.DEPLOYBOT_CONFIG, text: SERVICES_YAML });
  if (!loaded.ok) throw new Error(`demo configuration: ${loaded.problems.join('; ')}`);
  const service = await startService(loaded.config, {
    port: 0,
    logger: createLogger({ level: 'silent', secrets: loaded.config.secrets }),
  });
  github.setWebhook({ url: `${service.url}/github/webhook`, secret: GH_SECRET });
  const printer = new ChatPrinter(
    telegram,
    {
      [ADA.id]: 'Ada (admin)',
      [SAM.id]: 'Sam (staging)',
      [LENA.id]: 'Lena (production reviewer on GitHub)',
      [TEAM]: 'the shop team group',
      [EVE.id]: 'Eve (stranger)',
      [KOFI.id]: 'Kofi (billing deployer)',
      [BILLING]: 'the billing team group',
    },
    out,
    renderMessage,
  );
  const say = async (from: Person, text: string, chatId = from.id) => {
    const update = telegram.userMessage(chatId, from, text, chatId < 0 ? 'group' : 'private');
    await fetch(`${service.url}/telegram/webhook`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-telegram-bot-api-secret-token': TG_SECRET },
      body: JSON.stringify(update),
    });
  };
  const press = async (from: Person, messageId: number, label: string, chatId = from.id) => {
    const message = telegram.message(chatId, messageId);
    const button = message?.reply_markup?.inline_keyboard.flat().find((b) => b.text.includes(label));
    if (!button || !('callback_data' in button) || !button.callback_data)
      throw new Error(`no ${label} button`);
    printer.note(`${from.first_name} taps “${button.text}”`);
    const update = telegram.pressButton(chatId, messageId, from, button.callback_data);
    await fetch(`${service.url}/telegram/webhook`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-telegram-bot-api-secret-token': TG_SECRET },
      body: JSON.stringify(update),
    });
    const answer = telegram.answeredCallbacks.find((a) => a.callback_query_id === update.callback_query?.id);
    if (answer?.text) printer.note(`the bot answers ${from.first_name} (only they see it): “${answer.text}”`);
  };
  const failures: string[] = [];
  /**
   * Ada asks in `chatId`, confirms, the reviewer approves (from Telegram in the team group, or on
   * GitHub's page), and the run plays `plan`. Returns the run id.
   */
  const deployToProduction = async (
    plan: 'success' | 'health_fail_rollback',
    expected: string,
    seed: number,
    after: number,
    chatId: number,
  ) => {
    const before = telegram.messages(chatId).filter((m) => m.from_bot).length;
    // The shop group belongs to the shop alone, so the service may be left out there.
    await say(ADA, chatId === TEAM ? '/deploy production' : '/deploy shop production', chatId);
    const ask = await waitFor(
      () => telegram.messages(chatId).filter((m) => m.from_bot)[before],
      'confirmation',
    );
    await printer.settle(service);
    await press(ADA, ask.message_id, 'Deploy', chatId);
    const run = await runFor(github, 'production', after);
    const played = github.simulate(run.id, plan, { delayMs: 150, delivery: { duplicates: 0.3, seed } });
    await waitFor(() => github.runs.get(run.id)?.pending, 'approval wait');
    await printer.settle(service);
    if (chatId === TEAM) {
      const buttons = () =>
        telegram.message(TEAM, ask.message_id)?.reply_markup?.inline_keyboard.flat() ?? [];
      await waitFor(() => buttons().some((b) => b.text.includes('Approve')), 'Approve button');
      await press(ADA, ask.message_id, 'Approve', TEAM);
      await press(LENA, ask.message_id, 'Approve', TEAM);
      const review = github.runs.get(run.id)?.reviews?.[0];
      if (review?.login !== 'lead-reviewer')
        failures.push('GitHub did not record lead-reviewer as the reviewer');
      else printer.note(`GitHub records the review: ${review.state} by ${review.login}, “${review.comment}”`);
    } else {
      printer.note('lead-reviewer approves the deployment on GitHub');
      github.approve(run.id);
    }
    await played;
    await expectState(service, run.id, expected, failures);
    await printer.settle(service);
    return run.id;
  };
  const started = Date.now();
  try {
    out('telegram-deploy-bot demo: the real bot against a simulated Telegram and GitHub (no network).');
    out('Ada is an admin, Sam deploys to staging, Eve is nobody. Production needs a reviewer on GitHub:');
    out('Lena (lead-reviewer on GitHub) approves it from Telegram, as herself. A second service, billing,');
    out('has its own repository, team (Kofi) and group chat.');
    github.environments.set('staging', { url: 'https://staging.shop.example.com' });
    github.environments.set('production', { reviewers: ['lead-reviewer'], url: 'https://shop.example.com' });
    github.repo.commit({
      branch: 'develop',
      message: 'Add gift cards to checkout',
      author: 'Sam Carter',
      login: 'sam',
    });
    printer.start();

    printer.section(
      '1. Sam deploys develop to staging (no confirmation; webhooks arrive shuffled and repeated)',
    );
    await say(SAM, '/deploy shop staging');
    const staging = await runFor(github, 'staging');
    await github.simulate(staging.id, 'success', {
      build: true,
      delivery: { shuffle: true, duplicates: 0.3, seed: 1 },
    });
    await expectState(service, staging.id, 'succeeded', failures);
    await printer.settle(service);

    printer.section('2. Lena links her GitHub account: /link, the code entered at GitHub (device flow)');
    await say(LENA, '/link');
    const code = await waitFor(
      () => /Enter the code ([A-Z]{4}-[A-Z]{4})/.exec(telegram.messages(LENA.id).at(-1)?.text ?? '')?.[1],
      'device code',
    );
    await printer.settle(service);
    printer.note(`Lena enters ${code} at github.com/login/device and authorises the app as lead-reviewer`);
    github.oauth.authorize(code, 'lead-reviewer');
    await waitFor(() => telegram.messages(LENA.id).at(-1)?.text.includes('Linked to GitHub'), 'link');
    await printer.settle(service);

    printer.section(
      '3. Ada deploys main to production in the team group; she may not approve it herself, Lena approves from Telegram',
    );
    github.repo.commit({
      branch: 'main',
      message: 'Add gift cards to checkout',
      author: 'Sam Carter',
      login: 'sam',
    });
    const production = await deployToProduction('success', 'succeeded', 2, 0, TEAM);

    printer.section(
      '4. A production deploy whose health check fails (approved on GitHub this time): the pipeline rolls back',
    );
    github.repo.commit({
      branch: 'main',
      message: 'Tune cache <ttl> & timeouts',
      author: 'Ada Lovelace',
      login: 'ada',
    });
    await deployToProduction('health_fail_rollback', 'rolled_back', 3, production, ADA.id);

    printer.section('5. Eve, who has no role, tries to deploy');
    await say(EVE, '/deploy production');
    await waitFor(() => telegram.messages(EVE.id).some((m) => m.from_bot), 'denial');
    await printer.settle(service);

    printer.section(
      '6. The billing team: Kofi may not deploy the shop; he picks billing with buttons in his group',
    );
    await billingWithPicker(telegram, github, service, { say, press, printer, failures });
  } catch (error) {
    failures.push(error instanceof Error ? error.message : String(error));
  } finally {
    printer.stop();
    await service.close();
    await telegram.close();
    await github.close();
    await rm(dir, { recursive: true, force: true });
  }
  out();
  out(
    `Telegram calls rate-limited: ${telegram.rateLimited}; webhook deliveries: ${github.deliveries.length}; took ${((Date.now() - started) / 1000).toFixed(1)} s.`,
  );
  if (failures.length) {
    out(`Demo FAILED: ${failures.join('; ')}`);
    return 1;
  }
  out('Demo finished: every deployment reached the state it should.');
  out(
    'Next: copy .env.example to .env, fill in your bot token and GitHub credentials, then `npm start` (README: Installation).',
  );
  return 0;
}

type DemoSteps = {
  say: (from: Person, text: string, chatId?: number) => Promise<void>;
  press: (from: Person, messageId: number, label: string, chatId?: number) => Promise<void>;
  printer: ChatPrinter;
  failures: string[];
};

/** Kofi is refused the shop, then `/deploy` alone in the billing group: target, tag, dispatch, success. */
async function billingWithPicker(
  telegram: FakeTelegram,
  github: FakeGitHub,
  service: Awaited<ReturnType<typeof startService>>,
  { say, press, printer, failures }: DemoSteps,
) {
  const billing = github.repository('acme/billing');
  billing.environments.set('staging', { url: 'https://staging.billing.example.com' });
  const sha = billing.repo.commit({ branch: 'main', message: 'Invoice PDFs in the customer’s language' });
  billing.repo.tag('v2.4.0', sha);
  await say(KOFI, '/deploy shop staging', BILLING);
  await waitFor(() => telegram.messages(BILLING).some((m) => m.from_bot), 'refusal');
  await printer.settle(service);
  const bot = () => telegram.messages(BILLING).filter((m) => m.from_bot);
  await say(KOFI, '/deploy', BILLING);
  const picker = await waitFor(() => bot().find((m) => m.text.includes('Pick a target')), 'picker');
  await printer.settle(service);
  await press(KOFI, picker.message_id, 'billing · staging', BILLING);
  await waitFor(() => telegram.message(BILLING, picker.message_id)?.text.includes('pick a branch'), 'refs');
  await printer.settle(service);
  await press(KOFI, picker.message_id, 'v2.4.0', BILLING);
  const run = await waitFor(() => billing.runs.list()[0], 'billing run');
  await billing.simulate(run.id, 'success', { delayMs: 100 });
  await expectState(service, run.id, 'succeeded', failures);
  await printer.settle(service);
}

async function runFor(github: FakeGitHub, environment: string, after = 0) {
  return waitFor(
    () => github.runs.list().find((r) => r.inputs.environment === environment && r.id > after),
    `${environment} run`,
  );
}

async function expectState(
  service: Awaited<ReturnType<typeof startService>>,
  runId: number,
  state: string,
  failures: string[],
) {
  try {
    await waitFor(
      async () => (await service.deps.store.findDeploymentByRunId(runId))?.state === state,
      `state ${state}`,
    );
  } catch {
    const record = await service.deps.store.findDeploymentByRunId(runId);
    failures.push(`run ${runId} ended ${record?.state ?? 'unknown'}, expected ${state}`);
  }
}

async function waitFor<T>(
  check: () => T | Promise<T>,
  what: string,
  timeoutMs = 20_000,
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

export type { FakeTelegram };

// `npm run demo` runs this file.
if (import.meta.main) process.exitCode = await runDemo();
