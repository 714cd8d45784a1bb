import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type {
  BotCommand,
  Chat,
  InlineKeyboardMarkup,
  Message,
  MessageEntity,
  Update,
  User,
} from 'grammy/types';
import { checkMessageText } from './telegram-html.ts';
import {
  buildChat,
  buildTextMessage,
  type ChatType,
  callbackQueryUpdate,
  messageUpdate,
  type Person,
  toUser,
  UpdateIds,
  updateType,
} from './telegram-updates.ts';

export type FakeTelegramOptions = {
  /** The only token accepted; any other gets 401 like a revoked token. */
  token: string;
  botUsername?: string;
  /**
   * Flood control on sendMessage, editMessageText, editMessageReplyMarkup and deleteMessage, per chat:
   * a bucket of `burst` calls (default 3) refilled at `perChatPerSecond` (default 1), and in groups
   * (negative ids) at most `perGroupPerMinute` (default 20) per rolling minute. `enabled` defaults to true.
   */
  limits?: { perChatPerSecond?: number; burst?: number; perGroupPerMinute?: number; enabled?: boolean };
  /** Clock for rate limits and message dates, in ms. */
  now?: () => number;
  /** Accept http:// webhook URLs on any port (a local test server), which the real API refuses. */
  allowHttpWebhook?: boolean;
  /** Reject a bare `&` in HTML (default true); see `HtmlParseOptions.strictAmpersand`. */
  strictAmpersand?: boolean;
};

export type ApiResponseBody =
  | { ok: true; result: unknown; description?: string }
  | { ok: false; error_code: number; description: string; parameters?: { retry_after: number } };

export type RecordedCall = {
  method: string;
  params: Record<string, unknown>;
  at: number;
  response: { status: number; body: ApiResponseBody };
  /** Set when the client had hung up before the answer (an aborted long poll): nobody read it. */
  clientGone?: true;
};

/** A message as it stands in a chat now. `edits` counts successful edits; `history` every text it had. */
export type ChatMessage = {
  message_id: number;
  chat: Chat;
  from?: User;
  from_bot: boolean;
  date: number;
  edit_date?: number;
  text: string;
  entities: MessageEntity[];
  reply_markup?: InlineKeyboardMarkup;
  edits: number;
  history: string[];
};

export type InjectedError = { error_code: number; description: string; retry_after?: number };
export type WebhookRegistration = { url: string; secret_token?: string; allowed_updates?: string[] };

export type FakeTelegram = {
  url: string;
  calls: RecordedCall[];
  messages(chatId: number): ChatMessage[];
  message(chatId: number, messageId: number): ChatMessage | undefined;
  answeredCallbacks: Array<{ callback_query_id: string; text?: string; show_alert?: boolean }>;
  /** Keyed by `commandsKey(scope, language_code)`. */
  myCommands: Map<string, BotCommand[]>;
  readonly webhook: WebhookRegistration | null;
  /** Calls answered 429 by flood control. */
  readonly rateLimited: number;
  /** Counted calls made to a chat before the `retry_after` it was given had elapsed. */
  readonly retryAfterViolations: number;
  pushUpdate(update: Update): void;
  userMessage(chatId: number, from: Person, text: string, chatType?: ChatType): Update;
  pressButton(chatId: number, messageId: number, from: Person, data: string): Update;
  failNext(method: string, error: InjectedError): void;
  close(): Promise<void>;
};

type Params = Record<string, unknown>;
type Reply = { result: unknown; description?: string };
/** What a handler may know of the HTTP exchange: whether the client hung up (an aborted long poll). */
type Exchange = { onClientGone(callback: () => void): void };
type Handler = (p: Params, exchange: Exchange) => Reply | Promise<Reply>;

class TelegramError extends Error {
  readonly code: number;
  readonly retryAfter: number | undefined;
  constructor(code: number, description: string, retryAfter?: number) {
    super(description);
    this.code = code;
    this.retryAfter = retryAfter;
  }
}
const badRequest = (what: string) => new TelegramError(400, `Bad Request: ${what}`);

