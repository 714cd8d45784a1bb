import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type FakeGitHub, startFakeGitHub } from '../../test/fakes/github-api.ts';
import { type FakeTelegram, startFakeTelegram } from '../../test/fakes/telegram-api.ts';
import {
  ADA,
  GITHUB_SECRET,
  GITHUB_TOKEN,
  SAM,
  TELEGRAM_SECRET,
  TELEGRAM_TOKEN,
} from '../../test/harness.ts';
import { freePort, type ServerProcess, startServer } from './processes.ts';

export { ADA, GITHUB_SECRET, SAM, TELEGRAM_SECRET };
export const OWNER = 'acme';
export const REPO = 'shop';
const ROOT = join(import.meta.dirname, '..', '..');

/** The fakes of Telegram and GitHub, in the benchmark's process (on the load generator's core). */
export type Fakes = { telegram: FakeTelegram; github: FakeGitHub; close: () => Promise<void> };

export async function startFakes(): Promise<Fakes> {
  const telegram = await startFakeTelegram({ token: TELEGRAM_TOKEN });
  const github = await startFakeGitHub({
    runNameTemplate: 'Deploy {environment} {sha} [{request_id}]',
    owner: OWNER,
    repo: REPO,
    token: GITHUB_TOKEN,
  });
  return {
    telegram,
    github,
    close: async () => {
      await telegram.close();
      await github.close();
    },
  };
}

/**
 * The node flags the image starts the bot with: those between `node` and `src/cli.ts` in the
 * Dockerfile's CMD under `root` (none when it has no such CMD), so the bot is measured as deployed.
 */
export function deployedNodeFlags(root: string): string[] {
  let dockerfile: string;
  try {
    dockerfile = readFileSync(join(root, 'Dockerfile'), 'utf8');
  } catch {
    return [];
  }
  const cmd = [...dockerfile.matchAll(/^CMD\s+(\[.*\])\s*$/gm)].at(-1)?.[1];
  const args: unknown = cmd === undefined ? null : JSON.parse(cmd);
  if (!Array.isArray(args) || args[0] !== 'node') return [];
  const script = args.indexOf('src/cli.ts');
  return script > 0 ? args.slice(1, script).map(String) : [];
}

/**
 * The bot as deployed: `node <the Dockerfile's flags> src/cli.ts serve` (webhook mode, SQLite, the
 * default log level).
 */
export type Bot = ServerProcess & { port: number; dir: string };

/**
 * Starts the real service in its own process, pinned to `core`, against the fakes, and waits for
 * `/readyz`. `environments` (YAML) replaces the two default environments.
 */
export async function startBot(
  fakes: Fakes,
  options: {
    core: number | null;
    environments?: string;
    env?: Record<string, string>;
    dir?: string;
    /** Another checkout's root (`--bot-root`): its src/cli.ts is started instead of this one's. */
    root?: string | null;
  },
): Promise<Bot> {
  const dir = options.dir ?? (await mkdtemp(join(tmpdir(), 'deploybot-bench-')));
  const port = await freePort();
  const env: Record<string, string> = {
    TELEGRAM_BOT_TOKEN: TELEGRAM_TOKEN,
    TELEGRAM_MODE: 'webhook',
    TELEGRAM_WEBHOOK_SECRET: TELEGRAM_SECRET,
    TELEGRAM_API_ROOT: fakes.telegram.url,
    ADMIN_TELEGRAM_IDS: String(ADA.id),
    STAGING_TELEGRAM_IDS: String(SAM.id),
    GITHUB_REPOSITORY: `${OWNER}/${REPO}`,
    GITHUB_TOKEN,
    GITHUB_API_URL: fakes.github.url,
    GITHUB_WEBHOOK_SECRET: GITHUB_SECRET,
    DATABASE_URL: join(dir, 'deploybot.sqlite'),
    AUDIT_LOG_PATH: join(dir, 'audit.jsonl'),
    HOST: '127.0.0.1',
    LOG_LEVEL: process.env.BENCH_BOT_LOG_LEVEL ?? 'info',
    // BENCH_BOT_NODE_OPTIONS, e.g. `--cpu-prof --cpu-prof-dir=DIR`: profile the bot while it is measured.
    ...(process.env.BENCH_BOT_NODE_OPTIONS ? { NODE_OPTIONS: process.env.BENCH_BOT_NODE_OPTIONS } : {}),
    ...options.env,
  };
  if (options.environments) {
    const file = join(dir, 'environments.yml');
    await writeFile(file, options.environments);
    env.DEPLOYBOT_CONFIG = file;
  }
  const root = options.root ?? ROOT;
  const server = await startServer({
    name: 'bot',
    args: [...deployedNodeFlags(root), join(root, 'src', 'cli.ts'), 'serve'],
    env,
    port,
    core: options.core,
    readyPath: '/readyz',
    readyOk: true,
  });
  fakes.github.setWebhook({ url: `${server.url}/github/webhook`, secret: GITHUB_SECRET });
  return {
    ...server,
    port,
    dir,
    stop: async () => {
      await server.stop();
      if (!options.dir) await rm(dir, { recursive: true, force: true });
    },
  };
}
