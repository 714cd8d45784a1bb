import type { ChatMessage, FakeTelegram } from './telegram-api.ts';

const INDENT = '      ';

/**
 * One message as a person reads it on a phone: who wrote it, its current visible text (formatting gone,
 * as on screen), its buttons as `[ Confirm ] [ Cancel ]` one row per line, and `(edited 7×)` when the bot
 * edited it. Users' messages start with `you ›` in a private chat and with their first name in a group.
 */
export function renderMessage(msg: ChatMessage): string {
  const who = msg.from_bot
    ? 'bot'
    : msg.chat.type === 'private'
      ? 'you'
      : (msg.from?.first_name ?? 'someone');
  const prefix = `${who} › `.padEnd(INDENT.length);
  const lines = msg.text.split('\n').map((line, i) => (i === 0 ? prefix : INDENT) + line);
  for (const row of msg.reply_markup?.inline_keyboard ?? []) {
    const buttons = row.map((button) => `[ ${button.text}${'url' in button ? ' ↗' : ''} ]`);
    lines.push(INDENT + buttons.join(' '));
  }
  if (msg.edits > 0) lines.push(`${INDENT}(edited ${msg.edits}×)`);
  return lines.map((line) => line.trimEnd()).join('\n');
}

/** The whole chat top to bottom, messages separated by a blank line; `(no messages)` when empty. */
export function renderTranscript(fake: Pick<FakeTelegram, 'messages'>, chatId: number): string {
  const messages = fake.messages(chatId);
  if (messages.length === 0) return '(no messages)';
  return messages.map(renderMessage).join('\n\n');
}
