import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FakeGitHub, startFakeGitHub } from '../fakes/github-api.ts';
import { type FakeTelegram, startFakeTelegram } from '../fakes/telegram-api.ts';
import { ADA, GITHUB_SECRET, GITHUB_TOKEN, TELEGRAM_SECRET, TELEGRAM_TOKEN } from '../harness.ts';

const exec = promisify(execFile);
let telegram: FakeTelegram;
let github: FakeGitHub;
let dir: string;
let env: Record<string, string>;

async function deploybot(args: string[], extra: Record<string, string> = {}) {
  try {
    const { stdout, stderr } = await exec(process.execPath, ['src/cli.ts', ...args], {
      env: { PATH: process.env.PATH ?? '', ...env, ...extra },
      timeout: 30_000,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'deploybot-cli-'));
  telegram = await startFakeTelegram({ token: TELEGRAM_TOKEN, allowHttpWebhook: true });
  github = await startFakeGitHub({ owner: 'acme', repo: 'shop', token: GITHUB_TOKEN });
  env = {
    TELEGRAM_BOT_TOKEN: TELEGRAM_TOKEN,
    TELEGRAM_WEBHOOK_SECRET: TELEGRAM_SECRET,
    TELEGRAM_API_ROOT: telegram.url,
    ADMIN_TELEGRAM_IDS: String(ADA.id),
    GITHUB_REPOSITORY: 'acme/shop',
    GITHUB_TOKEN,
    GITHUB_API_URL: github.url,
    GITHUB_WEBHOOK_SECRET: GITHUB_SECRET,
    DATABASE_URL: join(dir, 'deploybot.sqlite'),
    AUDIT_LOG_PATH: join(dir, 'audit.jsonl'),
    PUBLIC_URL: 'https://deploybot.example.com',
  };
});