const CHAT_ACTIONS = new Set([
  ...['typing', 'upload_photo', 'record_video', 'upload_video', 'record_voice', 'upload_voice'],
  ...['upload_document', 'choose_sticker', 'find_location', 'record_video_note', 'upload_video_note'],
]);
const NOT_DEFAULT_UPDATES = new Set(['chat_member', 'message_reaction', 'message_reaction_count']);
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

/**
 * Starts a fake Telegram Bot API server on 127.0.0.1 (a free port) that answers like the real one: status
 * codes, error descriptions verbatim, flood control with `retry_after`, HTML parsing, "message is not
 * modified", long polling and the webhook/getUpdates conflict. It keeps each chat as a person would see it.
 * Rejects only if the port cannot be opened.
 */
export async function startFakeTelegram(options: FakeTelegramOptions): Promise<FakeTelegram> {
  const now = options.now ?? Date.now;
  const seconds = () => Math.floor(now() / 1000);
  const botId = Number(/^([0-9]+):/.exec(options.token)?.[1] ?? 1);
  const bot: User = {
    id: botId,
    is_bot: true,
    first_name: 'Deploy Bot (test)',
    username: options.botUsername ?? 'deploybot_test_bot',
  };
  const limits = {
    enabled: options.limits?.enabled ?? true,
    perSecond: options.limits?.perChatPerSecond ?? 1,
    burst: options.limits?.burst ?? 3,
    perMinute: options.limits?.perGroupPerMinute ?? 20,
  };
  const ids = new UpdateIds();
  const calls: RecordedCall[] = [];
  const chats = new Map<number, { chat: Chat; nextId: number; messages: Map<number, ChatMessage> }>();
  const injected = new Map<string, InjectedError[]>();
  const pendingQueries = new Set<string>();
  const answeredCallbacks: FakeTelegram['answeredCallbacks'] = [];
  const myCommands = new Map<string, BotCommand[]>();
  const flood = new Map<number, { tokens: number; at: number; minute: number[]; retryUntil: number }>();
  let queue: Update[] = [];
  let allowedUpdates: string[] = [];
  let webhook: (WebhookRegistration & { max_connections: number }) | null = null;
  let poll: { limit: number; settle: (outcome: Reply | TelegramError) => void } | undefined;
  let rateLimited = 0;
  let retryAfterViolations = 0;
  let nextQueryId = 4_000_000_000_000_000;

  const chatState = (chatId: number, type?: ChatType, person?: Person) => {
    let state = chats.get(chatId);
    if (!state) {
      state = { chat: buildChat(chatId, type, person), nextId: 1, messages: new Map() };
      chats.set(chatId, state);
    }
    return state;
  };
  const toMessage = (m: ChatMessage): Message => {
    const msg: Record<string, unknown> = { message_id: m.message_id };
    if (m.from) msg.from = m.from;
    Object.assign(msg, { chat: m.chat, date: m.date });
    if (m.edit_date !== undefined) msg.edit_date = m.edit_date;
    msg.text = m.text;
    if (m.entities.length > 0) msg.entities = m.entities;
    if (m.reply_markup) msg.reply_markup = m.reply_markup;
    // Trust boundary: built field by field in the order the real server sends them.
    return msg as unknown as Message;
  };

  // Flood control: throws the 429 Telegram would answer, or counts the call against the chat. Handlers call
  // it after the checks the Bot API server makes itself: only requests that reach Telegram count.
  const admit = (chatId: number) => {
    if (!limits.enabled) return;
    const t = now();
    let f = flood.get(chatId);
    if (!f) {
      f = { tokens: limits.burst, at: t, minute: [], retryUntil: 0 };
      flood.set(chatId, f);
    }
    if (t < f.retryUntil) retryAfterViolations += 1;
    f.tokens = Math.min(limits.burst, f.tokens + ((t - f.at) * limits.perSecond) / 1000);
    f.at = t;
    f.minute = f.minute.filter((hit) => hit > t - 60_000);
    let waitMs = f.tokens >= 1 ? 0 : ((1 - f.tokens) * 1000) / limits.perSecond;
    const oldest = f.minute[0];
    if (chatId < 0 && f.minute.length >= limits.perMinute && oldest !== undefined) {
      waitMs = Math.max(waitMs, oldest + 60_000 - t);
    }
    if (waitMs > 0) {
      const retryAfter = Math.max(1, Math.ceil(waitMs / 1000));
      f.retryUntil = t + retryAfter * 1000;
      rateLimited += 1;
      throw new TelegramError(429, `Too Many Requests: retry after ${retryAfter}`, retryAfter);
    }
    f.tokens -= 1;
    f.minute.push(t);
  };

  const messageOf = (p: Params, verb: 'edit' | 'delete') => {
    const chatId = chatIdOf(p);
    const messageId = intOf(p, 'message_id');
    if (messageId === undefined) throw badRequest('message identifier is not specified');
    const m = chats.get(chatId)?.messages.get(messageId);
    if (!m) throw badRequest(`message to ${verb} not found`);
    return { chatId, m };
  };
  const prepareText = (p: Params) => {
    const checked = checkMessageText(
      { text: p.text, parse_mode: p.parse_mode, entities: p.entities },
      { strictAmpersand: options.strictAmpersand ?? true },
    );
    if (!checked.ok) throw new TelegramError(400, checked.description);
    return checked;
  };

  const takeUpdates = (limit: number) => {
    const allowed = (u: Update) =>
      allowedUpdates.length === 0
        ? !NOT_DEFAULT_UPDATES.has(updateType(u))
        : allowedUpdates.includes(updateType(u));
    queue = queue.filter(allowed);
    return queue.slice(0, limit);
  };

  const handlers: Record<string, Handler> = {
    getMe: () => ({
      result: {
        ...bot,
        can_join_groups: true,
        can_read_all_group_messages: false,
        supports_inline_queries: false,
      },
    }),
    sendMessage: (p) => {
      const chatId = chatIdOf(p);
      const { text, entities } = prepareText(p);
      const markup = readMarkup(p.reply_markup);
      admit(chatId);
      const state = chatState(chatId);
      const replyParameters = objOf(p, 'reply_parameters');
      const replyTo =
        (Array.isArray(replyParameters) ? undefined : intOf(replyParameters ?? {}, 'message_id')) ??
        intOf(p, 'reply_to_message_id');
      if (replyTo !== undefined && !state.messages.has(replyTo))
        throw badRequest('message to be replied not found');
      const m: ChatMessage = {
        ...{ message_id: state.nextId++, chat: state.chat, from: bot, from_bot: true, date: seconds() },
        ...{ text, entities, edits: 0, history: [text] },
      };
      if (markup) m.reply_markup = markup;
      state.messages.set(m.message_id, m);
      return { result: toMessage(m) };
    },
    editMessageText: (p) => {
      if (p.inline_message_id !== undefined) throw badRequest('MESSAGE_ID_INVALID');
      const { m } = messageOf(p, 'edit');
      const { text, entities } = prepareText(p);
      const markup = readMarkup(p.reply_markup);
      if (!m.from_bot) throw badRequest("message can't be edited");
      admit(m.chat.id);
      const same = text === m.text && sameJson(entities, m.entities) && sameJson(markup, m.reply_markup);
      if (same) throw notModified();
      if (text !== m.text) m.history.push(text);
      Object.assign(m, { text, entities, reply_markup: markup, edits: m.edits + 1, edit_date: seconds() });
      return { result: toMessage(m) };
    },
    editMessageReplyMarkup: (p) => {
      if (p.inline_message_id !== undefined) throw badRequest('MESSAGE_ID_INVALID');
      const { m } = messageOf(p, 'edit');
      const markup = readMarkup(p.reply_markup);
      if (!m.from_bot) throw badRequest("message can't be edited");
      admit(m.chat.id);
      if (sameJson(markup, m.reply_markup)) throw notModified();
      Object.assign(m, { reply_markup: markup, edits: m.edits + 1, edit_date: seconds() });
      return { result: toMessage(m) };
    },
    deleteMessage: (p) => {
      const { chatId, m } = messageOf(p, 'delete');
      admit(chatId);
      chats.get(chatId)?.messages.delete(m.message_id);
      return { result: true };
    },
    answerCallbackQuery: (p) => {
      const id = strOf(p, 'callback_query_id');
      if (id === undefined || !pendingQueries.delete(id)) {
        throw badRequest('query is too old and response timeout expired or query ID is invalid');
      }
      const answer: FakeTelegram['answeredCallbacks'][number] = { callback_query_id: id };
      const text = strOf(p, 'text');
      if (text !== undefined) answer.text = text;
      if (p.show_alert !== undefined) answer.show_alert = boolOf(p, 'show_alert');
      answeredCallbacks.push(answer);
      return { result: true };
    },
    sendChatAction: (p) => {
      chatIdOf(p);
      if (!CHAT_ACTIONS.has(strOf(p, 'action') ?? '')) throw badRequest('wrong parameter action in request');
      return { result: true };
    },
    setWebhook: (p, exchange) => {
      const url = strOf(p, 'url') ?? '';
      // An empty URL removes the webhook, as on the real server.
      if (url === '') return handlers.deleteWebhook?.(p, exchange) ?? { result: true };
      checkWebhookUrl(url, options.allowHttpWebhook ?? false);
      const secret = strOf(p, 'secret_token') ?? '';
      if (secret.length > 256) throw badRequest('secret token is too long');
      if (!/^[A-Za-z0-9_-]*$/.test(secret)) throw badRequest('secret token contains unallowed characters');
      const maxConnections = intOf(p, 'max_connections') ?? webhook?.max_connections ?? 40;
      const next: WebhookRegistration & { max_connections: number } = {
        url,
        max_connections: maxConnections,
      };
      if (secret !== '') next.secret_token = secret;
      const allowed = objOf(p, 'allowed_updates');
      if (Array.isArray(allowed)) allowedUpdates = allowed.map(String);
      if (allowedUpdates.length > 0) next.allowed_updates = [...allowedUpdates];
      if (boolOf(p, 'drop_pending_updates')) queue = [];
      const already = sameJson(next, webhook);
      webhook = next;
      poll?.settle(new TelegramError(409, 'Conflict: terminated by setWebhook request'));
      return { result: true, description: already ? 'Webhook is already set' : 'Webhook was set' };
    },
    deleteWebhook: (p) => {
      if (boolOf(p, 'drop_pending_updates')) queue = [];
      const was = webhook !== null;
      webhook = null;
      return { result: true, description: was ? 'Webhook was deleted' : 'Webhook is already deleted' };
    },
    getWebhookInfo: () => {
      const info: Record<string, unknown> = {
        url: webhook?.url ?? '',
        has_custom_certificate: false,
        pending_update_count: queue.length,
      };
      if (webhook) info.max_connections = webhook.max_connections;
      if (webhook?.allowed_updates) info.allowed_updates = webhook.allowed_updates;
      return { result: info };
    },
    getUpdates: async (p, exchange) => {
      if (webhook) {
        throw new TelegramError(
          409,
          "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first",
        );
      }
      if (poll) {
        // Let a client that aborted its poll (grammY's bot.stop() does, then polls once more) be noticed
        // first: only a poller that is still connected is told it was terminated.
        await new Promise((resolve) => setTimeout(resolve, 50));
        poll?.settle(
          new TelegramError(
            409,
            'Conflict: terminated by other getUpdates request; make sure that only one bot instance is running',
          ),
        );
      }
      const offset = intOf(p, 'offset') ?? 0;
      if (offset > 0) queue = queue.filter((u) => u.update_id >= offset);
      if (offset < 0) queue = queue.slice(offset);
      const allowed = objOf(p, 'allowed_updates');
      if (Array.isArray(allowed)) allowedUpdates = allowed.map(String);
      const limit = Math.min(100, Math.max(1, intOf(p, 'limit') ?? 100));
      const timeout = Math.min(50, Math.max(0, intOf(p, 'timeout') ?? 0));
      const ready = takeUpdates(limit);
      if (ready.length > 0 || timeout === 0) return { result: ready };
      return new Promise<Reply>((resolve, reject) => {
        const timer = setTimeout(() => current.settle({ result: [] }), timeout * 1000);
        const current = {
          limit,
          settle: (outcome: Reply | TelegramError) => {
            clearTimeout(timer);
            if (poll === current) poll = undefined;
            if (outcome instanceof TelegramError) reject(outcome);
            else resolve(outcome);
          },
        };
        poll = current;
        exchange.onClientGone(() => current.settle({ result: [] }));
      });
    },
    setMyCommands: (p) => {
      const commands = objOf(p, 'commands');
      if (!Array.isArray(commands)) throw badRequest('parameter "commands" is required');
      const checked = commands.map(readCommand);
      const key = readScopeKey(p);
      if (checked.length === 0) myCommands.delete(key);
      else myCommands.set(key, checked);
      return { result: true };
    },
    deleteMyCommands: (p) => {
      myCommands.delete(readScopeKey(p));
      return { result: true };
    },
    getMyCommands: (p) => ({ result: myCommands.get(readScopeKey(p)) ?? [] }),
  };
  const canonical = new Map(Object.keys(handlers).map((name) => [name.toLowerCase(), name]));

  const dispatch = async (
    raw: string,
    p: Params,
    exchange: Exchange,
  ): Promise<{ method: string; body: ApiResponseBody }> => {
    const method = canonical.get(raw.toLowerCase());
    const handler = method === undefined ? undefined : handlers[method];
    if (method === undefined || handler === undefined) {
      return { method: raw, body: { ok: false, error_code: 404, description: 'Not Found' } };
    }
    try {
      const failure = injected.get(method)?.shift();
      if (failure) {
        const chatId = intOf(p, 'chat_id');
        const f = chatId === undefined ? undefined : flood.get(chatId);
        if (f && failure.retry_after !== undefined) f.retryUntil = now() + failure.retry_after * 1000;
        throw new TelegramError(failure.error_code, failure.description, failure.retry_after);
      }
      const reply = await handler(p, exchange);
      const body: ApiResponseBody = { ok: true, result: reply.result };
      if (reply.description !== undefined) body.description = reply.description;
      return { method, body };
    } catch (error) {
      if (!(error instanceof TelegramError)) throw error;
      const body: ApiResponseBody = { ok: false, error_code: error.code, description: error.message };
      if (error.retryAfter !== undefined) body.parameters = { retry_after: error.retryAfter };
      return { method, body };
    }
  };

  const serve = async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://fake.invalid');
    const match = /^\/bot([^/]*)\/([^/]+)$/.exec(url.pathname);
    let method = match?.[2] ?? url.pathname;
    let params: Params = {};
    let body: ApiResponseBody;
    if (!match) body = { ok: false, error_code: 404, description: 'Not Found' };
    else if (match[1] !== options.token) body = { ok: false, error_code: 401, description: 'Unauthorized' };
    else {
      const read = readParams(req, await readBody(req), url.searchParams);
      if (read instanceof TelegramError)
        body = { ok: false, error_code: read.code, description: read.message };
      else {
        params = read;
        const gone: Array<() => void> = [];
        res.on('close', () => {
          if (!res.writableEnded) for (const callback of gone) callback();
        });
        const exchange: Exchange = {
          onClientGone: (callback) => (res.destroyed ? callback() : gone.push(callback)),
        };
        const pending = dispatch(method, params, exchange);
        ({ method, body } = await pending);
      }
    }
    const status = body.ok ? 200 : body.error_code;
    const call: RecordedCall = { method, params, at: now(), response: { status, body } };
    if (res.destroyed) call.clientGone = true;
    calls.push(call);
    if (res.destroyed) return;
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  };

  const inflight = new Set<Promise<void>>();
  const server = createServer((req, res) => {
    // A bug in the fake shows up as a 500 with its message, never as a hung test.
    const served = serve(req, res).catch((error: unknown) => {
      if (res.headersSent || res.destroyed) return void res.destroy();
      const description = `Internal Server Error (bug in the fake): ${String(error)}`;
      res.writeHead(500, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ ok: false, error_code: 500, description }));
    });
    inflight.add(served);
    void served.then(() => inflight.delete(served));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    calls,
    answeredCallbacks,
    myCommands,
    get webhook() {
      if (!webhook) return null;
      const { max_connections: _, ...registration } = webhook;
      return registration;
    },
    get rateLimited() {
      return rateLimited;
    },
    get retryAfterViolations() {
      return retryAfterViolations;
    },
    messages: (chatId) => [...(chats.get(chatId)?.messages.values() ?? [])].map((m) => structuredClone(m)),
    message: (chatId, messageId) => {
      const m = chats.get(chatId)?.messages.get(messageId);
      return m && structuredClone(m);
    },
    pushUpdate: (update) => {
      queue.push(update);
      if (poll) {
        const ready = takeUpdates(poll.limit);
        if (ready.length > 0) poll.settle({ result: ready });
      }
    },
    userMessage: (chatId, from, text, chatType) => {
      const state = chatState(chatId, chatType, from);
      const message = buildTextMessage({
        messageId: state.nextId++,
        chat: state.chat,
        from,
        text,
        date: seconds(),
      });
      const m: ChatMessage = {
        ...{ message_id: message.message_id, chat: state.chat, from: toUser(from), from_bot: false },
        ...{ date: message.date, text, entities: message.entities ?? [], edits: 0, history: [text] },
      };
      state.messages.set(m.message_id, m);
      return messageUpdate(ids.next(), message);
    },
    pressButton: (chatId, messageId, from, data) => {
      const m = chats.get(chatId)?.messages.get(messageId);
      if (!m?.from_bot) {
        const have = [...(chats.get(chatId)?.messages.keys() ?? [])].join(', ') || 'none';
        throw new Error(`pressButton: chat ${chatId} has no bot message ${messageId} (messages: ${have})`);
      }
      const queryId = String(nextQueryId++);
      pendingQueries.add(queryId);
      return callbackQueryUpdate(ids.next(), { queryId, from, data, message: toMessage(m) });
    },
    failNext: (method, error) => {
      injected.set(method, [...(injected.get(method) ?? []), error]);
    },
    close: async () => {
      // A pending long poll is answered (empty) rather than cut off, as a server shutting down would.
      poll?.settle({ result: [] });
      await Promise.allSettled([...inflight]);
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}

