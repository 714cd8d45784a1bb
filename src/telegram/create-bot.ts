import { autoRetry } from '@grammyjs/auto-retry';
import { Bot, type Context, GrammyError, HttpError } from 'grammy';
import type { Update } from 'grammy/types';
import { rolesOf } from '../core/roles.ts';
import { auditRecord } from '../deploy/deploy-deps.ts';
import { dispatchDeployment } from '../deploy/dispatch-deployment.ts';
import { pressButton } from '../deploy/press-button.ts';
import { actorOf } from './actor.ts';
import type { BotDeps } from './bot-deps.ts';
import { cancelCommand } from './commands/cancel-command.ts';
import { deployCommand } from './commands/deploy-command.ts';
import { helpCommand } from './commands/help-command.ts';
import { historyCommand } from './commands/history-command.ts';
import { lockCommand } from './commands/lock-command.ts';
import { rollbackCommand } from './commands/rollback-command.ts';
import { statusCommand } from './commands/status-command.ts';
import { unlockCommand } from './commands/unlock-command.ts';
import { whoamiCommand } from './commands/whoami-command.ts';
import { escapeHtml } from './html.ts';

export type CreateBotOptions = {
  token: string;
  apiRoot: string;
  /** Telegram API failures, for metrics and logs (never includes the token: grammY redacts it). */
  onApiError?: (method: string, code: number | string) => void;
  onHandlerError?: (error: unknown, update: Update) => void;
};

type Handler = (ctx: Context, deps: BotDeps) => Promise<void>;

/** Commands that need a role; /whoami is for anyone. Strangers get one short denial instead. */
const ROLE_COMMANDS: Record<string, Handler> = {
  start: helpCommand,
  help: helpCommand,
  deploy: deployCommand,
  status: statusCommand,
  history: historyCommand,
  rollback: rollbackCommand,
  lock: lockCommand,
  unlock: unlockCommand,
  cancel: cancelCommand,
};

/**
 * The grammY bot with the API plugins (auto-retry honours 429 `retry_after`) and error counting, but
 * no handlers yet: the outbox needs `bot.api` before the handlers, which need the outbox, exist.
 */
export function createBotClient(options: CreateBotOptions): Bot {
  const bot = new Bot(options.token, { client: { apiRoot: options.apiRoot } });
  bot.api.config.use(autoRetry({ maxRetryAttempts: 3, maxDelaySeconds: 60 }));
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
  bot.catch((err) => options.onHandlerError?.(err.error, err.ctx.update));
  return bot;
}

/**
 * The Telegram side of the bot. Transport-free: `bot.handleUpdate(update)` does the same whether the
 * update came from the webhook route or from long polling. Before any command runs, an update is
 * de-duplicated by `update_id` (Telegram re-sends updates it thinks were lost) and dropped when it
 * comes from a chat outside `TELEGRAM_ALLOWED_CHAT_IDS`.
 */
export function installHandlers(
  bot: Bot,
  deps: BotDeps,
  onHandlerError?: CreateBotOptions['onHandlerError'],
): void {
  const { config, store } = deps.deploy;

  bot.use(async (ctx, next) => {
    const first = await store.rememberDelivery('telegram', String(ctx.update.update_id), deps.deploy.now());
    if (!first) return;
    const chatId = ctx.chat?.id;
    const allowed = config.telegram.allowedChatIds;
    if (allowed.length > 0 && (chatId === undefined || !allowed.includes(chatId))) return;
    await next();
  });

  bot.command('whoami', (ctx) => whoamiCommand(ctx, deps));
  for (const [name, handler] of Object.entries(ROLE_COMMANDS)) {
    bot.command(name, async (ctx) => {
      const user = ctx.from;
      if (!user) return;
      if (rolesOf(user.id, config.access).length === 0) {
        await denyStranger(ctx, deps, name);
        return;
      }
      await handler(ctx, deps);
    });
  }

  bot.on('callback_query:data', async (ctx) => {
    const actor = actorOf(ctx.from);
    const message = ctx.callbackQuery.message;
    if (!message) {
      await ctx.answerCallbackQuery({ text: 'This button does not belong here.' });
      return;
    }
    const outcome = await pressButton(deps.deploy, {
      actor,
      chatId: message.chat.id,
      messageId: message.message_id,
      data: ctx.callbackQuery.data,
      key: deps.callbackKey,
    });
    if (outcome.kind === 'refused') {
      await ctx.answerCallbackQuery({ text: outcome.message, show_alert: outcome.reason !== 'used' });
      return;
    }
    if (outcome.kind === 'cancelled') {
      await ctx.answerCallbackQuery({ text: 'Cancelled.' });
      return;
    }
    if (outcome.kind === 'kept' || outcome.kind === 'run_cancel') {
      const { result, text } =
        outcome.kind === 'kept'
          ? { result: null, text: `↩️ Kept running (${escapeHtml(actorOf(ctx.from).name)}).` }
          : outcome.result.kind === 'cancelling'
            ? {
                result: outcome.result,
                text: `⛔ ${escapeHtml(actorOf(ctx.from).name)} asked GitHub to cancel the run of <code>${outcome.deployment.sha.slice(0, 7)}</code> to <b>${escapeHtml(outcome.deployment.environment)}</b>. Its message shows when the run has stopped.`,
              }
            : { result: outcome.result, text: escapeHtml(outcome.result.message) };
      await ctx.answerCallbackQuery({
        text:
          result === null ? 'Kept running.' : result.kind === 'cancelling' ? 'Cancelling…' : result.message,
        show_alert: result?.kind === 'failed',
      });
      // The /cancel confirmation is a message of its own: replace its buttons with what happened.
      await ctx.editMessageText(text, { parse_mode: 'HTML' }).catch(() => {});
      return;
    }
    await ctx.answerCallbackQuery({ text: 'Dispatching…' });
    await dispatchDeployment(deps.deploy, outcome.deployment.id);
  });

  bot.on('message:text', async (ctx) => {
    const text = ctx.message.text;
    if (!text.startsWith('/') || ctx.chat.type !== 'private') return;
    if (rolesOf(ctx.from.id, config.access).length === 0) {
      await denyStranger(ctx, deps, text.slice(1).split(/[\s@]/, 1)[0] ?? '');
      return;
    }
    await deps.outbox.send(ctx.chat.id, 'Unknown command. /help lists what you can do.');
  });

  bot.catch((err) => {
    onHandlerError?.(err.error, err.ctx.update);
    const chatId = err.ctx.chat?.id;
    if (chatId !== undefined && !(err.error instanceof GrammyError)) {
      deps.outbox
        .send(
          chatId,
          'Something went wrong on the bot’s side; nothing was deployed. Try again, or ask an admin to check the logs.',
        )
        .catch(() => {});
    }
  });
}

async function denyStranger(ctx: Context, deps: BotDeps, command: string): Promise<void> {
  const user = ctx.from;
  const chatId = ctx.chat?.id;
  if (!user || chatId === undefined) return;
  const actor = actorOf(user);
  await deps.deploy.audit.append(
    auditRecord({
      actor_id: actor.id,
      actor_name: actor.name,
      action: `${command.slice(0, 32) || 'command'}_denied`,
      outcome: 'unauthorised',
    }),
  );
  await deps.outbox.send(chatId, `Not authorised. Your Telegram id is <code>${user.id}</code>.`);
}
