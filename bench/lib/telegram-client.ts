import type { Update } from 'grammy/types';
import type { Person } from '../../test/fakes/telegram-updates.ts';
import { buttonData } from '../../test/harness.ts';
import { type Bot, type Fakes, TELEGRAM_SECRET } from './bot.ts';
import { until } from './stats.ts';

/** Speaks to the bot in a process of its own the way Telegram does: updates POSTed to its webhook. */
export function telegramClient(fakes: Fakes, bot: Bot) {
  const post = async (update: Update) => {
    const response = await fetch(`${bot.url}/telegram/webhook`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-telegram-bot-api-secret-token': TELEGRAM_SECRET },
      body: JSON.stringify(update),
    });
    await response.arrayBuffer();
    if (response.status !== 200) throw new Error(`telegram webhook answered ${response.status}`);
  };
  const botMessages = (chatId: number) => fakes.telegram.messages(chatId).filter((m) => m.from_bot);
  return {
    say: (from: Person, text: string, chatId = from.id) =>
      post(fakes.telegram.userMessage(chatId, from, text, chatId < 0 ? 'group' : 'private')),
    press: (from: Person, messageId: number, data: string, chatId = from.id) =>
      post(fakes.telegram.pressButton(chatId, messageId, from, data)),
    botMessages,
    /** Says `/deploy <env>` and waits for the bot's new message about it (with its buttons, if any). */
    deploy: async (from: Person, environment: string, chatId = from.id) => {
      const before = new Set(botMessages(chatId).map((m) => m.message_id));
      await post(
        fakes.telegram.userMessage(chatId, from, `/deploy ${environment}`, chatId < 0 ? 'group' : 'private'),
      );
      return until(
        () => botMessages(chatId).find((m) => !before.has(m.message_id) && m.text.includes(environment)),
        15_000,
        `the bot's message about ${environment}`,
      );
    },
    buttonData,
  };
}
