import { type DestinationStream, type Logger, type LoggerOptions, pino } from 'pino';

export type { Logger } from 'pino';

const CENSOR = '[redacted]';

/** Keys that hold credentials wherever they appear (one level deep and at the top). */
const REDACT_PATHS = [
  'token',
  'authorization',
  'privateKey',
  'secret',
  'password',
  '*.token',
  '*.authorization',
  '*.privateKey',
  '*.secret',
  '*.password',
  'headers.authorization',
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-telegram-bot-api-secret-token"]',
  'headers["x-telegram-bot-api-secret-token"]',
  // Linked GitHub accounts: user tokens, refresh tokens, device codes, and their sealed forms.
  'accessToken',
  'access_token',
  'refreshToken',
  'refresh_token',
  'deviceCode',
  'device_code',
  'tokenSealed',
  'refreshSealed',
  '*.accessToken',
  '*.access_token',
  '*.refreshToken',
  '*.refresh_token',
  '*.deviceCode',
  '*.device_code',
  '*.tokenSealed',
  '*.refreshSealed',
];

/**
 * GitHub's token formats (user-to-server `ghu_`, refresh `ghr_`, OAuth `gho_`, classic `ghp_`,
 * installation `ghs_`, fine-grained `github_pat_`): tokens of linked accounts are not known when the
 * logger is made, so their shape is censored wherever it appears.
 */
const GITHUB_TOKEN_SHAPE = /\b(?:gh[oprsu]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,})/g;

/**
 * A matcher for every form a secret can take in output: as is, and JSON-escaped (a PEM key's
 * newlines become `\n` in a log line). Longest first, in one pass, so neither a secret that contains
 * another nor the text of an earlier replacement is half-replaced.
 */
function secretPattern(secrets: readonly string[]): RegExp | null {
  const forms = new Set<string>();
  for (const secret of secrets) {
    if (secret === '') continue;
    forms.add(secret);
    forms.add(JSON.stringify(secret).slice(1, -1));
  }
  if (forms.size === 0) return null;
  const alternatives = [...forms]
    .sort((a, b) => b.length - a.length)
    .map((form) => form.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
  return new RegExp(alternatives.join('|'), 'g');
}

/**
 * Replaces every occurrence of every secret in `text` with `[redacted]`: for error messages shown
 * to users (a failed Telegram call's URL carries the bot token).
 */
export function redactSecrets(text: string, secrets: readonly string[]): string {
  const pattern = secretPattern(secrets);
  return (pattern ? text.replace(pattern, CENSOR) : text).replace(GITHUB_TOKEN_SHAPE, CENSOR);
}

export type LoggerSettings = {
  level: LoggerOptions['level'];
  /** Values never to appear in a log line (Config.secrets). */
  secrets: readonly string[];
  /** Where lines go; stdout when omitted. */
  destination?: DestinationStream;
};

/**
 * A pino logger that censors known credential keys and, as a last line of defence, every
 * occurrence of any of `secrets`, and anything shaped like a GitHub token, anywhere in the final line
 * (messages, stacks, URLs).
 */
export function createLogger(settings: LoggerSettings): Logger {
  const pattern = secretPattern(settings.secrets);
  const options: LoggerOptions = {
    level: settings.level,
    redact: { paths: REDACT_PATHS, censor: CENSOR },
    hooks: {
      streamWrite: (line) =>
        (pattern ? line.replace(pattern, CENSOR) : line).replace(GITHUB_TOKEN_SHAPE, CENSOR),
    },
  };
  return settings.destination ? pino(options, settings.destination) : pino(options);
}
