import { autoRetry } from '@grammyjs/auto-retry';
import { Bot, type BotError, type Composer, type Context, GrammyError, HttpError } from 'grammy';
import type { Update } from 'grammy/types';
import { AuditError } from '../audit/audit-entry.ts';
import { isPickCallback, isReviewCallback } from '../core/callback-data.ts';
import { hasAnyRole } from '../core/service.ts';
import { auditAs } from '../deploy/deploy-deps.ts';
import { pressButton } from '../deploy/press-button.ts';
import { commandTarget } from '../deploy/service-deps.ts';
import { actorOf } from './actor.ts';
import type { BotDeps } from './bot-deps.ts';
import { cancelCommand } from './commands/cancel-command.ts';
import { type CommandHandler, commandInput } from './commands/command-input.ts';
import { deployCommand } from './commands/deploy-command.ts';
import { helpCommand } from './commands/help-command.ts';
import { historyCommand } from './commands/history-command.ts';
import { linkCommand } from './commands/link-command.ts';
import { lockCommand } from './commands/lock-command.ts';
import { perService } from './commands/per-service.ts';
import { rollbackCommand } from './commands/rollback-command.ts';
import { statusCommand } from './commands/status-command.ts';
import { unlinkCommand } from './commands/unlink-command.ts';
import { unlockCommand } from './commands/unlock-command.ts';
import { whoamiCommand } from './commands/whoami-command.ts';
import { onPickButton, pickerCommand } from './pick-press.ts';
import { pressReply } from './press-reply.ts';
import { pressedMessage } from './pressed-message.ts';
import { onReviewButton } from './review-press.ts';

export type CreateBotOptions = {
  token: string;
  apiRoot: string;
  /** Telegram API failures, for metrics and logs (never includes the token: grammY redacts it). */
  onApiError?: (method: string, code: number | string) => void;
};

/** Commands that need a role; /whoami and /unlink are for anyone. Strangers get one short denial instead. */
const ROLE_COMMANDS: Record<string, CommandHandler> = {
  start: helpCommand,
  help: helpCommand,
  // Alone, /deploy answers with the picker's buttons.
  deploy: (input, deps) =>
    input.words.length === 0 ? pickerCommand(input, deps) : perService(deployCommand)(input, deps),
  status: statusCommand,
  history: perService(historyCommand),
  rollback: perService(rollbackCommand),
  lock: perService(lockCommand),
  unlock: perService(unlockCommand),
  cancel: perService(cancelCommand),
  link: linkCommand,
};

/** What a user reads when a handler failed on the bot's side. */
export const HANDLER_FAILED_TEXT =
  'Something went wrong on the bot’s side; nothing was deployed. Try again, or ask an admin to check the logs.';

/** What a user reads when the audit trail cannot be written: the action is not taken unrecorded. */
export const AUDIT_FAILED_TEXT =
  'The audit trail cannot be written (the bot’s disk may be full), so nothing was done. Ask an admin to check the bot’s disk; try again once it is fixed.';

/** A Bot API call (other than the long poll) that has not answered after this long is given up (ms). */
export const CALL_TIMEOUT_MS = 15_000;

/**
 * The grammY bot with the API plugins and error counting, but no handlers yet: the outbox is built on
 * `bot.api`, and the handlers are built on the outbox. Each call is given up after
 * {@link CALL_TIMEOUT_MS}; auto-retry waits out a 429's `retry_after` up to 10 s and nothing else: a
 * 5xx or a network error comes back at once, so one chat's trouble is retried by the outbox per chat
 * with short waits instead of stalling inside the call with growing ones.
 */
export function createBotClient(options: CreateBotOptions): Bot {
  const bot = new Bot(options.token, { client: { apiRoot: options.apiRoot } });
  bot.api.config.use(async (prev, method, payload, signal) => {
    if (method === 'getUpdates') return prev(method, payload, signal);
    const limited = timeLimited(signal, CALL_TIMEOUT_MS);
    try {
      return await prev(method, payload, limited.signal as unknown as typeof signal);
    } finally {
      limited.done();
    }
  });
  bot.api.config.use(
    autoRetry({
      maxRetryAttempts: 3,
      maxDelaySeconds: 10,
      rethrowInternalServerErrors: true,
      rethrowHttpErrors: true,
    }),
  );
  bot.api.config.use(async (prev, method, payload, signal) => {
    try {
      const result = await prev(method, payload, signal);
      if (!result.ok) options.onApiError?.(method, result.error_code);
      return result;
    } catch (error) {
      options.onApiError?.(method, error instanceof HttpError ? 'network' : 'unknown');
      throw error;
    }
  });
  return bot;
}

/** The part of an abort signal followed here (grammY's polyfill or Node's own). */
type FollowedSignal = {
  aborted: boolean;
  addEventListener: (type: 'abort', listener: () => void) => void;
  removeEventListener: (type: 'abort', listener: () => void) => void;
};

/**
 * A signal that aborts after `ms` or when `given` aborts. grammY may hand over a signal of the
 * abort-controller package (long polling), which `AbortSignal.any` refuses, so it is followed by its
 * event. `done()` stops following it (a long-lived signal must not collect listeners).
 */
