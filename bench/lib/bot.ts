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
import { buildDist } from '../../tools/build-dist.ts';
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
 * How the image starts the bot, for a checkout at `root`: the node flags and the script of the
 * Dockerfile's CMD (`node <flags> dist/cli.js serve`), so the bot is measured as deployed. A CMD
 * that runs `dist/` gets `root`'s sources built there first (`tools/build-dist.ts`, once a run); a
 * checkout without a Dockerfile (a `git archive` of `src`) runs `src/cli.ts` without flags.
 * @throws {Error} when the build of `root`'s sources fails.
 */
export function deployedCommand(root: string): string[] {
  let dockerfile: string;
  try {
    dockerfile = readFileSync(join(root, 'Dockerfile'), 'utf8');
  } catch {
    return [join(root, 'src', 'cli.ts')];
  }
  const cmd = [...dockerfile.matchAll(/^CMD\s+(\[.*\])\s*$/gm)].at(-1)?.[1];
  const args: unknown = cmd === undefined ? null : JSON.parse(cmd);
  if (!Array.isArray(args) || args[0] !== 'node') return [join(root, 'src', 'cli.ts')];
  const at = args.findIndex((a) => a === 'src/cli.ts' || a === 'dist/cli.js');
  if (at < 0) return [join(root, 'src', 'cli.ts')];
  const script = String(args[at]);
  if (script.startsWith('dist/') && !built.has(root)) {
    const { problems } = buildDist(join(root, 'src'), join(root, 'dist'));
    if (problems.length > 0) throw new Error(`building ${root}/dist: ${problems.join('; ')}`);
    built.add(root);
  }
  return [...args.slice(1, at).map(String), join(root, script)];
}
const built = new Set<string>();

/**
 * The bot as deployed: the Dockerfile's `node <flags> dist/cli.js serve` (webhook mode, SQLite, the
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
    /** Another checkout's root (`--bot-root`): its bot is started instead of this one's. */
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
    args: [...deployedCommand(root), 'serve'],
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
