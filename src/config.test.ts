import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type Config, loadConfig, loadConfigFromEnvironment } from './config.ts';
import { describeConfig } from './describe-config.ts';

// Test-only values shaped like the real thing; none is a real credential.
const TOKEN = '7000000001:AAE-fakeTokenForTestsOnly_abcdefghijk';
const TG_SECRET = 'tg-webhook-secret_0123456789abcdef';
const GH_SECRET = 'gh-webhook-secret-0123456789abcdef';
const GH_TOKEN = 'github_pat_11FAKEFAKEFAKE_testonly';
const PEM_BODY = 'MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7testonly';
const PEM = `-----BEGIN RSA PRIVATE KEY-----\n${PEM_BODY}\n-----END RSA PRIVATE KEY-----`;

type Env = Record<string, string | undefined>;
const base: Env = {
  TELEGRAM_BOT_TOKEN: TOKEN,
  TELEGRAM_WEBHOOK_SECRET: TG_SECRET,
  ADMIN_TELEGRAM_IDS: '111',
  GITHUB_REPOSITORY: 'acme/shop',
  GITHUB_TOKEN: GH_TOKEN,
  GITHUB_WEBHOOK_SECRET: GH_SECRET,
};
const app: Env = {
  ...base,
  GITHUB_TOKEN: undefined,
  GITHUB_APP_ID: '12345',
  GITHUB_APP_PRIVATE_KEY: PEM.replaceAll('\n', '\\n'),
  GITHUB_APP_INSTALLATION_ID: '678',
};

function ok(env: Env): Readonly<Config> {
  const result = loadConfig(env);
  if (!result.ok) throw new Error(`unexpected problems:\n${result.problems.join('\n')}`);
  return result.config;
}
function problems(env: Env): string[] {
  const result = loadConfig(env);
  if (result.ok) throw new Error('expected problems, got a config');
  return result.problems;
}

