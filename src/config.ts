import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { type AccountsConfig, readAccountsConfig } from './config-accounts.ts';
import { httpUrlProblem, readEnvironments } from './config-file.ts';
import { assembleServices, primaryOf } from './config-services.ts';
import type { EnvironmentSpec } from './core/environment.ts';
import type { Service } from './core/service.ts';

export type GitHubAuth =
  | { kind: 'token'; token: string }
  | { kind: 'app'; appId: number; privateKey: string; installationId: number };
export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
export type Config = {
  telegram: {
    token: string;
    mode: 'webhook' | 'polling';
    webhookSecret: string | null;
    apiRoot: string;
    chatId: number | null;
    /** Empty: every chat is served. */
    allowedChatIds: number[];
  };
  access: { adminIds: number[]; stagingIds: number[] };
  /** The first service's repository and workflow; the credentials serve every service. */
  github: {
    owner: string;
    repo: string;
    auth: GitHubAuth;
    apiUrl: string;
    webhookSecret: string | null;
    workflow: string;
  };
  /** The first service's, in the order configured; without DEPLOYBOT_CONFIG: staging, then production. */
  environments: EnvironmentSpec[];
  /** At least one; without `services:` in DEPLOYBOT_CONFIG the one implicit service (config-services.ts). */
  services: Service[];
  /** `/link` and Approve / Reject from Telegram; null when GITHUB_OAUTH_CLIENT_ID is not set. */
  accounts: AccountsConfig | null;
  databaseUrl: string;
  auditLogPath: string;
  /** Keys the audit hash chain (HMAC-SHA256) when set; null: plain SHA-256. */
  auditHmacKey: string | null;
  reconcileIntervalSeconds: number;
  port: number;
  host: string;
  publicUrl: string | null;
  logLevel: LogLevel;
  /** Every secret value in this config (token, webhook secrets, GitHub token / private key, DB password): the logger redacts these strings wherever they appear. */
  secrets: string[];
};
export type ConfigResult = { ok: true; config: Readonly<Config> } | { ok: false; problems: string[] };

type Env = Record<string, string | undefined>;

/** Telegram user and chat ids fit in 52 bits (Bot API docs), so they are exact as JS numbers. */
const MAX_ID = 2 ** 52;
const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

function shown(text: string): string {
  return JSON.stringify(text.length > 40 ? `${text.slice(0, 40)}…` : text);
}

function idProblem(entry: string, kind: 'user' | 'chat'): string | null {
  const what = `${shown(entry)} is not a Telegram ${kind} id`;
  if (/^\d+(?:\s+\d+)+$/.test(entry)) return `${what} (separate ids with commas)`;
  if (!/^-?\d+$/.test(entry)) return what;
  const id = Number(entry);
  if (kind === 'user' && id <= 0) return `${what} (user ids are positive)`;
  if (id === 0) return what;
  if (Math.abs(id) > MAX_ID) return `${what} (too large)`;
  return null;
}

/** Comma-separated ids. A bad entry is an error, never dropped: a typo must not lock out an admin. */
const idList = (kind: 'user' | 'chat') =>
  z.string().transform((text, ctx): number[] => {
    if (text.trim() === '') return [];
    const ids: number[] = [];
    text.split(',').forEach((raw, index) => {
      const entry = raw.trim();
      const problem = entry === '' ? `entry ${index + 1} is empty` : idProblem(entry, kind);
      if (problem) ctx.addIssue({ code: 'custom', message: problem, input: text });
      else if (!ids.includes(Number(entry))) ids.push(Number(entry));
    });
    return ids;
  });

const singleId = (kind: 'user' | 'chat') =>
  z.string().transform((text, ctx): number => {
    const problem = idProblem(text, kind);
    if (problem) ctx.addIssue({ code: 'custom', message: problem, input: text });
    return Number(text);
  });

// Secret-bearing schemas: messages never include the input.
const botToken = z.string().regex(/^\d{1,20}:[A-Za-z0-9_-]{35,}$/, {
  error: 'does not look like a bot token (expected <digits>:<35+ characters>)',
});
/**
 * Shared secrets that guard a route or a chain: at least 32 characters, so they cannot be guessed
 * (`openssl rand -hex 32` makes one). A short one is a start-up error, never a warning.
 */
export const MIN_SECRET_LENGTH = 32;
const longEnough = (what: string) =>
  z.string().min(MIN_SECRET_LENGTH, {
    error: (issue) =>
      `${what} must be at least ${MIN_SECRET_LENGTH} characters, got ${String(issue.input).length} (openssl rand -hex 32 makes one)`,
  });
