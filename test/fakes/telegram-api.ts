import type {
  BotCommand,
  Chat,
  InlineKeyboardMarkup,
  Message,
  MessageEntity,
  Update,
  User,
} from 'grammy/types';
import type { FiredFault } from './fault-plan.ts';
import {
  badRequest,
  boolOf,
  chatIdOf,
  commandsKey,
  intOf,
  notModified,
  objOf,
  type Params,
  readCommand,
  readMarkup,
  readScopeKey,
  sameJson,
  strOf,
  TelegramError,
} from './telegram-api-params.ts';
import { type TelegramFaultRequest, TelegramFaults } from './telegram-faults.ts';
import { FloodControl } from './telegram-flood.ts';
import { checkMessageText } from './telegram-html.ts';
import { type Exchange, type Reply, serveBotApi } from './telegram-http.ts';
import { UpdateQueue } from './telegram-update-queue.ts';
import {
  buildChat,
  buildTextMessage,
  type ChatType,
  callbackQueryUpdate,
  messageUpdate,
  type Person,
  toUser,
  UpdateIds,
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
  /**
   * Set when a fault caught the call. `response` is then what the client got: a non-JSON answer
   * (nginx's page) shows as `ok: false` with the status and text, no answer at all as status 0.
   */
  fault?: FiredFault<TelegramFaultRequest>;
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
  /** Fault injection: see fault-plan.ts and telegram-faults.ts. */
  faults: TelegramFaults;
  /** The next call of `method` fails with `error` (the same as `faults.error({ method, … })`). */
  failNext(method: string, error: InjectedError): void;
  close(): Promise<void>;
};

type Handler = (p: Params, exchange: Exchange) => Reply | Promise<Reply>;

const CHAT_ACTIONS = new Set([
  ...['typing', 'upload_photo', 'record_video', 'upload_video', 'record_voice', 'upload_voice'],
  ...['upload_document', 'choose_sticker', 'find_location', 'record_video_note', 'upload_video_note'],
]);

/** The `myCommands` key for a scope and language: `setMyCommands` stores under it. */
export { commandsKey };

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
  const pendingQueries = new Set<string>();
  const answeredCallbacks: FakeTelegram['answeredCallbacks'] = [];
  const myCommands = new Map<string, BotCommand[]>();
  const updates = new UpdateQueue(options.allowHttpWebhook ?? false);
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

  // Flood control: handlers call admit() after the checks the Bot API server makes itself.
  const flood = new FloodControl(limits, now);
  const admit = (chatId: number) => flood.admit(chatId);

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
    setWebhook: (p) => updates.setWebhook(p),
    deleteWebhook: (p) => updates.deleteWebhook(p),
    getWebhookInfo: () => updates.webhookInfo(),
    getUpdates: (p, exchange) => updates.getUpdates(p, exchange),
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

  const faults = new TelegramFaults(Object.keys(handlers), now, (chatId, retryAfter) =>
    flood.noteRetryAfter(chatId, retryAfter),
  );
  const http = await serveBotApi({ token: options.token, now, calls, dispatch, faults });

  return {
    url: http.url,
    calls,
    answeredCallbacks,
    myCommands,
    get webhook() {
      return updates.webhook;
    },
    get rateLimited() {
      return flood.rateLimited;
    },
    get retryAfterViolations() {
      return flood.retryAfterViolations;
    },
    messages: (chatId) => [...(chats.get(chatId)?.messages.values() ?? [])].map((m) => structuredClone(m)),
    message: (chatId, messageId) => {
      const m = chats.get(chatId)?.messages.get(messageId);
      return m && structuredClone(m);
    },
    pushUpdate: (update) => updates.push(update),
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
    faults,
    failNext: (method, error) => {
      const retryAfter = error.retry_after === undefined ? {} : { retryAfter: error.retry_after };
      faults.error({ method, code: error.error_code, description: error.description, ...retryAfter });
    },
    close: async () => {
      // A pending long poll is answered (empty) rather than cut off, as a server shutting down would.
      updates.endPoll();
      await http.close();
    },
  };
}
