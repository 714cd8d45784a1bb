import type { IncomingMessage } from 'node:http';
import type { BotCommand, InlineKeyboardMarkup } from 'grammy/types';

/**
 * How the fake Telegram API reads and checks request parameters, keyboards, webhook URLs and
 * commands, with the error descriptions the real Bot API server gives.
 */

/** Request parameters as the body and query string carry them. */
export type Params = Record<string, unknown>;

/** A Bot API error: the status code and description the server answers with. */
export class TelegramError extends Error {
  readonly code: number;
  readonly retryAfter: number | undefined;
  constructor(code: number, description: string, retryAfter?: number) {
    super(description);
    this.code = code;
    this.retryAfter = retryAfter;
  }
}

/** A 400 with Telegram's `Bad Request: …` description. */
export const badRequest = (what: string) => new TelegramError(400, `Bad Request: ${what}`);

const SCOPES_WITH_CHAT = new Set(['chat', 'chat_administrators', 'chat_member']);
const ALL_SCOPES = new Set(['default', 'all_private_chats', 'all_group_chats', 'all_chat_administrators']);

/** The `myCommands` key for a scope and language: `setMyCommands` stores under it. */
export function commandsKey(
  scope?: { type: string; chat_id?: unknown; user_id?: unknown },
  languageCode = '',
): string {
  const s = scope ?? { type: 'default' };
  const normal: Record<string, unknown> = { type: s.type };
  if (s.chat_id !== undefined) normal.chat_id = Number(s.chat_id);
  if (s.user_id !== undefined) normal.user_id = Number(s.user_id);
  return JSON.stringify({ scope: normal, language_code: languageCode });
}

/** The 400 an edit gets when it would change nothing. */
export function notModified(): TelegramError {
  return badRequest(
    'message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message',
  );
}

/** Whether two values serialise alike (`undefined` counts as `null`). */
export function sameJson(a: unknown, b: unknown): boolean {
  return JSON.stringify(a ?? null) === JSON.stringify(b ?? null);
}

// --- reading parameters: JSON bodies carry numbers and objects, urlencoded ones only strings ---

const BODY_LIMIT = 10 * 1024 * 1024;

