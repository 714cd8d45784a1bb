import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import {
  ADA,
  eventually,
  GITHUB_SECRET,
  GITHUB_TOKEN,
  type Harness,
  SAM,
  startHarness,
  TELEGRAM_SECRET,
  TELEGRAM_TOKEN,
} from '../harness.ts';
import { faultReport } from './fault-report.ts';

// Issue #10, start-up: Telegram or GitHub unreachable at start keeps the process up, /readyz answers
// 503 naming what is missing, and the bot connects by itself once it answers; bad credentials stop it
// with a clear error and exit code 2.

const exec = promisify(execFile);
let h: Harness | undefined;
const report = faultReport('start-up with a dependency down');
afterEach(async () => {
  await h?.close();
  h = undefined;
});
afterAll(() => report.print());

async function readyz(harness: Harness): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`${harness.service.url}/readyz`);
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

/** Restarts the service with a dependency down, then brings it back; returns how long ready took. */
async function startWhileDown(
  harness: Harness,
  name: 'telegram' | 'github',
  mode: 'refuse' | 'hang',
  whileDown: () => Promise<void> = async () => {},
) {
  const fake = name === 'telegram' ? harness.telegram : harness.github;
  await fake.faults.unreachable(mode);
  const started = Date.now();
  await harness.restart();
  const startMs = Date.now() - started;
  const down = await readyz(harness);
  await whileDown();
  await new Promise((resolve) => setTimeout(resolve, 1500));
  await fake.faults.restore();
  const restored = Date.now();
  await eventually(async () => (await readyz(harness)).status === 200, 30_000, 'ready again');
  const readyMs = Date.now() - restored;
  report.add({
    fault: `${name} unreachable (${mode}) at start`,
    userSaw: `started in ${(startMs / 1000).toFixed(1)} s; /readyz ${down.status} ${JSON.stringify(down.body)}; ready by itself`,
    dispatches: '—',
    finalMs: readyMs,
    measuredFrom: 'after it came back',
  });
  return { down, startMs };
}

describe('start-up with a dependency down (issue #10)', () => {
  it('Telegram refusing connections: serves, /readyz names telegram, updates get 503, ready by itself', async () => {
    h = await startHarness();
    const harness = h;
    const { down } = await startWhileDown(harness, 'telegram', 'refuse', async () => {
      expect((await harness.say(SAM, '/help')).status).toBe(503);
    });
    expect(down).toEqual({ status: 503, body: { ready: false, waiting_for: ['telegram'] } });
    // Telegram sends the update again (here: a new one); the bot answers now.
    await harness.say(SAM, '/help');
    await eventually(() => harness.botMessages(SAM.id).at(-1)?.text.includes('/deploy'), 10_000, 'help');
  }, 90_000);

  it('GitHub hanging at start: serves within seconds, /readyz names github, ready by itself, deploys', async () => {
    h = await startHarness();
    const harness = h;
    const { down, startMs } = await startWhileDown(harness, 'github', 'hang');
    expect(down).toEqual({ status: 503, body: { ready: false, waiting_for: ['github'] } });
    expect(startMs).toBeLessThan(9_000);
    await harness.say(SAM, '/deploy staging');
    await eventually(
      () => /run \d+/.test(harness.botMessages(SAM.id).at(-1)?.text ?? ''),
      15_000,
      'dispatched',
    );
  }, 90_000);
});

describe('start-up with bad credentials (issue #10)', () => {
  let dir: string | undefined;
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  /** `deploybot serve` against the harness's fakes with `extra` env; its exit code, stderr and time. */
  async function serve(harness: Harness, extra: Record<string, string>) {
    dir ??= await mkdtemp(join(tmpdir(), 'deploybot-start-'));
    const env = {
      PATH: process.env.PATH ?? '',
      TELEGRAM_BOT_TOKEN: TELEGRAM_TOKEN,
      TELEGRAM_WEBHOOK_SECRET: TELEGRAM_SECRET,
      TELEGRAM_API_ROOT: harness.telegram.url,
      ADMIN_TELEGRAM_IDS: String(ADA.id),
      GITHUB_REPOSITORY: 'acme/shop',
      GITHUB_TOKEN,
      GITHUB_API_URL: harness.github.url,
      GITHUB_WEBHOOK_SECRET: GITHUB_SECRET,
      DATABASE_URL: join(dir, 'deploybot.sqlite'),
      AUDIT_LOG_PATH: join(dir, 'audit.jsonl'),
      HOST: '127.0.0.1',
      PORT: String(await freePort()),
      LOG_LEVEL: 'silent',
      ...extra,
    };
    const started = Date.now();
    try {
      await exec(process.execPath, ['src/cli.ts', 'serve'], { env, timeout: 20_000 });
      return { code: 0, stderr: '', ms: Date.now() - started };
    } catch (error) {
      const e = error as { code: number | null; stderr: string; killed?: boolean };
      return { code: e.killed ? 'killed' : e.code, stderr: e.stderr, ms: Date.now() - started };
    }
  }

  it('a Telegram token Telegram refuses (401) stops the start with exit code 2 and says which', async () => {
    h = await startHarness();
    const result = await serve(h, { TELEGRAM_BOT_TOKEN: '123456789:AAwrong-token_000000000000000000000' });
    report.add({
      fault: 'Telegram refuses the token (401)',
      userSaw: `exit ${result.code}: ${result.stderr.trim()}`,
      dispatches: '—',
      finalMs: result.ms,
      measuredFrom: 'to the exit',
    });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/could not start: telegram: Telegram refused TELEGRAM_BOT_TOKEN \(401/);
    expect(result.stderr).not.toContain('AAwrong');
  }, 40_000);

  it('a GitHub token GitHub refuses (401) stops the start with exit code 2 and says which', async () => {
    h = await startHarness();
    const result = await serve(h, { GITHUB_TOKEN: 'github_pat_11ABCDEFG0123456789_revokedtoken' });
    report.add({
      fault: 'GitHub refuses the token (401)',
      userSaw: `exit ${result.code}: ${result.stderr.trim()}`,
      dispatches: '—',
      finalMs: result.ms,
      measuredFrom: 'to the exit',
    });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/could not start: github: GitHub refused the bot’s credentials/);
    expect(result.stderr).not.toContain('revokedtoken');
  }, 40_000);
});

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}