const telegramSecret = longEnough('the secret')
  .regex(/^[A-Za-z0-9_-]*$/, { error: 'only A-Z, a-z, 0-9, _ and - are allowed (Telegram refuses others)' })
  .max(256, { error: 'at most 256 characters (Telegram refuses longer)' });
const opaqueSecret = z
  .string()
  .regex(/^[^\s\p{Cc}]+$/u, { error: 'must not contain whitespace or control characters' });
const sharedSecret = longEnough('the secret').regex(/^[^\s\p{Cc}]+$/u, {
  error: 'must not contain whitespace or control characters',
});
const privateKey = z
  .string()
  // Env files often carry a PEM on one line with literal \n.
  .transform((text) => text.replaceAll('\\n', '\n'))
  .refine((pem) => /-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]+-----END [A-Z ]*PRIVATE KEY-----/.test(pem), {
    error: 'does not look like a PEM private key (expected -----BEGIN … PRIVATE KEY-----)',
  });

const positiveInt = (min: number, max: number) =>
  z.string().transform((text, ctx): number => {
    const value = Number(text);
    if (!/^\d+$/.test(text) || value < min || value > max) {
      ctx.addIssue({ code: 'custom', message: `${shown(text)} is not a whole number from ${min} to ${max}` });
    }
    return value;
  });

const httpUrl = z.string().transform((text, ctx): string => {
  const problem = httpUrlProblem(text);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
  return text.replace(/\/+$/, '');
});

const publicUrl = httpUrl.refine(
  (text) => {
    const url = new URL(text);
    return url.protocol === 'https:' || ['localhost', '127.0.0.1', '[::1]'].includes(url.hostname);
  },
  { error: 'must be an https:// URL (Telegram sends webhooks only over https), except for localhost' },
);

// GitHub: owners are alphanumeric with single hyphens (≤ 39), repository names [A-Za-z0-9._-] (≤ 100).
const repository = z
  .string()
  .refine((text) => !text.toLowerCase().endsWith('.git'), {
    error: (issue) => `${shown(String(issue.input))}: drop the .git suffix (owner/repo, e.g. acme/shop)`,
    abort: true,
  })
  .regex(/^[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}\/(?!\.\.?$)[A-Za-z0-9._-]{1,100}$/, {
    error: (issue) => `${shown(String(issue.input))} is not owner/repo (e.g. acme/shop)`,
  });

const workflow = z.string().regex(/^(?:[A-Za-z0-9._-]+\.ya?ml|\d+)$/, {
  error: (issue) =>
    `${shown(String(issue.input))} is not a workflow file name ending .yml/.yaml (e.g. deploy.yml) or a numeric workflow id`,
});

const databaseUrl = z.string().superRefine((text, ctx) => {
  // Never echo: a postgres URL carries a password.
  if (/^[a-z][a-z0-9+.-]*:/i.test(text) && !/^[a-z]:[\\/]/i.test(text)) {
    let url: URL | null = null;
    try {
      url = new URL(text);
    } catch {}
    if (!url || !['postgres:', 'postgresql:'].includes(url.protocol) || url.hostname === '') {
      ctx.addIssue({
        code: 'custom',
        message: 'expected a SQLite file path or a postgres://user:password@host/db URL',
      });
    }
  } else if (/\p{Cc}/u.test(text)) {
    ctx.addIssue({ code: 'custom', message: 'the path contains control characters' });
  }
});

const filePath = z.string().regex(/^(?![a-z][a-z0-9+.-]*:\/\/)[^\p{Cc}]+$/iu, {
  error: 'expected a file path (no URL, no control characters)',
});

/** The password of a postgres URL, both as written (percent-encoded) and decoded. */
function databasePasswords(text: string): string[] {
  if (!/^postgres(?:ql)?:/i.test(text)) return [];
  try {
    const { password } = new URL(text);
    if (!password) return [];
    return [password, decodeURIComponent(password)];
  } catch {
    return [];
  }
}

/**
 * Reads, validates and freezes the configuration. Pure: the caller reads the DEPLOYBOT_CONFIG file
 * (see {@link loadConfigFromEnvironment}). Never throws; on bad input returns every problem, one
 * line each, `VARIABLE: what is wrong`, none containing a secret's value.
 */
