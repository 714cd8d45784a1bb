import { autoRetry } from '@grammyjs/auto-retry';
import { Bot, GrammyError } from 'grammy';
import { afterEach, describe, expect, it } from 'vitest';
import { type FakeTelegram, startFakeTelegram } from './telegram-api.ts';
import { renderTranscript } from './telegram-transcript.ts';

// The wire format is proved against the real client: if grammY reads the fake's answers as it reads
// Telegram's, the bot under test sees the same results and the same GrammyError fields.
const TOKEN = '424242:grammy-wire-check';
const ALICE = { id: 42, first_name: 'Alice' };
const fakes: FakeTelegram[] = [];

afterEach(async () => {
  await Promise.all(fakes.splice(0).map((fake) => fake.close()));
});

async function botOnFake(token = TOKEN) {
  const fake = await startFakeTelegram({ token: TOKEN, limits: { burst: 2 } });
  fakes.push(fake);
  return { fake, bot: new Bot(token, { client: { apiRoot: fake.url } }) };
}

async function grammyError(promise: Promise<unknown>): Promise<GrammyError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(error instanceof GrammyError)) throw new Error(`expected a GrammyError, got ${String(error)}`);
  return error;
}

describe('grammY against the fake', () => {
  it('sends and edits, with results grammY types as Message', async () => {
    const { fake, bot } = await botOnFake();
    const sent = await bot.api.sendMessage(42, '<b>Deploy</b> to production?', {
      parse_mode: 'HTML',
      reply_markup: { inline_keyboard: [[{ text: 'Confirm', callback_data: 'ok:1' }]] },
    });
    expect(sent.message_id).toBe(1);
    expect(sent.entities).toEqual([{ type: 'bold', offset: 0, length: 6 }]);
    const edited = await bot.api.editMessageText(42, sent.message_id, 'Deploying…');
    expect(edited).toMatchObject({ message_id: 1, text: 'Deploying…' });
    expect(renderTranscript(fake, 42)).toBe('bot › Deploying…\n      (edited 1×)');
  });

  it('surfaces the fake’s errors as GrammyError with its description, error_code and retry_after', async () => {
    const { bot } = await botOnFake();
    const sent = await bot.api.sendMessage(42, 'same');
    const notModified = await grammyError(bot.api.editMessageText(42, sent.message_id, 'same'));
    expect(notModified.error_code).toBe(400);
    expect(notModified.description).toBe(
      'Bad Request: message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message',
    );
    const badHtml = await grammyError(bot.api.sendMessage(42, '1 < 2', { parse_mode: 'HTML' }));
    expect(badHtml.description).toBe(
      'Bad Request: can\'t parse entities: Unsupported start tag "" at byte offset 2',
    );
    const limited = await grammyError(bot.api.sendMessage(42, 'third in a burst of two'));
    expect(limited.error_code).toBe(429);
    expect(limited.parameters.retry_after).toBe(1);
  });

  it('@grammyjs/auto-retry reads the 429 retry_after and waits it out: no violation, every message sent', async () => {
    const { fake, bot } = await botOnFake();
    bot.api.config.use(autoRetry());
    for (const n of [1, 2, 3]) await bot.api.sendMessage(-42, `update ${n}`);
    expect(fake.messages(-42).map((m) => m.text)).toEqual(['update 1', 'update 2', 'update 3']);
    expect(fake.rateLimited).toBe(1);
    expect(fake.retryAfterViolations).toBe(0);
  });

  it('a wrong token is a 401 GrammyError', async () => {
    const { bot } = await botOnFake('424242:revoked');
    const error = await grammyError(bot.api.getMe());
    expect([error.error_code, error.description]).toEqual([401, 'Unauthorized']);
  });

  it('long polling with bot.start(): a command arrives, the bot answers, the button press is answered', async () => {
    const { fake, bot } = await botOnFake();
    bot.command('deploy', (ctx) =>
      ctx.reply(`Deploy <b>${ctx.match}</b>?`, {
        parse_mode: 'HTML',
        reply_markup: { inline_keyboard: [[{ text: 'Confirm', callback_data: 'confirm' }]] },
      }),
    );
    bot.on('callback_query:data', async (ctx) => {
      await ctx.answerCallbackQuery({ text: 'Dispatched' });
      await ctx.editMessageText('Dispatched to production');
    });
    const started = new Promise<void>((resolve) => {
      void bot.start({ timeout: 5, onStart: () => resolve() });
    });
    await started;
    fake.pushUpdate(fake.userMessage(42, ALICE, '/deploy production'));
    await until(() => fake.messages(42).length === 2);
    fake.pushUpdate(fake.pressButton(42, 2, ALICE, 'confirm'));
    await until(() => fake.answeredCallbacks.length === 1 && fake.message(42, 2)?.edits === 1);
    await bot.stop();
    expect(renderTranscript(fake, 42)).toBe(
      ['you › /deploy production', '', 'bot › Dispatched to production', '      (edited 1×)'].join('\n'),
    );
    expect(fake.answeredCallbacks[0]?.text).toBe('Dispatched');
    // bot.stop() aborts its long poll: that must not surface as a 409 conflict.
    expect(fake.calls.filter((c) => c.response.status === 409)).toEqual([]);
  });
});

async function until(done: () => boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!done()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
