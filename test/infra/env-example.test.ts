import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { REPO_ROOT } from './find-tool.ts';

const text = readFileSync(path.join(REPO_ROOT, '.env.example'), 'utf8');
const lines = text.split('\n');

/** KEY=VALUE lines of the example, with the comment block right above each. */
const entries = lines.flatMap((line, index) => {
  const match = /^([A-Z][A-Z0-9_]*)=(.*)$/.exec(line);
  if (!match) return [];
  let start = index;
  while (start > 0 && (lines[start - 1]?.startsWith('#') || /^[A-Z][A-Z0-9_]*=/.test(lines[start - 1] ?? '')))
    start--;
  const comment = lines
    .slice(start, index)
    .filter((l) => l.startsWith('#'))
    .join('\n');
  return [{ name: match[1] ?? '', value: match[2] ?? '', comment }];
});
const names = entries.map((e) => e.name);

// The contract's variables, as docs/architecture.md's table lists them (checked below).
// biome-ignore format: a compact contract list
const CONTRACT_VARIABLES = [
  'TELEGRAM_BOT_TOKEN', 'TELEGRAM_MODE', 'TELEGRAM_WEBHOOK_SECRET', 'TELEGRAM_API_ROOT', 'ADMIN_TELEGRAM_IDS',
  'STAGING_TELEGRAM_IDS', 'TELEGRAM_CHAT_ID', 'TELEGRAM_ALLOWED_CHAT_IDS', 'GITHUB_REPOSITORY', 'GITHUB_TOKEN',
  'GITHUB_APP_ID', 'GITHUB_APP_PRIVATE_KEY', 'GITHUB_APP_INSTALLATION_ID', 'GITHUB_API_URL', 'GITHUB_WEBHOOK_SECRET',
  'DEPLOY_WORKFLOW', 'DEPLOYBOT_CONFIG', 'DATABASE_URL', 'AUDIT_LOG_PATH', 'STAGING_HEALTH_URL',
  'PRODUCTION_HEALTH_URL', 'RECONCILE_INTERVAL_SECONDS', 'PORT', 'HOST', 'PUBLIC_URL', 'LOG_LEVEL',
  'AUDIT_HMAC_KEY', 'GITHUB_OAUTH_CLIENT_ID', 'DEPLOYBOT_ENCRYPTION_KEY', 'GITHUB_WEB_URL',
];
const COMPOSE_ONLY = ['APP_IMAGE', 'BOT_LOCAL_PORT', 'POSTGRES_PASSWORD', 'GRAFANA_ADMIN_PASSWORD'];
// biome-ignore format: a compact list
const SECRETS = [
  'TELEGRAM_BOT_TOKEN', 'TELEGRAM_WEBHOOK_SECRET', 'GITHUB_TOKEN', 'GITHUB_APP_PRIVATE_KEY',
  'GITHUB_WEBHOOK_SECRET', 'POSTGRES_PASSWORD', 'GRAFANA_ADMIN_PASSWORD', 'AUDIT_HMAC_KEY',
  'DEPLOYBOT_ENCRYPTION_KEY',
];

describe('.env.example', () => {
  it('the contract list matches the table of docs/architecture.md', () => {
    const doc = readFileSync(path.join(REPO_ROOT, 'docs', 'architecture.md'), 'utf8');
    const table = doc.slice(doc.indexOf('### Environment variables'), doc.indexOf('### HTTP routes'));
    const inTable = [...table.matchAll(/^\|\s*(`[A-Z_]+`(?:, `[A-Z_]+`)*)\s*\|/gm)].flatMap((m) =>
      [...(m[1] ?? '').matchAll(/`([A-Z_]+)`/g)].map((v) => v[1]),
    );
    expect(inTable.sort()).toEqual([...CONTRACT_VARIABLES].sort());
  });

  it('lists every configuration variable once, and nothing unknown', () => {
    expect([...names].sort()).toEqual([...CONTRACT_VARIABLES, ...COMPOSE_ONLY].sort());
  });

  it('comments every variable: required or optional, and the default or format', () => {
    for (const { name, comment } of entries) {
      expect(comment, name).toMatch(/REQUIRED|Optional|EITHER/);
      expect(comment.length, name).toBeGreaterThan(20);
    }
  });

  it('leaves every secret empty', () => {
    for (const secret of SECRETS) expect(entries.find((e) => e.name === secret)?.value, secret).toBe('');
    expect(text).not.toMatch(/\d{8,10}:AA[A-Za-z0-9_-]{30,}/); // a real-looking bot token
    expect(text).not.toMatch(/gh[pousr]_[A-Za-z0-9]{30,}|github_pat_/);
  });

  it('with only the required values filled in, the bot accepts it', () => {
    const env: Record<string, string> = Object.fromEntries(entries.map((e) => [e.name, e.value]));
    Object.assign(env, {
      TELEGRAM_BOT_TOKEN: `123456:${'x'.repeat(35)}`,
      TELEGRAM_WEBHOOK_SECRET: 'example_secret-1_0123456789abcdef',
      GITHUB_WEBHOOK_SECRET: 'example-github-secret-0123456789abcdef',
      ADMIN_TELEGRAM_IDS: '123456789',
      GITHUB_REPOSITORY: 'octo-org/shop',
      GITHUB_TOKEN: 'example-token',
    });
    const result = loadConfig(env);
    expect(result.ok ? [] : result.problems).toEqual([]);
  });

  it('as shipped (nothing filled in), the bot names each missing required variable', () => {
    const env = Object.fromEntries(entries.map((e) => [e.name, e.value]));
    const result = loadConfig(env);
    expect(result.ok).toBe(false);
    const problems = result.ok ? '' : result.problems.join('\n');
    for (const name of [
      'TELEGRAM_BOT_TOKEN',
      'ADMIN_TELEGRAM_IDS',
      'GITHUB_REPOSITORY',
      'TELEGRAM_WEBHOOK_SECRET',
    ]) {
      expect(problems).toContain(name);
    }
  });
});