export function loadConfig(env: Env, configFile?: { path: string; text: string }): ConfigResult {
  const problems: string[] = [];
  // Surrounding whitespace is a copy-paste accident; an empty value means "not set" (VAR= in compose files).
  const read = (name: string): string | undefined => {
    const value = env[name]?.trim();
    return value === '' ? undefined : value;
  };
  const check = <T>(name: string, schema: z.ZodType<T, string>, fallback: T): T => {
    const text = read(name);
    if (text === undefined) return fallback;
    const result = schema.safeParse(text);
    if (result.success) return result.data;
    for (const issue of result.error.issues) problems.push(`${name}: ${issue.message}`);
    return fallback;
  };
  const require = (name: string, why = 'required'): void => {
    if (read(name) === undefined) problems.push(`${name}: ${why}`);
  };

  require('TELEGRAM_BOT_TOKEN');
  const token = check('TELEGRAM_BOT_TOKEN', botToken, '');
  const mode = check(
    'TELEGRAM_MODE',
    z.enum(['webhook', 'polling'], { error: 'must be webhook or polling' }),
    'webhook',
  );
  // A typo in the mode should not also report the webhook secrets as missing.
  const modeValid = !problems.some((line) => line.startsWith('TELEGRAM_MODE:'));
  const webhookSecret = check('TELEGRAM_WEBHOOK_SECRET', telegramSecret, null);
  const githubWebhookSecret = check('GITHUB_WEBHOOK_SECRET', sharedSecret, null);
  if (mode === 'webhook' && modeValid) {
    require('TELEGRAM_WEBHOOK_SECRET', 'required when TELEGRAM_MODE=webhook');
    require('GITHUB_WEBHOOK_SECRET', 'required when TELEGRAM_MODE=webhook');
  }
  const apiRoot = check('TELEGRAM_API_ROOT', httpUrl, 'https://api.telegram.org');
  require('ADMIN_TELEGRAM_IDS', 'required: comma-separated Telegram user ids of the admins');
  const adminIds = check('ADMIN_TELEGRAM_IDS', idList('user'), []);
  const stagingIds = check('STAGING_TELEGRAM_IDS', idList('user'), []);
  const chatId = check('TELEGRAM_CHAT_ID', singleId('chat'), null);
  const allowedChatIds = check('TELEGRAM_ALLOWED_CHAT_IDS', idList('chat'), []);

  const environments = readEnvironments(env, read('DEPLOYBOT_CONFIG') !== undefined, configFile);
  const usesServices = environments.ok ? environments.services !== undefined : environments.usesServices;
  if (!usesServices) require('GITHUB_REPOSITORY', 'required: owner/repo that holds the deploy workflow');
  const repositoryName = check('GITHUB_REPOSITORY', repository, undefined);
  const auth = githubAuth(read, check, problems);
  const apiUrl = check('GITHUB_API_URL', httpUrl, 'https://api.github.com');
  const workflowName = check('DEPLOY_WORKFLOW', workflow, 'deploy.yml');
  const accountSecrets: string[] = [];
  const accounts = readAccountsConfig(read, apiUrl, problems, accountSecrets);

  if (!environments.ok) problems.push(...environments.problems);
  const services = assembleServices(environments, repositoryName, workflowName, problems);
  const primary = primaryOf(services, workflowName);

  const database = check('DATABASE_URL', databaseUrl, './data/deploybot.sqlite');
  const auditLogPath = check('AUDIT_LOG_PATH', filePath, './data/audit.jsonl');
  const auditHmacKey = check('AUDIT_HMAC_KEY', sharedSecret, null);
  const reconcileIntervalSeconds = check('RECONCILE_INTERVAL_SECONDS', positiveInt(5, 3600), 15);
  const port = check('PORT', positiveInt(1, 65535), 8080);
  const host = check('HOST', z.string().regex(/^\S+$/, { error: 'must not contain whitespace' }), '0.0.0.0');
  const publicUrlValue = check('PUBLIC_URL', publicUrl, null);
  const logLevel = check(
    'LOG_LEVEL',
    z.enum(LOG_LEVELS, { error: `must be one of ${LOG_LEVELS.join(', ')}` }),
    'info',
  );

  if (problems.length > 0 || !environments.ok || auth === null) return { ok: false, problems };
  const secrets = secretsOf(read, token, auth, database, [
    webhookSecret,
    githubWebhookSecret,
    auditHmacKey,
    ...accountSecrets,
  ]);
  const config: Config = {
    telegram: { token, mode, webhookSecret, apiRoot, chatId, allowedChatIds },
    access: { adminIds, stagingIds },
    github: { ...primary.github, auth, apiUrl, webhookSecret: githubWebhookSecret },
    environments: primary.environments,
    services,
    accounts,
    databaseUrl: database,
    auditLogPath,
    auditHmacKey,
    reconcileIntervalSeconds,
    port,
    host,
    publicUrl: publicUrlValue,
    logLevel,
    secrets: [...new Set(secrets)],
  };
  return { ok: true, config: deepFreeze(config) };
}