describe('loadConfig: valid', () => {
  it('builds the full config in token mode with every default', () => {
    // The implicit service (no `services:`) holds the same environments as the top level.
    const defaultEnvironments = [
      {
        name: 'staging',
        branch: 'develop',
        refs: [{ kind: 'branch', pattern: '**' }, { kind: 'tag', pattern: '**' }, { kind: 'sha' }],
        role: 'staging',
        confirm: false,
        windows: null,
        healthUrl: null,
      },
      {
        name: 'production',
        branch: 'main',
        refs: [{ kind: 'branch', pattern: 'main' }],
        role: 'admin',
        confirm: true,
        windows: null,
        healthUrl: null,
      },
    ];
    expect(ok(base)).toEqual({
      telegram: {
        token: TOKEN,
        mode: 'webhook',
        webhookSecret: TG_SECRET,
        apiRoot: 'https://api.telegram.org',
        chatId: null,
        allowedChatIds: [],
      },
      access: { adminIds: [111], stagingIds: [] },
      github: {
        owner: 'acme',
        repo: 'shop',
        auth: { kind: 'token', token: GH_TOKEN },
        apiUrl: 'https://api.github.com',
        webhookSecret: GH_SECRET,
        workflow: 'deploy.yml',
      },
      environments: defaultEnvironments,
      services: [
        {
          name: 'shop',
          repository: { owner: 'acme', repo: 'shop' },
          workflow: 'deploy.yml',
          environments: defaultEnvironments,
          admins: [],
          deployers: [],
          chats: [],
        },
      ],
      accounts: null,
      databaseUrl: './data/deploybot.sqlite',
      auditLogPath: './data/audit.jsonl',
      auditHmacKey: null,
      reconcileIntervalSeconds: 15,
      port: 8080,
      host: '0.0.0.0',
      publicUrl: null,
      logLevel: 'info',
      secrets: [TOKEN, TOKEN.split(':')[1], TG_SECRET, GH_SECRET, GH_TOKEN],
    });
  });

  it('builds GitHub App auth, turning escaped \\n into newlines', () => {
    const config = ok(app);
    expect(config.github.auth).toEqual({ kind: 'app', appId: 12345, privateKey: PEM, installationId: 678 });
    expect(config.secrets).toContain(PEM);
    expect(config.secrets).toContain(app.GITHUB_APP_PRIVATE_KEY);
  });

  it.each<[string, Env, (config: Readonly<Config>) => unknown, unknown]>([
    ['trims ids and drops duplicates', { ADMIN_TELEGRAM_IDS: ' 1, 2 ,1' }, (c) => c.access.adminIds, [1, 2]],
    ['an empty list is empty', { STAGING_TELEGRAM_IDS: '' }, (c) => c.access.stagingIds, []],
    ['the largest 52-bit id', { ADMIN_TELEGRAM_IDS: String(2 ** 52) }, (c) => c.access.adminIds, [2 ** 52]],
    ['negative chat ids', { TELEGRAM_CHAT_ID: '-1001234567890' }, (c) => c.telegram.chatId, -1001234567890],
    [
      'allowed chats',
      { TELEGRAM_ALLOWED_CHAT_IDS: '-100123, 42' },
      (c) => c.telegram.allowedChatIds,
      [-100123, 42],
    ],
    [
      'trailing slashes off API roots',
      { TELEGRAM_API_ROOT: 'http://127.0.0.1:8081//' },
      (c) => c.telegram.apiRoot,
      'http://127.0.0.1:8081',
    ],
    [
      'GitHub Enterprise API',
      { GITHUB_API_URL: 'https://ghe.example.com/api/v3/' },
      (c) => c.github.apiUrl,
      'https://ghe.example.com/api/v3',
    ],
    [
      'PUBLIC_URL over http on localhost',
      { PUBLIC_URL: 'http://localhost:8080/' },
      (c) => c.publicUrl,
      'http://localhost:8080',
    ],
    ['a numeric workflow id', { DEPLOY_WORKFLOW: '161335' }, (c) => c.github.workflow, '161335'],
    ['a .yaml workflow', { DEPLOY_WORKFLOW: 'release.yaml' }, (c) => c.github.workflow, 'release.yaml'],
    ['the interval bounds', { RECONCILE_INTERVAL_SECONDS: '3600' }, (c) => c.reconcileIntervalSeconds, 3600],
    ['port and host', { PORT: '65535', HOST: '127.0.0.1' }, (c) => [c.port, c.host], [65535, '127.0.0.1']],
    ['LOG_LEVEL', { LOG_LEVEL: 'silent' }, (c) => c.logLevel, 'silent'],
    [
      'the health URLs',
      { STAGING_HEALTH_URL: 'http://127.0.0.1:9/h' },
      (c) => c.environments[0]?.healthUrl,
      'http://127.0.0.1:9/h',
    ],
    [
      'a token with surrounding whitespace',
      { TELEGRAM_BOT_TOKEN: ` ${TOKEN}\n` },
      (c) => c.telegram.token,
      TOKEN,
    ],
    [
      'polling mode needs no webhook secrets',
      { TELEGRAM_MODE: 'polling', TELEGRAM_WEBHOOK_SECRET: undefined, GITHUB_WEBHOOK_SECRET: '' },
      (c) => [c.telegram.mode, c.telegram.webhookSecret, c.github.webhookSecret],
      ['polling', null, null],
    ],
    [
      'polling mode keeps a GitHub webhook secret',
      { TELEGRAM_MODE: 'polling', TELEGRAM_WEBHOOK_SECRET: undefined },
      (c) => c.github.webhookSecret,
      GH_SECRET,
    ],
    [
      'a postgres password is a secret, encoded and decoded',
      { DATABASE_URL: 'postgres://bot:p%40ss-word@db:5432/deploybot' },
      (c) => c.secrets.slice(-2),
      ['p%40ss-word', 'p@ss-word'],
    ],
    [
      'a 256-character webhook secret',
      { TELEGRAM_WEBHOOK_SECRET: 'a'.repeat(256) },
      (c) => c.telegram.webhookSecret?.length,
      256,
    ],
  ])('%s', (_name, overrides, pick, expected) => {
    expect(pick(ok({ ...base, ...overrides }))).toEqual(expected);
  });

  it('returns a deeply frozen config', () => {
    const config = ok(app);
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.telegram)).toBe(true);
    expect(Object.isFrozen(config.access.adminIds)).toBe(true);
    expect(Object.isFrozen(config.github.auth)).toBe(true);
    expect(Object.isFrozen(config.environments[1]?.refs[0])).toBe(true);
    expect(() => {
      (config.access.adminIds as number[]).push(999);
    }).toThrow(TypeError);
    expect(() => {
      (config.telegram as { token: string }).token = 'x';
    }).toThrow(TypeError);
  });
});

