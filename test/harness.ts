import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { type Config, loadConfig } from '../src/config.ts';
import { createLogger } from '../src/logger.ts';
import { type Service, type ServiceOptions, startService } from '../src/main.ts';
import {
  FAKE_OAUTH_CLIENT_ID,
  type FakeGitHub,
  type FakeGitHubOptions,
  startFakeGitHub,
} from './fakes/github-api.ts';
import { type FakeTelegram, type FakeTelegramOptions, startFakeTelegram } from './fakes/telegram-api.ts';
import type { Person } from './fakes/telegram-updates.ts';

export const TELEGRAM_TOKEN = '123456789:AAHdqTcvCH1vGWJxfSeofSPs38eBlP2I9Ig';
export const TELEGRAM_SECRET = 'tg-secret_for-tests_0123456789abcdef';
export const GITHUB_TOKEN = 'github_pat_11ABCDEFG0123456789_testtokenvalue';
export const GITHUB_SECRET = 'gh-webhook-secret-for-tests-0123456789';
/** DEPLOYBOT_ENCRYPTION_KEY of harnesses with `accounts: true` (32 bytes, base64). */
export const ENCRYPTION_KEY = Buffer.alloc(32, 'deploybot-test-encryption-key!').toString('base64');

export const ADA: Person = { id: 1001, first_name: 'Ada', username: 'ada' };
export const SAM: Person = { id: 1002, first_name: 'Sam', username: 'sam' };
export const EVE: Person = { id: 1003, first_name: 'Eve', username: 'eve' };

/** A test clock the service reads (`ServiceOptions.now`); tests move it. */
export type Clock = { now: () => number; set: (ms: number) => void; advance: (ms: number) => void };

export function testClock(start: number): Clock {
  let t = start;
  return {
    now: () => t,
    set: (ms) => {
      t = ms;
    },
    advance: (ms) => {
      t += ms;
    },
  };
}

export type Harness = {
  telegram: FakeTelegram;
  github: FakeGitHub;
  service: Service;
  config: Readonly<Config>;
  dir: string;
  /** Everything the service logged (JSON lines), to check no secret leaks. */
  logs: () => string;
  /** A user's message, delivered over HTTP to the webhook route like Telegram would. */
  say: (from: Person, text: string, chatId?: number) => Promise<Response>;
  /** A button press on a bot message, delivered over HTTP. */
  press: (from: Person, messageId: number, data: string, chatId?: number) => Promise<Response>;
  postUpdate: (update: unknown, secret?: string) => Promise<Response>;
  /** The bot's messages in a chat (default: the user's private chat). */
  botMessages: (chatId: number) => ReturnType<FakeTelegram['messages']>;
  /** Stops the service and starts it again on the same data, with these variables and config file changed. */
  restart: (env?: Record<string, string>, configYaml?: string) => Promise<void>;
  /** The audit trail, parsed. */
  audit: () => Promise<Array<Record<string, unknown>>>;
  close: () => Promise<void>;
};

export type HarnessOptions = {
  env?: Record<string, string>;
  github?: Partial<FakeGitHubOptions>;
  telegram?: Partial<FakeTelegramOptions>;
  service?: ServiceOptions;
  /** Keep a data dir across harnesses (restart tests). */
  dir?: string;
  /** A DEPLOYBOT_CONFIG file's text (YAML): environments, windows. */
  configYaml?: string;
  /** The service's clock (locks, windows, expiries); the fakes keep real time. */
  clock?: Clock;
  /** Linking GitHub accounts on: the fake's device flow, DEPLOYBOT_ENCRYPTION_KEY = {@link ENCRYPTION_KEY}. */
  accounts?: boolean;
};

/**
 * The variables that point a bot at the fakes, with the test credentials and roles (Ada admin, Sam
 * staging) in webhook mode: what every harness, in-process or a `deploybot serve` process, starts from.
 */
export function fakesEnv(telegramUrl: string, githubUrl: string): Record<string, string> {
  return {
    TELEGRAM_BOT_TOKEN: TELEGRAM_TOKEN,
    TELEGRAM_MODE: 'webhook',
    TELEGRAM_WEBHOOK_SECRET: TELEGRAM_SECRET,
    TELEGRAM_API_ROOT: telegramUrl,
    ADMIN_TELEGRAM_IDS: String(ADA.id),
    STAGING_TELEGRAM_IDS: String(SAM.id),
    GITHUB_REPOSITORY: 'acme/shop',
    GITHUB_TOKEN,
    GITHUB_API_URL: githubUrl,
    GITHUB_WEBHOOK_SECRET: GITHUB_SECRET,
  };
}