/** Every secret value, for the logger to redact wherever it appears. */
function secretsOf(
  read: (name: string) => string | undefined,
  token: string,
  auth: GitHubAuth,
  database: string,
  shared: ReadonlyArray<string | null>,
): string[] {
  return [
    token,
    // The part after the colon is the secret half of a bot token; it alone is as sensitive.
    token.slice(token.indexOf(':') + 1),
    ...shared,
    auth.kind === 'token' ? auth.token : auth.privateKey,
    // The key as it sat in the env file (literal \n), in case that form is ever logged.
    auth.kind === 'app' ? read('GITHUB_APP_PRIVATE_KEY') : null,
    ...databasePasswords(database),
  ].filter((s): s is string => typeof s === 'string' && s !== '');
}

const APP_VARIABLES = ['GITHUB_APP_ID', 'GITHUB_APP_PRIVATE_KEY', 'GITHUB_APP_INSTALLATION_ID'] as const;

function githubAuth(
  read: (name: string) => string | undefined,
  check: <T>(name: string, schema: z.ZodType<T, string>, fallback: T) => T,
  problems: string[],
): GitHubAuth | null {
  const given = APP_VARIABLES.filter((name) => read(name) !== undefined);
  if (read('GITHUB_TOKEN') !== undefined) {
    if (given.length > 0) {
      problems.push(`GITHUB_TOKEN, ${given.join(', ')}: give one GitHub credential, not both`);
      return null;
    }
    const token = check('GITHUB_TOKEN', opaqueSecret, '');
    return token ? { kind: 'token', token } : null;
  }
  if (given.length === 0) {
    problems.push(
      `GITHUB_TOKEN, GITHUB_APP_ID: required: give GITHUB_TOKEN or all of ${APP_VARIABLES.join(', ')}`,
    );
    return null;
  }
  for (const name of APP_VARIABLES) {
    if (!given.includes(name))
      problems.push(`${name}: required with ${given.join(' and ')} (a GitHub App needs all three)`);
  }
  const appId = check('GITHUB_APP_ID', positiveInt(1, Number.MAX_SAFE_INTEGER), 0);
  const installationId = check('GITHUB_APP_INSTALLATION_ID', positiveInt(1, Number.MAX_SAFE_INTEGER), 0);
  const key = check('GITHUB_APP_PRIVATE_KEY', privateKey, '');
  if (given.length < APP_VARIABLES.length || !appId || !installationId || !key) return null;
  return { kind: 'app', appId, privateKey: key, installationId };
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}

/**
 * Like {@link loadConfig}, but reads the DEPLOYBOT_CONFIG file first (the one I/O step). A file
 * that cannot be read is a problem line, not a throw.
 */
export async function loadConfigFromEnvironment(env: Env): Promise<ConfigResult> {
  const path = env.DEPLOYBOT_CONFIG?.trim();
  if (!path) return loadConfig(env);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'unknown error';
    const base = loadConfig({ ...env, DEPLOYBOT_CONFIG: undefined });
    const problem = `DEPLOYBOT_CONFIG: cannot read ${shown(path)} (${code})`;
    return { ok: false, problems: [...(base.ok ? [] : base.problems), problem] };
  }
  return loadConfig(env, { path, text });
}

/** What `deploybot audit verify` needs, without the rest of the configuration (an auditor has no bot token). */
export type AuditSettings = { path: string; hmacKey: string | null; databaseUrl: string };

/**
 * `AUDIT_LOG_PATH`, `AUDIT_HMAC_KEY` and `DATABASE_URL`, checked like {@link loadConfig} does.
 * Pure; never throws.
 */
export function loadAuditSettings(
  env: Env,
): { ok: true; settings: AuditSettings } | { ok: false; problems: string[] } {
  const problems: string[] = [];
  const check = <T>(name: string, schema: z.ZodType<T, string>, fallback: T): T => {
    const text = env[name]?.trim();
    if (!text) return fallback;
    const result = schema.safeParse(text);
    if (result.success) return result.data;
    for (const issue of result.error.issues) problems.push(`${name}: ${issue.message}`);
    return fallback;
  };
  const settings = {
    path: check('AUDIT_LOG_PATH', filePath, './data/audit.jsonl'),
    hmacKey: check('AUDIT_HMAC_KEY', sharedSecret, null),
    databaseUrl: check('DATABASE_URL', databaseUrl, './data/deploybot.sqlite'),
  };
  return problems.length > 0 ? { ok: false, problems } : { ok: true, settings };
}