describe('loadConfig: problems', () => {
  it.each<[string, Env, string[]]>([
    ['missing token', { TELEGRAM_BOT_TOKEN: undefined }, ['TELEGRAM_BOT_TOKEN: required']],
    ['empty token', { TELEGRAM_BOT_TOKEN: '  ' }, ['TELEGRAM_BOT_TOKEN: required']],
    [
      'malformed token',
      { TELEGRAM_BOT_TOKEN: '7000000001-short' },
      ['TELEGRAM_BOT_TOKEN: does not look like a bot token (expected <digits>:<35+ characters>)'],
    ],
    [
      'missing admins',
      { ADMIN_TELEGRAM_IDS: undefined },
      ['ADMIN_TELEGRAM_IDS: required: comma-separated Telegram user ids of the admins'],
    ],
    [
      'a non-numeric id',
      { ADMIN_TELEGRAM_IDS: '111,12a' },
      ['ADMIN_TELEGRAM_IDS: "12a" is not a Telegram user id'],
    ],
    ['an empty entry', { ADMIN_TELEGRAM_IDS: '1,,2' }, ['ADMIN_TELEGRAM_IDS: entry 2 is empty']],
    ['a trailing comma', { ADMIN_TELEGRAM_IDS: '1, 2,' }, ['ADMIN_TELEGRAM_IDS: entry 3 is empty']],
    [
      'only commas',
      { ADMIN_TELEGRAM_IDS: ',' },
      ['ADMIN_TELEGRAM_IDS: entry 1 is empty', 'ADMIN_TELEGRAM_IDS: entry 2 is empty'],
    ],
    [
      'a negative user id',
      { ADMIN_TELEGRAM_IDS: '-5' },
      ['ADMIN_TELEGRAM_IDS: "-5" is not a Telegram user id (user ids are positive)'],
    ],
    [
      'a zero user id',
      { STAGING_TELEGRAM_IDS: '0' },
      ['STAGING_TELEGRAM_IDS: "0" is not a Telegram user id (user ids are positive)'],
    ],
    [
      'ids separated by spaces',
      { ADMIN_TELEGRAM_IDS: '111 222' },
      ['ADMIN_TELEGRAM_IDS: "111 222" is not a Telegram user id (separate ids with commas)'],
    ],
    [
      'an id beyond 52 bits',
      { ADMIN_TELEGRAM_IDS: String(2 ** 52 + 1) },
      [`ADMIN_TELEGRAM_IDS: "${2 ** 52 + 1}" is not a Telegram user id (too large)`],
    ],
    [
      'a fractional id',
      { ADMIN_TELEGRAM_IDS: '1.5' },
      ['ADMIN_TELEGRAM_IDS: "1.5" is not a Telegram user id'],
    ],
    [
      'a bad chat id',
      { TELEGRAM_CHAT_ID: '@mychannel' },
      ['TELEGRAM_CHAT_ID: "@mychannel" is not a Telegram chat id'],
    ],
    [
      'a bad allowed chat',
      { TELEGRAM_ALLOWED_CHAT_IDS: '-100,' },
      ['TELEGRAM_ALLOWED_CHAT_IDS: entry 2 is empty'],
    ],
    [
      'both GitHub credentials',
      { ...app, GITHUB_TOKEN: GH_TOKEN },
      [
        'GITHUB_TOKEN, GITHUB_APP_ID, GITHUB_APP_PRIVATE_KEY, GITHUB_APP_INSTALLATION_ID: give one GitHub credential, not both',
      ],
    ],
    [
      'a token and one App variable',
      { GITHUB_APP_ID: '1' },
      ['GITHUB_TOKEN, GITHUB_APP_ID: give one GitHub credential, not both'],
    ],
    [
      'no GitHub credential',
      { GITHUB_TOKEN: undefined },
      [
        'GITHUB_TOKEN, GITHUB_APP_ID: required: give GITHUB_TOKEN or all of GITHUB_APP_ID, GITHUB_APP_PRIVATE_KEY, GITHUB_APP_INSTALLATION_ID',
      ],
    ],
    [
      'an incomplete App',
      { ...app, GITHUB_APP_INSTALLATION_ID: undefined },
      [
        'GITHUB_APP_INSTALLATION_ID: required with GITHUB_APP_ID and GITHUB_APP_PRIVATE_KEY (a GitHub App needs all three)',
      ],
    ],
    [
      'bad App ids and key',
      { ...app, GITHUB_APP_ID: '-1', GITHUB_APP_INSTALLATION_ID: 'abc', GITHUB_APP_PRIVATE_KEY: 'not a key' },
      [
        'GITHUB_APP_ID: "-1" is not a whole number from 1 to 9007199254740991',
        'GITHUB_APP_INSTALLATION_ID: "abc" is not a whole number from 1 to 9007199254740991',
        'GITHUB_APP_PRIVATE_KEY: does not look like a PEM private key (expected -----BEGIN … PRIVATE KEY-----)',
      ],
    ],
    [
      'a webhook secret with characters Telegram refuses',
      { TELEGRAM_WEBHOOK_SECRET: `has space!${'x'.repeat(30)}` },
      ['TELEGRAM_WEBHOOK_SECRET: only A-Z, a-z, 0-9, _ and - are allowed (Telegram refuses others)'],
    ],
    [
      'webhook secrets a stranger could guess (under 32 characters)',
      { TELEGRAM_WEBHOOK_SECRET: 'Zk9q2', GITHUB_WEBHOOK_SECRET: 'x'.repeat(31) },
      [
        'TELEGRAM_WEBHOOK_SECRET: the secret must be at least 32 characters, got 5 (openssl rand -hex 32 makes one)',
        'GITHUB_WEBHOOK_SECRET: the secret must be at least 32 characters, got 31 (openssl rand -hex 32 makes one)',
      ],
    ],
    [
      'an audit key under 32 characters',
      { AUDIT_HMAC_KEY: 'short-key' },
      ['AUDIT_HMAC_KEY: the secret must be at least 32 characters, got 9 (openssl rand -hex 32 makes one)'],
    ],
    [
      'a webhook secret that is too long',
      { TELEGRAM_WEBHOOK_SECRET: 'a'.repeat(257) },
      ['TELEGRAM_WEBHOOK_SECRET: at most 256 characters (Telegram refuses longer)'],
    ],
    [
      'webhook mode without secrets',
      { TELEGRAM_WEBHOOK_SECRET: undefined, GITHUB_WEBHOOK_SECRET: undefined },
      [
        'TELEGRAM_WEBHOOK_SECRET: required when TELEGRAM_MODE=webhook',
        'GITHUB_WEBHOOK_SECRET: required when TELEGRAM_MODE=webhook',
      ],
    ],
    [
      'a GitHub webhook secret with spaces',
      { GITHUB_WEBHOOK_SECRET: `a b${'x'.repeat(30)}` },
      ['GITHUB_WEBHOOK_SECRET: must not contain whitespace or control characters'],
    ],
    [
      'an unknown mode',
      { TELEGRAM_MODE: 'push', TELEGRAM_WEBHOOK_SECRET: undefined },
      ['TELEGRAM_MODE: must be webhook or polling'],
    ],
    [
      'a bad repository',
      { GITHUB_REPOSITORY: 'https://github.com/acme/shop' },
      ['GITHUB_REPOSITORY: "https://github.com/acme/shop" is not owner/repo (e.g. acme/shop)'],
    ],
    [
      'a repository with a leading hyphen',
      { GITHUB_REPOSITORY: '-acme/shop' },
      ['GITHUB_REPOSITORY: "-acme/shop" is not owner/repo (e.g. acme/shop)'],
    ],
    [
      'a missing repository',
      { GITHUB_REPOSITORY: undefined },
      ['GITHUB_REPOSITORY: required: owner/repo that holds the deploy workflow'],
    ],
    [
      'a repository with .git',
      { GITHUB_REPOSITORY: 'acme/shop.git' },
      ['GITHUB_REPOSITORY: "acme/shop.git": drop the .git suffix (owner/repo, e.g. acme/shop)'],
    ],
    ['a PUBLIC_URL that is no URL', { PUBLIC_URL: 'bot.example.com' }, ['PUBLIC_URL: is not a URL']],
    ['a non-URL API root', { TELEGRAM_API_ROOT: 'api.telegram.org' }, ['TELEGRAM_API_ROOT: is not a URL']],
    [
      'a file: URL',
      { GITHUB_API_URL: 'file:///etc/passwd' },
      ['GITHUB_API_URL: must be an http:// or https:// URL'],
    ],
    [
      'PUBLIC_URL over http',
      { PUBLIC_URL: 'http://bot.example.com' },
      ['PUBLIC_URL: must be an https:// URL (Telegram sends webhooks only over https), except for localhost'],
    ],
    [
      'a bad health URL',
      { PRODUCTION_HEALTH_URL: 'ftp://x' },
      ['PRODUCTION_HEALTH_URL: must be an http:// or https:// URL'],
    ],
    ['port 0', { PORT: '0' }, ['PORT: "0" is not a whole number from 1 to 65535']],
    ['port 65536', { PORT: '65536' }, ['PORT: "65536" is not a whole number from 1 to 65535']],
    [
      'a short interval',
      { RECONCILE_INTERVAL_SECONDS: '4' },
      ['RECONCILE_INTERVAL_SECONDS: "4" is not a whole number from 5 to 3600'],
    ],
    [
      'a fractional interval',
      { RECONCILE_INTERVAL_SECONDS: '7.5' },
      ['RECONCILE_INTERVAL_SECONDS: "7.5" is not a whole number from 5 to 3600'],
    ],
    [
      'a workflow path',
      { DEPLOY_WORKFLOW: '.github/workflows/deploy.yml' },
      [
        'DEPLOY_WORKFLOW: ".github/workflows/deploy.yml" is not a workflow file name ending .yml/.yaml (e.g. deploy.yml) or a numeric workflow id',
      ],
    ],
    [
      'another database',
      { DATABASE_URL: 'mysql://u:p@h/d' },
      ['DATABASE_URL: expected a SQLite file path or a postgres://user:password@host/db URL'],
    ],
    [
      'an audit URL',
      { AUDIT_LOG_PATH: 's3://bucket/audit' },
      ['AUDIT_LOG_PATH: expected a file path (no URL, no control characters)'],
    ],
    [
      'a log level',
      { LOG_LEVEL: 'verbose' },
      ['LOG_LEVEL: must be one of fatal, error, warn, info, debug, trace, silent'],
    ],
    [
      'DEPLOYBOT_CONFIG without its text',
      { DEPLOYBOT_CONFIG: 'deploybot.yml' },
      ['DEPLOYBOT_CONFIG: set, but the file was not read (use loadConfigFromEnvironment)'],
    ],
  ])('%s', (_name, overrides, expected) => {
    expect(problems({ ...base, ...overrides })).toEqual(expected);
  });

  it('reports every problem of a bad env at once, one line each', () => {
    expect(
      problems({
        TELEGRAM_BOT_TOKEN: 'nope',
        TELEGRAM_WEBHOOK_SECRET: 'bad secret, long enough to be one otherwise',
        ADMIN_TELEGRAM_IDS: '12a, -5,',
        GITHUB_REPOSITORY: 'acme/shop',
        GITHUB_TOKEN: GH_TOKEN,
        GITHUB_APP_ID: '1',
        PORT: 'http',
      }),
    ).toEqual([
      'TELEGRAM_BOT_TOKEN: does not look like a bot token (expected <digits>:<35+ characters>)',
      'TELEGRAM_WEBHOOK_SECRET: only A-Z, a-z, 0-9, _ and - are allowed (Telegram refuses others)',
      'GITHUB_WEBHOOK_SECRET: required when TELEGRAM_MODE=webhook',
      'ADMIN_TELEGRAM_IDS: "12a" is not a Telegram user id',
      'ADMIN_TELEGRAM_IDS: "-5" is not a Telegram user id (user ids are positive)',
      'ADMIN_TELEGRAM_IDS: entry 3 is empty',
      'GITHUB_TOKEN, GITHUB_APP_ID: give one GitHub credential, not both',
      'PORT: "http" is not a whole number from 1 to 65535',
    ]);
  });

  // Each secret-bearing variable gets an invalid value around a marker; no problem line may
  // contain any 6-character piece of it.
  const marker = 'Qx7SeCrEtVaLuE9z';
  it.each<[string, Env]>([
    ['TELEGRAM_BOT_TOKEN', { TELEGRAM_BOT_TOKEN: `12:${marker}` }],
    ['TELEGRAM_BOT_TOKEN (spaces)', { TELEGRAM_BOT_TOKEN: `7000000001:${marker} ${marker}${marker}` }],
    ['TELEGRAM_WEBHOOK_SECRET', { TELEGRAM_WEBHOOK_SECRET: `${marker}!` }],
    ['TELEGRAM_WEBHOOK_SECRET (long)', { TELEGRAM_WEBHOOK_SECRET: marker.repeat(20) }],
    ['GITHUB_WEBHOOK_SECRET', { GITHUB_WEBHOOK_SECRET: `${marker} x` }],
    ['GITHUB_TOKEN', { GITHUB_TOKEN: `${marker} x` }],
    ['GITHUB_TOKEN with an App', { GITHUB_TOKEN: marker, GITHUB_APP_ID: '1' }],
    ['GITHUB_APP_PRIVATE_KEY', { ...app, GITHUB_APP_PRIVATE_KEY: `-----BEGIN ${marker}` }],
    ['DATABASE_URL', { DATABASE_URL: `mysql://user:${marker}@db/x` }],
    ['DATABASE_URL (broken postgres)', { DATABASE_URL: `postgres://user:${marker}@` }],
  ])('never echoes %s', (_name, overrides) => {
    const lines = problems({ ...base, ...overrides });
    expect(lines.length).toBeGreaterThan(0);
    for (let i = 0; i + 6 <= marker.length; i++) {
      for (const line of lines) expect(line).not.toContain(marker.slice(i, i + 6));
    }
  });
});

