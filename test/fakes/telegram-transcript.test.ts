import { afterEach, describe, expect, it } from 'vitest';
import { type FakeTelegram, startFakeTelegram } from './telegram-api.ts';
import { renderMessage, renderTranscript } from './telegram-transcript.ts';

const TOKEN = '999:transcript';
const fakes: FakeTelegram[] = [];

afterEach(async () => {
  await Promise.all(fakes.splice(0).map((fake) => fake.close()));
});

async function start() {
  const fake = await startFakeTelegram({ token: TOKEN, limits: { enabled: false } });
  fakes.push(fake);
  const call = (method: string, params: unknown) =>
    fetch(`${fake.url}/bot${TOKEN}/${method}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(params),
    });
  return { fake, call };
}

describe('renderTranscript', () => {
  it('shows a private chat as a person reads it: plain text, buttons, edit marker', async () => {
    const { fake, call } = await start();
    fake.userMessage(42, { id: 42, first_name: 'Alice' }, '/deploy production');
    await call('sendMessage', {
      chat_id: 42,
      parse_mode: 'HTML',
      text: '<b>production</b> ← <code>abc1234</code>\nFix the login page',
      reply_markup: {
        inline_keyboard: [
          [
            { text: 'Confirm', callback_data: 'c' },
            { text: 'Cancel', callback_data: 'x' },
          ],
          [{ text: 'View run', url: 'https://github.com/o/r/actions/runs/1' }],
        ],
      },
    });
    expect(renderTranscript(fake, 42)).toBe(
      [
        'you › /deploy production',
        '',
        'bot › production ← abc1234',
        '      Fix the login page',
        '      [ Confirm ] [ Cancel ]',
        '      [ View run ↗ ]',
      ].join('\n'),
    );
    for (const text of ['queued', 'in progress', 'succeeded']) {
      await call('editMessageText', { chat_id: 42, message_id: 2, text: `production: ${text}` });
    }
    const bot = fake.message(42, 2);
    expect(bot && renderMessage(bot)).toBe('bot › production: succeeded\n      (edited 3×)');
  });

  it('names the speaker in a group, and says when a chat is empty', async () => {
    const { fake } = await start();
    expect(renderTranscript(fake, -7)).toBe('(no messages)');
    fake.userMessage(-7, { id: 1, first_name: 'Bob' }, '/status');
    fake.userMessage(-7, { id: 2, first_name: 'Carol' }, 'thanks');
    expect(renderTranscript(fake, -7)).toBe('Bob › /status\n\nCarol › thanks');
  });
});
