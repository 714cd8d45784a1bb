import { type ChildProcess, spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { type FakeGitHub, startFakeGitHub } from '../fakes/github-api.ts';
import { type FakeTelegram, startFakeTelegram } from '../fakes/telegram-api.ts';
import type { Person } from '../fakes/telegram-updates.ts';
import {
  buttonData,
  eventually,
  fakesEnv,
  GITHUB_SECRET,
  GITHUB_TOKEN,
  TELEGRAM_SECRET,
  TELEGRAM_TOKEN,
} from '../harness.ts';
import { findTool, REPO_ROOT } from '../infra/find-tool.ts';
import { freePort } from '../pipeline/support/free-port.ts';
import { hasExited, stopChild } from '../pipeline/support/teardown.ts';

/**
 * Several bot processes (`node src/cli.ts serve`, the sources the image's `dist/` is built from) on
 * one throwaway PostgreSQL database, behind a real nginx with the repository's upstream-ha.conf and
 * proxy snippet, talking to the fakes over HTTP. Telegram's and GitHub's webhooks go through nginx, which picks the instance.
 */

export const nginxTool = findTool('nginx', "apt-get install nginx (Debian's), listed in .ci/apt-infra.txt");
const ADMIN_URL = process.env.DATABASE_URL_TEST ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const AUDIT_KEY = 'cluster-test-audit-key-0123456789abcdef';

/** One bot process; `start()` again after it stopped runs a new process on the same port. */
export type BotProcess = {
  name: string;
  port: number;
  url: string;
  child: ChildProcess | null;
  /** What the current (or last) process of this instance printed: JSON log lines. */
  logs: () => string;
  start: () => Promise<void>;
  /** Sends a signal; resolves with how the process ended and how long it took. */
  stop: (signal: NodeJS.Signals) => Promise<{ code: number | null; signal: string | null; ms: number }>;
};

export type Cluster = {
  telegram: FakeTelegram;
  github: FakeGitHub;
  bots: BotProcess[];
  /** nginx in front of the bots: http://127.0.0.1:port. */
  url: string;
  databaseUrl: string;
  /** nginx's access log: one entry per request, with the instance (upstream address) that served it. */
  access: () => Promise<Array<{ uri: string; status: number; upstream: string }>>;
  /** A user's message, through nginx (webhook mode). */
  say: (from: Person, text: string, chatId?: number) => Promise<Response>;
  press: (from: Person, messageId: number, data: string, chatId?: number) => Promise<Response>;
  close: () => Promise<void>;
};

export type ClusterOptions = {
  instances?: number;
  mode?: 'webhook' | 'polling';
  reconcileSeconds?: number;
  /** A DEPLOYBOT_CONFIG file's text (YAML). */
  configYaml?: string;
};

/** Makes a database no other test sees, dropped at close. */
async function throwawayDatabase(): Promise<{ url: string; drop: () => Promise<void> }> {
  const name = `deploybot_ha_${process.pid}_${Date.now().toString(36)}`;
  const admin = new pg.Client({ connectionString: ADMIN_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await admin.end();
    },
  };
}

/** Starts the fakes, the database, the bots and nginx. Throws when PostgreSQL or nginx is missing. */
export async function startCluster(options: ClusterOptions = {}): Promise<Cluster> {
  const mode = options.mode ?? 'webhook';
  const dir = await mkdtemp(join(tmpdir(), 'deploybot-ha-'));
  const database = await throwawayDatabase();
  const telegram = await startFakeTelegram({ token: TELEGRAM_TOKEN });
  const github = await startFakeGitHub({
    runNameTemplate: 'Deploy {environment} {sha} [{request_id}]',
    owner: 'acme',
    repo: 'shop',
    token: GITHUB_TOKEN,
  });
  const nginxPort = await freePort();
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    HOST: '127.0.0.1',
    ...fakesEnv(telegram.url, github.url),
    TELEGRAM_MODE: mode,
    TELEGRAM_WEBHOOK_SECRET: mode === 'webhook' ? TELEGRAM_SECRET : '',
    DATABASE_URL: database.url,
    AUDIT_HMAC_KEY: AUDIT_KEY,
    RECONCILE_INTERVAL_SECONDS: String(options.reconcileSeconds ?? 5),
    LOG_LEVEL: 'info',
  };
  if (options.configYaml) {
    await writeFile(join(dir, 'deploybot.yml'), options.configYaml);
    env.DEPLOYBOT_CONFIG = join(dir, 'deploybot.yml');
  }
  const bots: BotProcess[] = [];
  for (let i = 0; i < (options.instances ?? 2); i++)
    bots.push(botProcess(`bot-${i + 1}`, await freePort(), env));
  let nginx: ChildProcess;
  try {
    await Promise.all(bots.map((b) => b.start()));
    nginx = await startNginx(dir, nginxPort, bots);
  } catch (error) {
    for (const b of bots) if (b.child && !hasExited(b.child)) b.child.kill('SIGKILL');
    await Promise.all([telegram.close(), github.close(), database.drop()]);
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
  const url = `http://127.0.0.1:${nginxPort}`;
  github.setWebhook({ url: `${url}/github/webhook`, secret: GITHUB_SECRET });

  const postUpdate = (update: unknown) =>
    fetch(`${url}/telegram/webhook`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-telegram-bot-api-secret-token': TELEGRAM_SECRET },
      body: JSON.stringify(update),
    });
  const deliver = (update: ReturnType<FakeTelegram['userMessage']>) => {
    if (mode === 'webhook') return postUpdate(update);
    telegram.pushUpdate(update);
    return Promise.resolve(new Response(null, { status: 200 }));
  };
  return {
    telegram,
    github,
    bots,
    url,
    databaseUrl: database.url,
    access: async () =>
      (await readFile(join(dir, 'access.log'), 'utf8'))
        .split('\n')
        .filter(Boolean)
        .map((line) => {
          const [uri = '', status = '0', ...upstream] = line.split(' ');
          return { uri, status: Number(status), upstream: upstream.join(' ') };
        }),
    say: (from, text, chatId = from.id) =>
      deliver(telegram.userMessage(chatId, from, text, chatId < 0 ? 'group' : 'private')),
    press: (from, messageId, data, chatId = from.id) =>
      deliver(telegram.pressButton(chatId, messageId, from, data)),
    close: async () => {
      await Promise.all(bots.map((b) => (b.child && !hasExited(b.child) ? b.stop('SIGTERM') : null)));
      await stopChild(nginx, 10_000, 'SIGQUIT');
      await telegram.close();
      await github.close();
      await database.drop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

function botProcess(name: string, port: number, env: Record<string, string>): BotProcess {
  let output = '';
  const bot: BotProcess = {
    name,
    port,
    url: `http://127.0.0.1:${port}`,
    child: null,
    logs: () => output,
    start: async () => {
      const child = spawn(process.execPath, ['src/cli.ts', 'serve'], {
        cwd: REPO_ROOT,
        env: { ...env, PORT: String(port) },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      bot.child = child;
      output = '';
      child.stdout?.on('data', (chunk: Buffer) => {
        output += chunk.toString();
      });
      child.stderr?.on('data', (chunk: Buffer) => {
        output += chunk.toString();
      });
      const state = await eventually(
        async () => {
          if (hasExited(child)) return 'exited';
          const response = await fetch(`${bot.url}/readyz`).catch(() => null);
          return response?.status === 200 ? 'ready' : null;
        },
        20_000,
        `${name} ready`,
      );
      if (state === 'exited') throw new Error(`${name} exited at start: ${output.slice(-2000)}`);
    },
    stop: (signal) => {
      const child = bot.child;
      if (!child) throw new Error(`${name} is not running`);
      const started = Date.now();
      const ended = new Promise<{ code: number | null; signal: string | null; ms: number }>((resolve) => {
        if (hasExited(child)) resolve({ code: child.exitCode, signal: child.signalCode, ms: 0 });
        else child.once('exit', (code, sig) => resolve({ code, signal: sig, ms: Date.now() - started }));
      });
      child.kill(signal);
      return ended;
    },
  };
  return bot;
}

/** nginx with the repository's upstream-ha.conf (addresses swapped for the bots') and proxy snippet. */
async function startNginx(dir: string, port: number, bots: BotProcess[]): Promise<ChildProcess> {
  const upstream = await readFile(join(REPO_ROOT, 'nginx', 'upstream-ha.conf'), 'utf8');
  const names = ['bot', 'bot-2'];
  if (bots.length !== names.length) throw new Error('upstream-ha.conf names two instances');
  let conf = upstream;
  bots.forEach((bot, i) => {
    conf = conf.replace(`server ${names[i]}:8080 `, `server 127.0.0.1:${bot.port} `);
  });
  if (conf.includes(':8080')) throw new Error(`upstream-ha.conf changed shape: ${conf}`);
  await writeFile(join(dir, 'upstream.conf'), conf);
  await mkdir(join(dir, 'snippets'));
  await writeFile(
    join(dir, 'snippets', 'proxy.conf'),
    await readFile(join(REPO_ROOT, 'nginx', 'snippets', 'proxy.conf'), 'utf8'),
  );
  await writeFile(
    join(dir, 'nginx.conf'),
    `worker_processes 1;
pid ${dir}/nginx.pid;
events { worker_connections 512; }
http {
  log_format cluster '$uri $status $upstream_addr';
  access_log ${dir}/access.log cluster;
  error_log ${dir}/error.log warn;
  client_max_body_size 1m;
  include upstream.conf;
  server {
    listen 127.0.0.1:${port};
    location / {
      include snippets/proxy.conf;
    }
  }
}
`,
  );
  const child = spawn(
    nginxTool.path ?? 'nginx',
    ['-p', dir, '-c', join(dir, 'nginx.conf'), '-e', join(dir, 'startup.log'), '-g', 'daemon off;'],
    { stdio: 'ignore' },
  );
  await eventually(
    async () => (await fetch(`http://127.0.0.1:${port}/healthz`).catch(() => null))?.status === 200,
    10_000,
    'nginx up',
  );
  return child;
}

/**
 * The most Telegram calls that count against a chat's limit (messages and edits) in any window of
 * `windowMs`, from the fake's record of calls.
 */
export function peakCallsPerWindow(telegram: FakeTelegram, chatId: number, windowMs = 60_000): number {
  const counted = new Set(['sendMessage', 'editMessageText', 'editMessageReplyMarkup', 'deleteMessage']);
  const times = telegram.calls
    .filter((c) => counted.has(c.method) && Number(c.params.chat_id) === chatId)
    .map((c) => c.at)
    .sort((a, b) => a - b);
  let peak = 0;
  let from = 0;
  for (let to = 0; to < times.length; to++) {
    while ((times[to] ?? 0) - (times[from] ?? 0) >= windowMs) from++;
    peak = Math.max(peak, to - from + 1);
  }
  return peak;
}

/**
 * Asks for a deployment and waits for its confirmation (the message with ✅ Deploy); resolves with
 * the message and its Deploy button's callback data. On a timeout the error shows the chat.
 */
export async function requestConfirmation(cluster: Cluster, from: Person, text: string) {
  const { telegram } = cluster;
  const before = telegram.messages(from.id).length;
  await cluster.say(from, text);
  const request = await eventually(
    () =>
      telegram
        .messages(from.id)
        .slice(before)
        .find((m) => m.from_bot && JSON.stringify(m.reply_markup ?? {}).includes('✅ Deploy')),
    20_000,
    `confirmation of ${text}`,
  ).catch((error: unknown) => {
    throw new Error(
      `${String(error)}; the chat: ${JSON.stringify(telegram.messages(from.id).slice(before))}`,
    );
  });
  return { request, confirm: buttonData(request, 'Deploy') };
}
