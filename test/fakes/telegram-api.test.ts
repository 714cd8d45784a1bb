import { afterEach, describe, expect, it } from 'vitest';
import { type FakeTelegram, type FakeTelegramOptions, startFakeTelegram } from './telegram-api.ts';

const TOKEN = '123456:TEST-token_value';
const ALICE = { id: 42, first_name: 'Alice', username: 'alice' };
const fakes: FakeTelegram[] = [];

async function start(options: Partial<FakeTelegramOptions> = {}): Promise<FakeTelegram> {
  const fake = await startFakeTelegram({ token: TOKEN, ...options });
  fakes.push(fake);
  return fake;
}

type Answer = { status: number; body: Record<string, unknown> & { ok: boolean; result?: unknown } };

async function call(
  fake: FakeTelegram,
  method: string,
  params: unknown = {},
  token = TOKEN,
): Promise<Answer> {
  const res = await fetch(`${fake.url}/bot${token}/${method}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(params),
  });
  return { status: res.status, body: (await res.json()) as Answer['body'] };
}

function expectError(answer: Answer, status: number, description: string): void {
  expect(answer).toEqual({ status, body: { ok: false, error_code: status, description } });
}

const keyboard = (...rows: Array<Array<Record<string, unknown>>>) => ({ inline_keyboard: rows });

afterEach(async () => {
  await Promise.all(fakes.splice(0).map((fake) => fake.close()));
});

describe('requests', () => {
  it('answers a wrong token 401 and an unknown method 404, verbatim', async () => {
    const fake = await start();
    expectError(await call(fake, 'getMe', {}, '123456:wrong'), 401, 'Unauthorized');
    expectError(await call(fake, 'sendPigeon'), 404, 'Not Found');
    const root = await fetch(`${fake.url}/`);
    expect(root.status).toBe(404);
  });

  it('getMe describes the bot, its id taken from the token', async () => {
    const fake = await start({ botUsername: 'ship_it_bot' });
    const { status, body } = await call(fake, 'getMe');
    expect(status).toBe(200);
    expect(body.result).toMatchObject({ id: 123456, is_bot: true, username: 'ship_it_bot' });
  });

  it('accepts method names in any case, urlencoded bodies and query strings, and refuses multipart', async () => {
    const fake = await start();
    expect((await call(fake, 'GETME')).status).toBe(200);
    const form = await fetch(`${fake.url}/bot${TOKEN}/sendMessage`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        chat_id: '7',
        text: 'from a form',
        reply_markup: JSON.stringify(keyboard([{ text: 'Go', callback_data: 'go' }])),
      }),
    });
    expect(form.status).toBe(200);
    expect(fake.messages(7)[0]).toMatchObject({
      text: 'from a form',
      reply_markup: keyboard([{ text: 'Go', callback_data: 'go' }]),
    });
    const query = await fetch(`${fake.url}/bot${TOKEN}/sendMessage?chat_id=7&text=by+query`);
    expect(query.status).toBe(200);
    const multipart = new FormData();
    multipart.set('chat_id', '7');
    multipart.set('text', 'x');
    const refused = await fetch(`${fake.url}/bot${TOKEN}/sendMessage`, { method: 'POST', body: multipart });
    expect(refused.status).toBe(400);
    expect(fake.messages(7).map((m) => m.text)).toEqual(['from a form', 'by query']);
  });

  it('records every call with its parameters and the answer given', async () => {
    const fake = await start();
    await call(fake, 'sendMessage', { chat_id: 5, text: 'hi' });
    await call(fake, 'sendMessage', { chat_id: 5, text: '' });
    expect(fake.calls.map((c) => [c.method, c.response.status])).toEqual([
      ['sendMessage', 200],
      ['sendMessage', 400],
    ]);
    expect(fake.calls[0]?.params).toEqual({ chat_id: 5, text: 'hi' });
  });

  it('failNext injects one failure, then the method works again', async () => {
    const fake = await start();
    fake.failNext('sendMessage', { error_code: 403, description: 'Forbidden: bot was blocked by the user' });
    expectError(
      await call(fake, 'sendMessage', { chat_id: 5, text: 'a' }),
      403,
      'Forbidden: bot was blocked by the user',
    );
    expect((await call(fake, 'sendMessage', { chat_id: 5, text: 'a' })).status).toBe(200);
    fake.failNext('sendMessage', {
      error_code: 429,
      description: 'Too Many Requests: retry after 7',
      retry_after: 7,
    });
    const limited = await call(fake, 'sendMessage', { chat_id: 5, text: 'b' });
    expect(limited.body).toEqual({
      ok: false,
      error_code: 429,
      description: 'Too Many Requests: retry after 7',
      parameters: { retry_after: 7 },
    });
  });
});

describe('sendMessage', () => {
  it('validates chat_id and text with the real descriptions', async () => {
    const fake = await start();
    expectError(await call(fake, 'sendMessage', { text: 'x' }), 400, 'Bad Request: chat_id is empty');
    expectError(await call(fake, 'sendMessage', { chat_id: 5 }), 400, 'Bad Request: message text is empty');
    expectError(
      await call(fake, 'sendMessage', { chat_id: 5, text: '' }),
      400,
      'Bad Request: message text is empty',
    );
    expectError(
      await call(fake, 'sendMessage', { chat_id: 5, text: ' \n ' }),
      400,
      'Bad Request: message text is empty',
    );
    expectError(
      await call(fake, 'sendMessage', { chat_id: '@nobody', text: 'x' }),
      400,
      'Bad Request: chat not found',
    );
  });

  it('returns a realistic Message: bot as sender, chat typed by the sign of its id, ids growing per chat', async () => {
    const fake = await start();
    const first = await call(fake, 'sendMessage', { chat_id: 42, text: 'one' });
    const second = await call(fake, 'sendMessage', { chat_id: 42, text: 'two' });
    const group = await call(fake, 'sendMessage', { chat_id: -100, text: 'hello group' });
    expect(first.body.result).toMatchObject({
      message_id: 1,
      from: { id: 123456, is_bot: true },
      chat: { id: 42, type: 'private' },
      text: 'one',
    });
    expect(typeof (first.body.result as { date: unknown }).date).toBe('number');
    expect(second.body.result).toMatchObject({ message_id: 2 });
    expect(group.body.result).toMatchObject({ message_id: 1, chat: { id: -100, type: 'group' } });
    const supergroup = await call(fake, 'sendMessage', { chat_id: -1001234567890, text: 'hello supergroup' });
    expect(supergroup.body.result).toMatchObject({ chat: { id: -1001234567890, type: 'supergroup' } });
  });

  it('counts the 4096 limit on the visible text after HTML parsing, in UTF-16 code units', async () => {
    const fake = await start();
    const visible = 'x'.repeat(4094);
    const ok = await call(fake, 'sendMessage', {
      chat_id: 1,
      parse_mode: 'HTML',
      text: `<b>${visible}</b>&lt;&gt;`,
    });
    expect(ok.status).toBe(200);
    expect((ok.body.result as { text: string }).text).toHaveLength(4096);
    const long = `<b>${visible}</b>&lt;&gt;!`;
    expectError(
      await call(fake, 'sendMessage', { chat_id: 2, parse_mode: 'HTML', text: long }),
      400,
      'Bad Request: message is too long',
    );
    // An emoji outside the BMP is two code units: 2048 of them fill the message exactly.
    expect((await call(fake, 'sendMessage', { chat_id: 3, text: '🚀'.repeat(2048) })).status).toBe(200);
    expectError(
      await call(fake, 'sendMessage', { chat_id: 3, text: `${'🚀'.repeat(2048)}x` }),
      400,
      'Bad Request: message is too long',
    );
  });

  it('refuses bad HTML with the parser error and the byte offset', async () => {
    const fake = await start();
    const send = (text: string) => call(fake, 'sendMessage', { chat_id: 1, parse_mode: 'HTML', text });
    expectError(
      await send('a <foo>b</foo>'),
      400,
      'Bad Request: can\'t parse entities: Unsupported start tag "foo" at byte offset 2',
    );
    expectError(
      await send('1 < 2'),
      400,
      'Bad Request: can\'t parse entities: Unsupported start tag "" at byte offset 2',
    );
    expectError(
      await send('<b>bold'),
      400,
      'Bad Request: can\'t parse entities: Can\'t find end tag corresponding to start tag "b"',
    );
    expectError(
      await send('bold</b>'),
      400,
      "Bad Request: can't parse entities: Unexpected end tag at byte offset 4",
    );
    expectError(
      await send('main & dev'),
      400,
      'Bad Request: can\'t parse entities: Unescaped "&" at byte offset 5',
    );
    expect(fake.messages(1)).toEqual([]);
  });

  it('stores the visible text and the formatted spans', async () => {
    const fake = await start();
    await call(fake, 'sendMessage', {
      chat_id: 1,
      parse_mode: 'HTML',
      text: '<b>prod</b> ← <a href="https://github.com/o/r/actions/runs/1">run</a> <code>abc1234</code>',
    });
    const [m] = fake.messages(1);
    expect(m?.text).toBe('prod ← run abc1234');
    expect(m?.entities).toEqual([
      { type: 'bold', offset: 0, length: 4 },
      { type: 'text_link', offset: 7, length: 3, url: 'https://github.com/o/r/actions/runs/1' },
      { type: 'code', offset: 11, length: 7 },
    ]);
  });

  it('counts callback_data in bytes: 64 pass, 65 and a 22-character string of 3-byte characters (66) fail', async () => {
    const fake = await start();
    const send = (data: string) =>
      call(fake, 'sendMessage', {
        chat_id: 1,
        text: 't',
        reply_markup: keyboard([{ text: 'B', callback_data: data }]),
      });
    expect((await send('a'.repeat(64))).status).toBe(200);
    expect((await send('€'.repeat(21))).status).toBe(200);
    expectError(await send('a'.repeat(65)), 400, 'Bad Request: BUTTON_DATA_INVALID');
    expectError(await send('€'.repeat(22)), 400, 'Bad Request: BUTTON_DATA_INVALID');
    expectError(await send(''), 400, 'Bad Request: BUTTON_DATA_INVALID');
  });

  it('refuses a button with no action, and keeps only the first action the server reads', async () => {
    const fake = await start();
    expectError(
      await call(fake, 'sendMessage', {
        chat_id: 1,
        text: 't',
        reply_markup: keyboard([{ text: 'Nothing' }]),
      }),
      400,
      "Bad Request: can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard",
    );
    const both = { text: 'Both', url: 'https://example.com/run', callback_data: 'lost' };
    await call(fake, 'sendMessage', { chat_id: 1, text: 't', reply_markup: keyboard([both]) });
    expect(fake.messages(1)[0]?.reply_markup).toEqual(
      keyboard([{ text: 'Both', url: 'https://example.com/run' }]),
    );
  });
});

describe('editing and deleting', () => {
  async function withMessage() {
    // Flood control has its own tests; here it would only count the edits.
    const fake = await start({ limits: { enabled: false } });
    const markup = keyboard([
      { text: 'Confirm', callback_data: 'c' },
      { text: 'Cancel', callback_data: 'x' },
    ]);
    await call(fake, 'sendMessage', {
      chat_id: 9,
      text: '<b>Deploy?</b>',
      parse_mode: 'HTML',
      reply_markup: markup,
    });
    return { fake, markup };
  }

  it('answers "message is not modified" for the same text, entities and markup', async () => {
    const { fake, markup } = await withMessage();
    const same = {
      chat_id: 9,
      message_id: 1,
      text: '<b>Deploy?</b>',
      parse_mode: 'HTML',
      reply_markup: markup,
    };
    expectError(
      await call(fake, 'editMessageText', same),
      400,
      'Bad Request: message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message',
    );
    // Same visible text without the bold entity is a change.
    expect(
      (await call(fake, 'editMessageText', { ...same, parse_mode: undefined, text: 'Deploy?' })).status,
    ).toBe(200);
    expect(fake.message(9, 1)?.edits).toBe(1);
  });

  it('an edit without reply_markup removes the keyboard, and counts edits and texts', async () => {
    const { fake } = await withMessage();
    const edited = await call(fake, 'editMessageText', { chat_id: 9, message_id: 1, text: 'Deploying…' });
    expect(edited.status).toBe(200);
    expect(edited.body.result).toMatchObject({ message_id: 1, text: 'Deploying…' });
    expect(edited.body.result).not.toHaveProperty('reply_markup');
    await call(fake, 'editMessageText', { chat_id: 9, message_id: 1, text: 'Deployed' });
    const m = fake.message(9, 1);
    expect(m?.reply_markup).toBeUndefined();
    expect(m?.edits).toBe(2);
    expect(m?.history).toEqual(['Deploy?', 'Deploying…', 'Deployed']);
  });

  it('refuses edits of missing messages and of users’ messages, with the same checks as sendMessage', async () => {
    const { fake } = await withMessage();
    expectError(
      await call(fake, 'editMessageText', { chat_id: 9, message_id: 99, text: 'x' }),
      400,
      'Bad Request: message to edit not found',
    );
    expectError(
      await call(fake, 'editMessageText', { chat_id: 9, text: 'x' }),
      400,
      'Bad Request: message identifier is not specified',
    );
    expectError(
      await call(fake, 'editMessageText', { chat_id: 9, message_id: 1, text: '' }),
      400,
      'Bad Request: message text is empty',
    );
    fake.userMessage(9, ALICE, 'hello');
    expectError(
      await call(fake, 'editMessageText', { chat_id: 9, message_id: 2, text: 'x' }),
      400,
      "Bad Request: message can't be edited",
    );
  });

  it('editMessageReplyMarkup changes only the keyboard and refuses the same one', async () => {
    const { fake, markup } = await withMessage();
    expectError(
      await call(fake, 'editMessageReplyMarkup', { chat_id: 9, message_id: 1, reply_markup: markup }),
      400,
      'Bad Request: message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message',
    );
    expect((await call(fake, 'editMessageReplyMarkup', { chat_id: 9, message_id: 1 })).status).toBe(200);
    expect(fake.message(9, 1)).toMatchObject({ text: 'Deploy?', edits: 1 });
    expect(fake.message(9, 1)?.reply_markup).toBeUndefined();
    // An empty keyboard is no keyboard, so sending one now changes nothing.
    const empty = { chat_id: 9, message_id: 1, reply_markup: { inline_keyboard: [] } };
    expect((await call(fake, 'editMessageReplyMarkup', empty)).body.description).toMatch(
      /^Bad Request: message is not modified/,
    );
  });

  it('deleteMessage removes the message once', async () => {
    const { fake } = await withMessage();
    expect((await call(fake, 'deleteMessage', { chat_id: 9, message_id: 1 })).body.result).toBe(true);
    expect(fake.messages(9)).toEqual([]);
    expectError(
      await call(fake, 'deleteMessage', { chat_id: 9, message_id: 1 }),
      400,
      'Bad Request: message to delete not found',
    );
  });
});

describe('callbacks and updates', () => {
  it('userMessage stores the message and builds an update with a bot_command entity', async () => {
    const fake = await start();
    const update = fake.userMessage(42, ALICE, '/deploy production main');
    expect(update.message).toMatchObject({
      message_id: 1,
      from: { id: 42, is_bot: false, first_name: 'Alice', username: 'alice' },
      chat: { id: 42, type: 'private' },
      text: '/deploy production main',
      entities: [{ type: 'bot_command', offset: 0, length: 7 }],
    });
    expect(fake.messages(42)).toMatchObject([{ from_bot: false, text: '/deploy production main' }]);
    const inGroup = fake.userMessage(-500, ALICE, 'just chatting', 'supergroup');
    expect(inGroup.message?.chat).toMatchObject({ id: -500, type: 'supergroup' });
    expect(inGroup.message).not.toHaveProperty('entities');
    expect(inGroup.update_id).toBeGreaterThan(update.update_id);
  });

  it('pressButton builds a callback for a bot message, and a query is answered once only', async () => {
    const fake = await start();
    const before = fake.userMessage(42, ALICE, '/deploy production');
    await call(fake, 'sendMessage', {
      chat_id: 42,
      text: 'Sure?',
      reply_markup: keyboard([{ text: 'Yes', callback_data: 'y' }]),
    });
    const press = fake.pressButton(42, 2, ALICE, 'forged-data');
    expect(press.update_id).toBeGreaterThan(before.update_id);
    const query = press.callback_query;
    expect(query).toMatchObject({
      from: { id: 42 },
      data: 'forged-data',
      message: { message_id: 2, text: 'Sure?' },
    });
    expect(() => fake.pressButton(42, 77, ALICE, 'y')).toThrow(/no bot message 77/);
    expect(() => fake.pressButton(42, 1, ALICE, 'y')).toThrow(/no bot message 1/);
    const answer = { callback_query_id: query?.id, text: 'Deploying', show_alert: false };
    expect((await call(fake, 'answerCallbackQuery', answer)).body.result).toBe(true);
    const stale = 'Bad Request: query is too old and response timeout expired or query ID is invalid';
    expectError(await call(fake, 'answerCallbackQuery', answer), 400, stale);
    expectError(await call(fake, 'answerCallbackQuery', { callback_query_id: '123' }), 400, stale);
    expect(fake.answeredCallbacks).toEqual([answer]);
  });

  it('sendChatAction accepts the documented actions only', async () => {
    const fake = await start();
    expect((await call(fake, 'sendChatAction', { chat_id: 1, action: 'typing' })).body.result).toBe(true);
    expectError(
      await call(fake, 'sendChatAction', { chat_id: 1, action: 'dancing' }),
      400,
      'Bad Request: wrong parameter action in request',
    );
  });
});