/** The request body as text, cut at 10 MiB. */
export async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk));
    size += buffer.length;
    if (size > BODY_LIMIT) break;
    chunks.push(buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * The parameters of a request: query string merged with a JSON or urlencoded body.
 * @returns a TelegramError (not thrown) for a body that cannot be read.
 */
export function readParams(
  req: IncomingMessage,
  body: string,
  query: URLSearchParams,
): Params | TelegramError {
  const params: Params = Object.fromEntries(query);
  if (body.trim() === '') return params;
  const type = (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
  if (type === 'application/json') {
    let parsed: unknown;
    try {
      parsed = JSON.parse(body);
    } catch {
      return badRequest("can't parse JSON object");
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      return badRequest("can't parse JSON object");
    }
    return { ...params, ...(parsed as Params) };
  }
  if (type === 'application/x-www-form-urlencoded')
    return { ...params, ...Object.fromEntries(new URLSearchParams(body)) };
  return badRequest(
    `unsupported Content-Type "${type}": the fake Telegram API accepts JSON and urlencoded bodies`,
  );
}

/** An integer parameter, given as a number or as decimal text; `undefined` otherwise. */
export function intOf(p: Params, name: string): number | undefined {
  const value = p[name];
  if (typeof value === 'number' && Number.isInteger(value)) return value;
  if (typeof value === 'string' && /^-?[0-9]+$/.test(value.trim())) return Number(value.trim());
  return undefined;
}

/** A string parameter (numbers as their text); `undefined` otherwise. */
export function strOf(p: Params, name: string): string | undefined {
  const value = p[name];
  return typeof value === 'string' || typeof value === 'number' ? String(value) : undefined;
}

/** A boolean parameter: `true`, `"true"`, `"1"` or `1` are true, anything else false. */
export function boolOf(p: Params, name: string): boolean {
  const value = p[name];
  return value === true || value === 'true' || value === '1' || value === 1;
}

/**
 * An object or array parameter, which urlencoded bodies (and some clients) send as a JSON string.
 * @throws {TelegramError} 400 when the string is not JSON.
 */
export function objOf(p: Params, name: string): Params | unknown[] | undefined {
  let value = p[name];
  if (typeof value === 'string') {
    try {
      value = JSON.parse(value);
    } catch {
      throw badRequest(`can't parse ${name} JSON object`);
    }
  }
  if (typeof value === 'object' && value !== null) return value as Params | unknown[];
  return undefined;
}

/**
 * The `chat_id` parameter.
 * @throws {TelegramError} 400 `chat_id is empty` or `chat not found`, as the server says.
 */
export function chatIdOf(p: Params): number {
  const value = p.chat_id;
  if (value === undefined || value === null || value === '') throw badRequest('chat_id is empty');
  const id = intOf(p, 'chat_id');
  if (id === undefined) throw badRequest('chat not found');
  return id;
}

/**
 * The inline keyboard as Telegram stores it (one action per button), or undefined for none.
 * @throws {TelegramError} 400 with the server's description of what is wrong with it.
 */
export function readMarkup(raw: unknown): InlineKeyboardMarkup | undefined {
  const markup = raw === undefined || raw === null ? undefined : objOf({ reply_markup: raw }, 'reply_markup');
  if (markup === undefined) return undefined;
  if (Array.isArray(markup)) throw badRequest("can't parse reply keyboard markup JSON object");
  // Reply keyboards and force_reply are valid on sendMessage but are not part of the message itself.
  if (!('inline_keyboard' in markup)) {
    if ('keyboard' in markup || 'remove_keyboard' in markup || 'force_reply' in markup) return undefined;
    throw badRequest("can't parse reply keyboard markup JSON object");
  }
  const rows = markup.inline_keyboard;
  if (!Array.isArray(rows) || !rows.every(Array.isArray)) {
    throw badRequest('field "inline_keyboard" of the InlineKeyboardMarkup must be an Array of Arrays');
  }
  // An empty keyboard is no keyboard: Telegram returns none, and "removing" it again is not a change.
  const inline_keyboard = rows.map((row: unknown[]) => row.map(readButton)).filter((row) => row.length > 0);
  if (inline_keyboard.length === 0) return undefined;
  // Trust boundary: each button was checked by readButton above.
  return { inline_keyboard } as unknown as InlineKeyboardMarkup;
}

const OTHER_BUTTON_KINDS = [
  ...['callback_game', 'pay', 'switch_inline_query', 'switch_inline_query_current_chat'],
  ...['switch_inline_query_chosen_chat', 'login_url', 'web_app', 'copy_text'],
];

function readButton(raw: unknown): Record<string, unknown> {
  const fail = (why: string) => badRequest(`can't parse inline keyboard button: ${why}`);
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    throw fail('InlineKeyboardButton must be an Object');
  const b = raw as Params;
  if (!('text' in b)) throw fail('Can\'t find field "text"');
  if (typeof b.text !== 'string') throw fail('Field "text" must be of type String');
  if (b.text.trim() === '') throw badRequest('BUTTON_TEXT_INVALID');
  // The server reads the first action it knows, in this order, and drops the rest.
  if (b.url !== undefined) {
    const url = String(b.url);
    const parsed = URL.canParse(url) ? new URL(url) : undefined;
    if (!parsed || !['http:', 'https:', 'tg:'].includes(parsed.protocol))
      throw badRequest('BUTTON_URL_INVALID');
    return { text: b.text, url };
  }
  if (b.callback_data !== undefined) {
    const data = String(b.callback_data);
    const bytes = Buffer.byteLength(data, 'utf8');
    if (bytes < 1 || bytes > 64) throw badRequest('BUTTON_DATA_INVALID');
    return { text: b.text, callback_data: data };
  }
  const kind = OTHER_BUTTON_KINDS.find((k) => b[k] !== undefined);
  if (kind === undefined) throw fail('Text buttons are unallowed in the inline keyboard');
  return { text: b.text, [kind]: b[kind] };
}

/**
 * Refuses a webhook URL the real server would: not HTTPS, another port than 80/88/443/8443, or a
 * reserved address (`allowHttp` lets a test use plain HTTP on 127.0.0.1).
 * @throws {TelegramError} 400 `bad webhook: …`.
 */
export function checkWebhookUrl(url: string, allowHttp: boolean): void {
  const parsed = URL.canParse(url) ? new URL(url) : undefined;
  const schemes = allowHttp ? ['https:', 'http:'] : ['https:'];
  if (!parsed || !schemes.includes(parsed.protocol)) {
    throw badRequest('bad webhook: An HTTPS URL must be provided for webhook');
  }
  if (allowHttp) return;
  const port = parsed.port === '' ? '443' : parsed.port;
  if (!['80', '88', '443', '8443'].includes(port)) {
    throw badRequest('bad webhook: Webhook can be set up only on ports 80, 88, 443 or 8443');
  }
  const host = parsed.hostname;
  if (/^(127\.|10\.|192\.168\.|169\.254\.|0\.)/.test(host) || host === 'localhost' || host === '[::1]') {
    throw badRequest(`bad webhook: IP address ${host} is reserved`);
  }
}

/**
 * One entry of `setMyCommands`.
 * @throws {TelegramError} 400 `BOT_COMMAND_INVALID` or `BOT_COMMAND_DESCRIPTION_INVALID`.
 */
export function readCommand(raw: unknown): BotCommand {
  const c = typeof raw === 'object' && raw !== null ? (raw as Params) : {};
  const command = typeof c.command === 'string' ? c.command : '';
  const description = typeof c.description === 'string' ? c.description : '';
  if (!/^[a-z0-9_]{1,32}$/.test(command)) throw badRequest('BOT_COMMAND_INVALID');
  if (description.trim().length === 0 || description.length > 256) {
    throw badRequest('BOT_COMMAND_DESCRIPTION_INVALID');
  }
  return { command, description };
}

/**
 * The {@link commandsKey} of a request's `scope` and `language_code`.
 * @throws {TelegramError} 400 on a scope the server cannot parse or does not support.
 */
export function readScopeKey(p: Params): string {
  const raw = objOf(p, 'scope') ?? { type: 'default' };
  const invalid = () => badRequest("can't parse BotCommandScope JSON object");
  if (Array.isArray(raw) || typeof raw.type !== 'string') throw invalid();
  const type = raw.type;
  if (!ALL_SCOPES.has(type) && !SCOPES_WITH_CHAT.has(type))
    throw badRequest(`unsupported bot command scope type "${type}"`);
  const scope: { type: string; chat_id?: unknown; user_id?: unknown } = { type };
  if (SCOPES_WITH_CHAT.has(type)) {
    if (intOf(raw, 'chat_id') === undefined) throw invalid();
    scope.chat_id = raw.chat_id;
  }
  if (type === 'chat_member') {
    if (intOf(raw, 'user_id') === undefined) throw invalid();
    scope.user_id = raw.user_id;
  }
  return commandsKey(scope, strOf(p, 'language_code') ?? '');
}