function notModified(): TelegramError {
  return badRequest(
    'message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message',
  );
}

function sameJson(a: unknown, b: unknown): boolean {
  return JSON.stringify(a ?? null) === JSON.stringify(b ?? null);
}

// --- reading parameters: JSON bodies carry numbers and objects, urlencoded ones only strings ---

const BODY_LIMIT = 10 * 1024 * 1024;

async function readBody(req: IncomingMessage): Promise<string> {
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

function readParams(req: IncomingMessage, body: string, query: URLSearchParams): Params | TelegramError {
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

function intOf(p: Params, name: string): number | undefined {
  const value = p[name];
  if (typeof value === 'number' && Number.isInteger(value)) return value;
  if (typeof value === 'string' && /^-?[0-9]+$/.test(value.trim())) return Number(value.trim());
  return undefined;
}

function strOf(p: Params, name: string): string | undefined {
  const value = p[name];
  return typeof value === 'string' || typeof value === 'number' ? String(value) : undefined;
}

function boolOf(p: Params, name: string): boolean {
  const value = p[name];
  return value === true || value === 'true' || value === '1' || value === 1;
}

/** An object or array parameter, which urlencoded bodies (and some clients) send as a JSON string. */
function objOf(p: Params, name: string): Params | unknown[] | undefined {
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

function chatIdOf(p: Params): number {
  const value = p.chat_id;
  if (value === undefined || value === null || value === '') throw badRequest('chat_id is empty');
  const id = intOf(p, 'chat_id');
  if (id === undefined) throw badRequest('chat not found');
  return id;
}

/** The inline keyboard as Telegram stores it (one action per button), or undefined for none. */
function readMarkup(raw: unknown): InlineKeyboardMarkup | undefined {
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

function checkWebhookUrl(url: string, allowHttp: boolean): void {
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

function readCommand(raw: unknown): BotCommand {
  const c = typeof raw === 'object' && raw !== null ? (raw as Params) : {};
  const command = typeof c.command === 'string' ? c.command : '';
  const description = typeof c.description === 'string' ? c.description : '';
  if (!/^[a-z0-9_]{1,32}$/.test(command)) throw badRequest('BOT_COMMAND_INVALID');
  if (description.trim().length === 0 || description.length > 256) {
    throw badRequest('BOT_COMMAND_DESCRIPTION_INVALID');
  }
  return { command, description };
}

function readScopeKey(p: Params): string {
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