describe('loadConfig with a config file', () => {
  const file = {
    path: 'deploybot.yml',
    text: 'environments:\n  qa:\n    branch: develop\n    role: staging\n',
  };

  it('takes the environments from the file and the health URL from QA_HEALTH_URL', () => {
    const result = loadConfig({ ...base, QA_HEALTH_URL: 'http://127.0.0.1:1/health' }, file);
    expect(result.ok && result.config.environments).toEqual([
      {
        name: 'qa',
        branch: 'develop',
        refs: [{ kind: 'branch', pattern: 'develop' }],
        role: 'staging',
        confirm: true,
        windows: null,
        healthUrl: 'http://127.0.0.1:1/health',
      },
    ]);
  });

  it('reports file problems together with variable problems', () => {
    const result = loadConfig(
      { ...base, PORT: '0' },
      { path: 'd.yml', text: 'environments:\n  qa:\n    rol: admin\n' },
    );
    expect(result.ok ? [] : result.problems).toEqual([
      'DEPLOYBOT_CONFIG (d.yml): environments.qa.rol: unknown key',
      'PORT: "0" is not a whole number from 1 to 65535',
    ]);
  });

  it('reads the file named by DEPLOYBOT_CONFIG, and reports one it cannot read', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'deploybot-config-'));
    try {
      const path = join(dir, 'deploybot.json');
      await writeFile(path, JSON.stringify({ environments: { prod: { branch: 'main' } } }));
      const read = await loadConfigFromEnvironment({ ...base, DEPLOYBOT_CONFIG: path });
      expect(read.ok && read.config.environments.map((e) => e.name)).toEqual(['prod']);
      const missing = await loadConfigFromEnvironment({ ...base, DEPLOYBOT_CONFIG: join(dir, 'nope.yml') });
      expect(missing.ok ? [] : missing.problems).toEqual([
        `DEPLOYBOT_CONFIG: cannot read "${join(dir, 'nope.yml')}" (ENOENT)`,
      ]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('describeConfig', () => {
  it('shows secrets only as their length', () => {
    const config = ok({
      ...app,
      DATABASE_URL: 'postgres://bot:hunter2-db-pass@db:5432/deploybot',
      AUDIT_HMAC_KEY: 'audit-hmac-key-0123456789abcdef-xyz',
    });
    const text = describeConfig(config).join('\n');
    for (const secret of config.secrets) expect(text).not.toContain(secret);
    expect(text).not.toContain(PEM_BODY);
    expect(text).toContain(`bot token set (${TOKEN.length} chars)`);
    expect(text).toContain(`private key set (${PEM.length} chars)`);
    expect(text).toContain('PostgreSQL db:5432/deploybot, password set (15 chars)');
    expect(text).toContain('audit log ./data/audit.jsonl (keyed with AUDIT_HMAC_KEY)');
    expect(text).not.toContain('audit-hmac-key');
  });

  it('says not set for absent secrets', () => {
    const text = describeConfig(
      ok({ ...base, TELEGRAM_MODE: 'polling', TELEGRAM_WEBHOOK_SECRET: undefined }),
    ).join('\n');
    expect(text).toContain('webhook secret not set');
    expect(text).toContain('SQLite ./data/deploybot.sqlite');
  });
});

describe('loadConfig: linked GitHub accounts', () => {
  const KEY_HEX = 'a1'.repeat(32);
  const KEY_B64 = Buffer.from(KEY_HEX, 'hex').toString('base64');
  const accounts: Env = {
    ...base,
    GITHUB_OAUTH_CLIENT_ID: 'Iv23liFakeClient01',
    DEPLOYBOT_ENCRYPTION_KEY: KEY_B64,
  };

  it('is off without GITHUB_OAUTH_CLIENT_ID, on with it and a 32-byte key (hex or base64)', () => {
    expect(ok(base).accounts).toBeNull();
    const config = ok(accounts);
    expect(config.accounts).toEqual({
      clientId: 'Iv23liFakeClient01',
      webUrl: 'https://github.com',
      encryptionKey: KEY_HEX,
    });
    expect(config.secrets).toEqual(expect.arrayContaining([KEY_B64, KEY_HEX]));
    expect(ok({ ...accounts, DEPLOYBOT_ENCRYPTION_KEY: KEY_HEX }).accounts?.encryptionKey).toBe(KEY_HEX);
    expect(ok({ ...accounts, GITHUB_WEB_URL: 'https://ghe.example.com/' }).accounts?.webUrl).toBe(
      'https://ghe.example.com',
    );
  });

  it('refuses a key that is not 32 bytes, naming the variable and never the value', () => {
    for (const key of ['too-short-key', 'b2'.repeat(16), Buffer.alloc(31, 7).toString('base64')]) {
      const lines = problems({ ...accounts, DEPLOYBOT_ENCRYPTION_KEY: key });
      expect(lines).toEqual([expect.stringMatching(/^DEPLOYBOT_ENCRYPTION_KEY: must be 32 bytes/)]);
      expect(lines.join('\n')).not.toContain(key);
    }
  });

  it('wants both variables or neither, and GITHUB_WEB_URL with GitHub Enterprise', () => {
    expect(problems({ ...accounts, DEPLOYBOT_ENCRYPTION_KEY: undefined })).toEqual([
      expect.stringMatching(/^DEPLOYBOT_ENCRYPTION_KEY: required with GITHUB_OAUTH_CLIENT_ID/),
    ]);
    expect(problems({ ...accounts, GITHUB_OAUTH_CLIENT_ID: undefined })).toEqual([
      expect.stringMatching(/^DEPLOYBOT_ENCRYPTION_KEY: set, but GITHUB_OAUTH_CLIENT_ID is not/),
    ]);
    expect(problems({ ...accounts, GITHUB_API_URL: 'https://ghe.example.com/api/v3' })).toEqual([
      expect.stringMatching(/^GITHUB_WEB_URL: required with GITHUB_OAUTH_CLIENT_ID/),
    ]);
    expect(problems({ ...accounts, GITHUB_WEB_URL: 'ftp://github.com' })).toEqual([
      'GITHUB_WEB_URL: must be an http:// or https:// URL',
    ]);
    expect(problems({ ...accounts, GITHUB_OAUTH_CLIENT_ID: 'not a client id' })).toEqual([
      expect.stringMatching(/^GITHUB_OAUTH_CLIENT_ID: not a client id/),
    ]);
  });

  it('describes the setting without the key', () => {
    const text = describeConfig(ok(accounts)).join('\n');
    expect(text).toContain(
      'Linked accounts: on, device flow at https://github.com for client Iv23liFakeClient01',
    );
    expect(text).not.toContain(KEY_B64);
    expect(text).not.toContain(KEY_HEX);
  });
});