function timeLimited(given: FollowedSignal | undefined, ms: number) {
  const controller = new AbortController();
  const abort = () => controller.abort(new Error(`no answer from Telegram in ${ms / 1000} s`));
  const timer = setTimeout(abort, ms);
  if (given?.aborted) abort();
  given?.addEventListener('abort', abort);
  return {
    signal: controller.signal,
    done: () => {
      clearTimeout(timer);
      given?.removeEventListener('abort', abort);
    },
  };
}

/**
 * The Telegram side of the bot. Transport-free: `bot.handleUpdate(update)` does the same whether the
 * update came from the webhook route or from long polling. Before any command runs, an update is
 * de-duplicated by `update_id` (Telegram re-sends updates it thinks were lost) and dropped when it
 * comes from a chat outside `TELEGRAM_ALLOWED_CHAT_IDS`.
 *
 * A handler that throws gets the user the same reply in both transports: grammY's `bot.catch`
 * only runs while long polling (in webhook mode `handleUpdate` rethrows), so the reply comes from an
 * error boundary around every handler instead.
 */
export function installHandlers(
  bot: Bot,
  deps: BotDeps,
  onHandlerError: (error: unknown, update: Update) => void,
): void {
  const { config, store } = deps.deploy;
  // Anyone with a role in any service is no stranger (the global lists or a service's own grants).
  const known = (userId: number) =>
    hasAnyRole(userId, deps.deploy.services.config.services, deps.deploy.services.config.access);
  const replyOnError = (err: BotError<Context>) => {
    onHandlerError(err.error, err.ctx.update);
    const chatId = err.ctx.chat?.id;
    if (chatId !== undefined && !(err.error instanceof GrammyError)) {
      const text = err.error instanceof AuditError ? AUDIT_FAILED_TEXT : HANDLER_FAILED_TEXT;
      deps.outbox.send(chatId, text).catch(() => {});
    }
  };
  bot.catch(replyOnError);

  bot.use(async (ctx, next) => {
    const first = await store.rememberDelivery('telegram', String(ctx.update.update_id), deps.deploy.now());
    if (!first) return;
    const chatId = ctx.chat?.id;
    const allowed = config.telegram.allowedChatIds;
    if (allowed.length > 0 && (chatId === undefined || !allowed.includes(chatId))) return;
    await next();
  });
  const guarded: Composer<Context> = bot.errorBoundary(replyOnError);

  guarded.command('whoami', (ctx) => run(ctx, whoamiCommand, deps));
  // Anyone may forget their own link, also after their role was taken away.
  guarded.command('unlink', (ctx) => run(ctx, unlinkCommand, deps));
  for (const [name, handler] of Object.entries(ROLE_COMMANDS)) {
    guarded.command(name, async (ctx) => {
      if (ctx.from && !known(ctx.from.id)) await denyStranger(ctx, deps, name);
      else await run(ctx, handler, deps);
    });
  }
  guarded.on('callback_query:data', (ctx) => {
    const { data } = ctx.callbackQuery;
    if (isReviewCallback(data)) return onReviewButton(ctx, deps);
    return isPickCallback(data) ? onPickButton(ctx, deps) : onButton(ctx, deps);
  });
  guarded.on('message:text', async (ctx) => {
    const text = ctx.message.text;
    // A message without a sender (Telegram marks some service and anonymous messages so) gets no answer.
    if (!text.startsWith('/') || ctx.chat.type !== 'private' || !ctx.from) return;
    if (!known(ctx.from.id)) {
      await denyStranger(ctx, deps, text.slice(1).split(/[\s@]/, 1)[0] ?? '');
      return;
    }
    await deps.outbox.send(ctx.chat.id, 'Unknown command. /help lists what you can do.');
  });
}

async function run(ctx: Context, handler: CommandHandler, deps: BotDeps): Promise<void> {
  const input = commandInput(ctx);
  if (input) await handler(input, deps);
}

/** A press of an inline button: the use case decides, this answers the press and waits for the dispatch. */
async function onButton(ctx: Context & { callbackQuery: { data: string } }, deps: BotDeps): Promise<void> {
  const actor = actorOf(ctx.callbackQuery.from);
  const message = await pressedMessage(ctx);
  if (!message) return;
  const outcome = await pressButton(deps.deploy, {
    actor,
    chatId: message.chat.id,
    messageId: message.message_id,
    data: ctx.callbackQuery.data,
    key: deps.callbackKey,
  });
  const reply = pressReply(outcome, actor.name, (d) =>
    commandTarget({ service: { name: d.service }, services: deps.deploy.services }, d.environment),
  );
  await ctx.answerCallbackQuery({ text: reply.toast, show_alert: reply.alert });
  if (reply.replaceText) await ctx.editMessageText(reply.replaceText, { parse_mode: 'HTML' }).catch(() => {});
  if (outcome.kind === 'confirmed') await outcome.dispatch;
}

async function denyStranger(ctx: Context, deps: BotDeps, command: string): Promise<void> {
  const user = ctx.from;
  const chatId = ctx.chat?.id;
  if (!user || chatId === undefined) return;
  await auditAs(deps.deploy, actorOf(user), {
    action: `${command.slice(0, 32) || 'command'}_denied`,
    outcome: 'unauthorised',
  });
  await deps.outbox.send(chatId, `Not authorised. Your Telegram id is <code>${user.id}</code>.`);
}