/** Starts the fakes and the service (over real HTTP on 127.0.0.1), wired like production. */
export async function startHarness(options: HarnessOptions = {}): Promise<Harness> {
  const dir = options.dir ?? (await mkdtemp(join(tmpdir(), 'deploybot-it-')));
  const telegram = await startFakeTelegram({ token: TELEGRAM_TOKEN, ...options.telegram });
  const github = await startFakeGitHub({
    // As deploy.yml names its runs: the full SHA deployed, and the request id in brackets.
    runNameTemplate: 'Deploy {environment} {sha} [{request_id}]',
    owner: 'acme',
    repo: 'shop',
    token: GITHUB_TOKEN,
    ...options.github,
  });
  let logText = '';
  const sink = new Writable({
    write(chunk, _encoding, callback) {
      logText += chunk.toString();
      callback();
    },
  });
  let env: Record<string, string> = {
    ...fakesEnv(telegram.url, github.url),
    DATABASE_URL: join(dir, 'deploybot.sqlite'),
    AUDIT_LOG_PATH: join(dir, 'audit.jsonl'),
    RECONCILE_INTERVAL_SECONDS: '3600',
    LOG_LEVEL: 'debug',
    ...(options.accounts && {
      GITHUB_OAUTH_CLIENT_ID: FAKE_OAUTH_CLIENT_ID,
      DEPLOYBOT_ENCRYPTION_KEY: ENCRYPTION_KEY,
      GITHUB_WEB_URL: github.url,
    }),
    ...options.env,
  };
  let configYaml = options.configYaml;
  const boot = async () => {
    const file = configYaml ? { path: join(dir, 'environments.yml'), text: configYaml } : undefined;
    const loaded = loadConfig(file ? { ...env, DEPLOYBOT_CONFIG: file.path } : env, file);
    if (!loaded.ok) throw new Error(`test config: ${loaded.problems.join('; ')}`);
    const logger = createLogger({ level: 'debug', secrets: loaded.config.secrets, destination: sink });
    const service = await startService(loaded.config, {
      port: 0,
      logger,
      ...(options.clock ? { now: options.clock.now } : {}),
      ...options.service,
    });
    github.setWebhook({ url: `${service.url}/github/webhook`, secret: GITHUB_SECRET });
    return { service, config: loaded.config };
  };
  let { service, config } = await boot();

  const postUpdate = (update: unknown, secret = TELEGRAM_SECRET) =>
    fetch(`${harness.service.url}/telegram/webhook`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-telegram-bot-api-secret-token': secret },
      body: JSON.stringify(update),
    });
  const harness: Harness = {
    telegram,
    github,
    service,
    config,
    dir,
    logs: () => logText,
    say: (from, text, chatId = from.id) =>
      postUpdate(telegram.userMessage(chatId, from, text, chatId < 0 ? 'group' : 'private')),
    press: (from, messageId, data, chatId = from.id) =>
      postUpdate(telegram.pressButton(chatId, messageId, from, data)),
    postUpdate,
    botMessages: (chatId) => telegram.messages(chatId).filter((m) => m.from_bot),
    restart: async (newEnv, newConfigYaml) => {
      await harness.service.close();
      if (newEnv) env = { ...env, ...newEnv };
      if (newConfigYaml !== undefined) configYaml = newConfigYaml;
      ({ service, config } = await boot());
      harness.service = service;
      harness.config = config;
    },
    audit: async () =>
      (await readFile(harness.config.auditLogPath, 'utf8'))
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line) as Record<string, unknown>),
    close: async () => {
      await harness.service.close().catch(() => {});
      await telegram.close();
      await github.close();
      // Every request the bot made must be one GitHub would accept (checked against its OpenAPI
      // description): a test that drove the bot into a bad request fails here, whatever it asserted.
      if (github.violations.length > 0) {
        throw new Error(
          `the bot sent requests GitHub would refuse: ${JSON.stringify(github.violations, null, 1)}`,
        );
      }
      if (!options.dir) await rm(dir, { recursive: true, force: true });
    },
  };
  return harness;
}

/** Polls `check` until it returns a truthy value (bounded), for effects that happen asynchronously. */
export async function eventually<T>(
  check: () => T | Promise<T>,
  timeoutMs = 15_000,
  what = 'condition',
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value) return value as NonNullable<T>;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** The callback_data of a button on a bot message, by the start of its label. */
export function buttonData(
  message: { reply_markup?: { inline_keyboard: Array<Array<{ text: string; callback_data?: string }>> } },
  label: string,
): string {
  for (const row of message.reply_markup?.inline_keyboard ?? []) {
    for (const button of row)
      if (button.text.includes(label) && button.callback_data) return button.callback_data;
  }
  throw new Error(`no button "${label}" on the message`);
}

/** The picker's message once a target was pressed: it asks for a ref, with the ref buttons. */
export function pickerRefStep(harness: Harness, chatId: number, messageId: number) {
  return eventually(
    () => {
      const shown = harness.telegram.message(chatId, messageId);
      return shown?.text.includes('pick a branch or tag') ? shown : undefined;
    },
    15_000,
    'ref step',
  );
}

/** Says something over the webhook route and waits for the bot's next message in that chat; returns its text. */
export async function ask(harness: Harness, from: Person, text: string, what = text): Promise<string> {
  const before = harness.botMessages(from.id).length;
  await harness.say(from, text);
  await eventually(() => harness.botMessages(from.id).length > before, 15_000, `answer to ${what}`);
  return harness.botMessages(from.id)[before]?.text ?? '';
}
