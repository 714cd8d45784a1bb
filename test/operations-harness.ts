import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { type Config, loadConfig } from '../src/config.ts';
import { createLogger } from '../src/logger.ts';
import { type Service, startService } from '../src/main.ts';
import { type FakeGitHub, startFakeGitHub } from './fakes/github-api.ts';
import { type FakeTelegram, startFakeTelegram } from './fakes/telegram-api.ts';
import type { Person } from './fakes/telegram-updates.ts';
import { ADA, GITHUB_SECRET, GITHUB_TOKEN, SAM, TELEGRAM_SECRET, TELEGRAM_TOKEN } from './harness.ts';

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

export type OperationsHarness = {
  telegram: FakeTelegram;
  github: FakeGitHub;
  service: Service;
  config: Readonly<Config>;
  say: (from: Person, text: string, chatId?: number) => Promise<Response>;
  press: (from: Person, messageId: number, data: string, chatId?: number) => Promise<Response>;
  botMessages: (chatId: number) => ReturnType<FakeTelegram['messages']>;
  /** The audit trail, parsed. */
  audit: () => Promise<Array<Record<string, unknown>>>;
  close: () => Promise<void>;
};

export type OperationsHarnessOptions = {
  env?: Record<string, string>;
  /** A DEPLOYBOT_CONFIG file's text (YAML); the harness of the request path cannot pass one. */
  configYaml?: string;
  clock?: Clock;
};

/**
 * Like `startHarness` (fakes + the real service over HTTP on 127.0.0.1), plus what the operations
 * tests need: an environments file (deployment windows) and a movable clock.
 */
export async function startOperationsHarness(
  options: OperationsHarnessOptions = {},
): Promise<OperationsHarness> {
  const dir = await mkdtemp(join(tmpdir(), 'deploybot-ops-'));
  const telegram = await startFakeTelegram({ token: TELEGRAM_TOKEN });
  const github = await startFakeGitHub({ owner: 'acme', repo: 'shop', token: GITHUB_TOKEN });
  const env: Record<string, string> = {
    TELEGRAM_BOT_TOKEN: TELEGRAM_TOKEN,
    TELEGRAM_MODE: 'webhook',
    TELEGRAM_WEBHOOK_SECRET: TELEGRAM_SECRET,
    TELEGRAM_API_ROOT: telegram.url,
    ADMIN_TELEGRAM_IDS: String(ADA.id),
    STAGING_TELEGRAM_IDS: String(SAM.id),
    GITHUB_REPOSITORY: 'acme/shop',
    GITHUB_TOKEN,
    GITHUB_API_URL: github.url,
    GITHUB_WEBHOOK_SECRET: GITHUB_SECRET,
    DATABASE_URL: join(dir, 'deploybot.sqlite'),
    AUDIT_LOG_PATH: join(dir, 'audit.jsonl'),
    RECONCILE_INTERVAL_SECONDS: '3600',
    LOG_LEVEL: 'debug',
    ...options.env,
  };
  const file = options.configYaml
    ? { path: join(dir, 'environments.yml'), text: options.configYaml }
    : undefined;
  const loaded = loadConfig(file ? { ...env, DEPLOYBOT_CONFIG: file.path } : env, file);
  if (!loaded.ok) throw new Error(`test config: ${loaded.problems.join('; ')}`);
  const sink = new Writable({ write: (_chunk, _encoding, callback) => callback() });
  const logger = createLogger({ level: 'debug', secrets: loaded.config.secrets, destination: sink });
  const service = await startService(loaded.config, {
    port: 0,
    logger,
    ...(options.clock ? { now: options.clock.now } : {}),
  });
  github.setWebhook({ url: `${service.url}/github/webhook`, secret: GITHUB_SECRET });
  const postUpdate = (update: unknown) =>
    fetch(`${service.url}/telegram/webhook`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-telegram-bot-api-secret-token': TELEGRAM_SECRET },
      body: JSON.stringify(update),
    });
  return {
    telegram,
    github,
    service,
    config: loaded.config,
    say: (from, text, chatId = from.id) =>
      postUpdate(telegram.userMessage(chatId, from, text, chatId < 0 ? 'group' : 'private')),
    press: (from, messageId, data, chatId = from.id) =>
      postUpdate(telegram.pressButton(chatId, messageId, from, data)),
    botMessages: (chatId) => telegram.messages(chatId).filter((m) => m.from_bot),
    audit: async () =>
      (await readFile(loaded.config.auditLogPath, 'utf8'))
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line) as Record<string, unknown>),
    close: async () => {
      await service.close().catch(() => {});
      await telegram.close();
      await github.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