afterAll(async () => {
  await telegram?.close();
  await github?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('deploybot CLI', () => {
  it('stops a bad configuration with exit 2, one line per problem, no secret', async () => {
    const result = await deploybot(['serve'], {
      ADMIN_TELEGRAM_IDS: '12a, 7',
      TELEGRAM_WEBHOOK_SECRET: 'bad secret!',
    });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('ADMIN_TELEGRAM_IDS: "12a" is not a Telegram user id');
    expect(result.stderr).toContain('TELEGRAM_WEBHOOK_SECRET:');
    expect(result.stderr).not.toContain('bad secret!');
    expect(result.stderr).not.toContain(TELEGRAM_TOKEN);
  });

  it('doctor checks Telegram, GitHub, the workflow and the store, showing secrets only as set', async () => {
    const defaults = await deploybot(['doctor']);
    expect(defaults.code).toBe(1);
    expect(defaults.stdout).toContain(
      "✘ OIDC subject (only deploy.yml on the default branch can build): the subject is GitHub's default",
    );
    expect(defaults.stdout).toContain('actions/oidc/customization/sub');
    github.state.oidcSubject = {
      use_default: false,
      include_claim_keys: ['repo', 'context', 'job_workflow_ref'],
    };
    const result = await deploybot(['doctor']);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('✔ Deploy workflow: .github/workflows/deploy.yml (active)');
    expect(result.stdout).toContain(
      '✔ OIDC subject (only deploy.yml on the default branch can build): customised',
    );
    expect(result.stdout).toContain('✔ Telegram: bot @');
    expect(result.stdout).toContain('✔ GitHub repository: acme/shop');
    expect(result.stdout).toContain('✔ Store: SQLite file ready');
    expect(result.stdout).not.toContain(TELEGRAM_TOKEN);
    expect(result.stdout).not.toContain(GITHUB_TOKEN);
    const broken = await deploybot(['doctor'], { GITHUB_TOKEN: 'github_pat_wrong_token_value_000000000000' });
    expect(broken.code).toBe(1);
    expect(broken.stdout).toMatch(/✘ GitHub repository: .*credentials/);
  });

  it('setup registers the webhook with its secret and the command menus per role', async () => {
    const result = await deploybot(['setup']);
    expect(result.stdout).toContain('✔ Telegram webhook: https://deploybot.example.com/telegram/webhook');
    expect(telegram.webhook).toMatchObject({
      url: 'https://deploybot.example.com/telegram/webhook',
      secret_token: TELEGRAM_SECRET,
    });
    const menus = [...telegram.myCommands.entries()];
    const adminMenu = menus.find(([key]) => key.includes(String(ADA.id)))?.[1].map((c) => c.command) ?? [];
    const defaultMenu = menus.find(([key]) => key.includes('"default"'))?.[1].map((c) => c.command) ?? [];
    expect(adminMenu).toEqual(expect.arrayContaining(['deploy', 'rollback', 'lock', 'cancel']));
    expect(defaultMenu).toContain('deploy');
    expect(defaultMenu).not.toContain('rollback');
    // The fake GitHub has no hooks API: setup says how to add the webhook by hand, and exits 1.
    expect(result.stdout).toMatch(/✘ GitHub webhook: .*Settings → Webhooks/);
    expect(result.code).toBe(1);
  });

  it('audit verify names the first line that was changed', async () => {
    const { openAuditLog } = await import('../../src/audit/open-audit-log.ts');
    const path = join(dir, 'verify.jsonl');
    const log = await openAuditLog(path);
    for (const outcome of ['a', 'b', 'c']) {
      await log.append({
        actor_id: 1,
        actor_name: 'Ada',
        action: 'test',
        environment: null,
        sha: null,
        request_id: null,
        outcome,
      });
    }
    await log.close();
    expect((await deploybot(['audit', 'verify', path])).code).toBe(0);
    const { readFile, writeFile } = await import('node:fs/promises');
    await writeFile(path, (await readFile(path, 'utf8')).replace('"outcome":"b"', '"outcome":"B"'));
    const tampered = await deploybot(['audit', 'verify', path]);
    expect(tampered.code).toBe(1);
    expect(tampered.stderr).toContain('line 2 was edited');
  });

  it('audit verify finds lines cut off the end through the store anchor, and checks a keyed chain with its key', async () => {
    const { openAuditLog } = await import('../../src/audit/open-audit-log.ts');
    const { openStore } = await import('../../src/store/open-store.ts');
    const { readFile, writeFile } = await import('node:fs/promises');
    const path = join(dir, 'anchored.jsonl');
    const databaseUrl = join(dir, 'anchored.sqlite');
    const key = 'audit-key-for-the-cli-test-0123456789';
    const store = await openStore(databaseUrl);
    await store.migrate();
    const log = await openAuditLog(path, {
      key: Buffer.from(key),
      anchors: { get: (c) => store.getAuditAnchor(c), advance: (a) => store.advanceAuditAnchor(a) },
    });
    for (const outcome of ['a', 'b', 'c', 'd']) {
      await log.append({
        actor_id: 1,
        actor_name: 'Ada',
        action: 'test',
        environment: null,
        sha: null,
        request_id: null,
        outcome,
      });
    }
    await log.close();
    await new Promise((resolve) => setTimeout(resolve, 50));
    await store.close();
    const keyed = { DATABASE_URL: databaseUrl, AUDIT_HMAC_KEY: key };
    const intact = await deploybot(['audit', 'verify', path], keyed);
    expect(intact.code).toBe(0);
    expect(intact.stdout).toContain('4 lines, hash chain intact (keyed, anchor of 4 lines matches)');
    const withoutKey = await deploybot(['audit', 'verify', path], { DATABASE_URL: databaseUrl });
    expect(withoutKey.code).toBe(1);
    expect(withoutKey.stderr).toContain(
      'line 1 was edited (its hash does not match its content); if the chain is keyed, set AUDIT_HMAC_KEY',
    );
    const lines = (await readFile(path, 'utf8')).split('\n').filter(Boolean);
    await writeFile(path, `${lines.slice(0, 2).join('\n')}\n`);
    const cut = await deploybot(['audit', 'verify', path], keyed);
    expect(cut.code).toBe(1);
    expect(cut.stderr).toContain('line 3 is missing: the store counted more lines');
    const shortKey = await deploybot(['audit', 'verify', path], { AUDIT_HMAC_KEY: 'short' });
    expect(shortKey.code).toBe(2);
    expect(shortKey.stderr).toContain('AUDIT_HMAC_KEY: the secret must be at least 32 characters');
  });
});
