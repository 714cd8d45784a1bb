import type { Context } from 'grammy';
import { type PickOutcome, pressPick, startPicker } from '../deploy/pick-deployment.ts';
import type { RequestOutcome } from '../deploy/request-deployment.ts';
import { actorOf } from './actor.ts';
import type { BotDeps } from './bot-deps.ts';
import type { CommandHandler } from './commands/command-input.ts';
import { escapeHtml } from './html.ts';
import { pickKeyboard } from './keyboards.ts';
import { clipToast, pressedMessage } from './pressed-message.ts';

/** `/deploy` alone: the picker's first step, as a message with buttons. */
export const pickerCommand: CommandHandler = async ({ actor, chatId }, deps) => {
  const outcome = startPicker(deps.deploy, actor);
  if (outcome.kind === 'choose') {
    await deps.outbox.send(chatId, escapeHtml(outcome.text), pickKeyboard(deps.callbackKey, outcome.buttons));
  } else if (outcome.kind === 'refused') {
    await deps.outbox.send(chatId, escapeHtml(outcome.message));
  }
};

/**
 * A press of a picker button: the next step replaces the picker's message in place; the last one
 * goes on like a typed `/deploy` (the deployment's own message comes from the outbox).
 */
export async function onPickButton(
  ctx: Context & { callbackQuery: { data: string } },
  deps: BotDeps,
): Promise<void> {
  const message = await pressedMessage(ctx);
  if (!message) return;
  const outcome: PickOutcome = await pressPick(deps.deploy, {
    actor: actorOf(ctx.callbackQuery.from),
    chatId: message.chat.id,
    data: ctx.callbackQuery.data,
    key: deps.callbackKey,
  });
  if (outcome.kind === 'refused') {
    await ctx.answerCallbackQuery({ text: clipToast(outcome.message), show_alert: true });
    return;
  }
  await ctx.answerCallbackQuery();
  if (outcome.kind === 'choose') {
    await ctx
      .editMessageText(escapeHtml(outcome.text), {
        parse_mode: 'HTML',
        reply_markup: pickKeyboard(deps.callbackKey, outcome.buttons),
      })
      .catch(() => {});
    return;
  }
  // The picker has done its job: it says what was picked, and its buttons go (an edit without
  // reply_markup drops them), so it cannot be pressed twice by accident.
  await ctx.editMessageText(escapeHtml(outcome.text), { parse_mode: 'HTML' }).catch(() => {});
  await followRequest(outcome.outcome, message.chat.id, deps);
}

async function followRequest(outcome: RequestOutcome, chatId: number, deps: BotDeps): Promise<void> {
  if (outcome.kind === 'refused') await deps.outbox.send(chatId, escapeHtml(outcome.message));
  if (outcome.kind === 'dispatching') await outcome.dispatch;
}
