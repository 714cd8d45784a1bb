import { afterEach, describe, expect, it } from 'vitest';
import {
  commandsKey,
  type FakeTelegram,
  type FakeTelegramOptions,
  startFakeTelegram,
} from './telegram-api.ts';
import {
  buildChat,
  buildTextMessage,
  callbackQueryUpdate,
  channelPostUpdate,
  editedMessageUpdate,
  messageUpdate,
  stickerMessageUpdate,
  UpdateIds,
  updateType,
} from './telegram-updates.ts';

const TOKEN = '555:updates';
const ALICE = { id: 42, first_name: 'Alice' };
const fakes: FakeTelegram[] = [];

afterEach(async () => {
  await Promise.all(fakes.splice(0).map((fake) => fake.close()));
});

async function start(options: Partial<FakeTelegramOptions> = {}) {
  const fake = await startFakeTelegram({ token: TOKEN, ...options });
  fakes.push(fake);
  const call = async (method: string, params: unknown = {}) => {
    const res = await fetch(`${fake.url}/bot${TOKEN}/${method}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(params),
    });
    return {
      status: res.status,
      body: (await res.json()) as { ok: boolean; result?: unknown; description?: string },
    };
  };
  return { fake, call };
}

const ids = (result: unknown) => (result as Array<{ update_id: number }>).map((u) => u.update_id);

describe('getUpdates', () => {
  it('returns queued updates until an offset confirms them, honouring limit', async () => {
    const { fake, call } = await start();
    const updates = [1, 2, 3].map((n) => fake.userMessage(42, ALICE, `message ${n}`));
    for (const update of updates) fake.pushUpdate(update);
    const [a, b, c] = updates.map((u) => u.update_id);
    expect(ids((await call('getUpdates', { limit: 2 })).body.result)).toEqual([a, b]);
    expect(ids((await call('getUpdates')).body.result)).toEqual([a, b, c]);
    expect(ids((await call('getUpdates', { offset: (b ?? 0) + 1 })).body.result)).toEqual([c]);
    expect(ids((await call('getUpdates')).body.result)).toEqual([c]);
  });

  it('long polling answers as soon as an update is pushed', async () => {
    const { fake, call } = await start();
    const started = Date.now();
    const pending = call('getUpdates', { timeout: 30 });
    await new Promise((resolve) => setTimeout(resolve, 100));
    const update = fake.userMessage(42, ALICE, '/status');
    fake.pushUpdate(update);
    const answer = await pending;
    expect(ids(answer.body.result)).toEqual([update.update_id]);
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('long polling answers an empty list when the timeout passes, and close() ends a pending poll', async () => {
    const { fake, call } = await start();
    expect((await call('getUpdates', { timeout: 1 })).body.result).toEqual([]);
    const pending = call('getUpdates', { timeout: 30 });
    await new Promise((resolve) => setTimeout(resolve, 100));
    const started = Date.now();
    await fake.close();
    expect((await pending).body.result).toEqual([]);
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('a second poller terminates the first with 409', async () => {
    const { fake, call } = await start();
    const first = call('getUpdates', { timeout: 30 });
    await new Promise((resolve) => setTimeout(resolve, 100));
    const second = call('getUpdates', { timeout: 30 });
    expect(await first).toEqual({
      status: 409,
      body: {
        ok: false,
        error_code: 409,
        description:
          'Conflict: terminated by other getUpdates request; make sure that only one bot instance is running',
      },
    });
    const update = fake.userMessage(42, ALICE, 'hi');
    fake.pushUpdate(update);
    expect(ids((await second).body.result)).toEqual([update.update_id]);
  });

  it('delivers only the allowed update types, by default all but chat_member and reactions', async () => {
    const { fake, call } = await start();
    const message = fake.userMessage(42, ALICE, 'hi');
    const member = { update_id: message.update_id + 1, chat_member: {} } as never;
    fake.pushUpdate(member);
    fake.pushUpdate(message);
    expect(ids((await call('getUpdates')).body.result)).toEqual([message.update_id]);
    const press = fake.userMessage(42, ALICE, 'again');
    fake.pushUpdate(press);
    expect(ids((await call('getUpdates', { allowed_updates: ['callback_query'] })).body.result)).toEqual([]);
  });
});

describe('webhook', () => {
  it('refuses http URLs, odd ports and bad secret tokens with the real descriptions', async () => {
    const { call } = await start();
    const refused = async (params: Record<string, unknown>) =>
      (await call('setWebhook', params)).body.description;
    expect(await refused({ url: 'http://bot.example.com/telegram/webhook' })).toBe(
      'Bad Request: bad webhook: An HTTPS URL must be provided for webhook',
    );
    expect(await refused({ url: 'https://bot.example.com:9000/hook' })).toBe(
      'Bad Request: bad webhook: Webhook can be set up only on ports 80, 88, 443 or 8443',
    );
    expect(await refused({ url: 'https://bot.example.com/hook', secret_token: 'abc+/=' })).toBe(
      'Bad Request: secret token contains unallowed characters',
    );
    expect(await refused({ url: 'https://bot.example.com/hook', secret_token: 'a'.repeat(257) })).toBe(
      'Bad Request: secret token is too long',
    );
  });

  it('while a webhook is set, getUpdates answers 409; deleteWebhook lifts it', async () => {
    const { fake, call } = await start();
    const set = await call('setWebhook', {
      url: 'https://bot.example.com/telegram/webhook',
      secret_token: 'A-z_09',
      allowed_updates: ['message', 'callback_query'],
    });
    expect(set.body).toEqual({ ok: true, result: true, description: 'Webhook was set' });
    expect(fake.webhook).toEqual({
      url: 'https://bot.example.com/telegram/webhook',
      secret_token: 'A-z_09',
      allowed_updates: ['message', 'callback_query'],
    });
    expect((await call('getWebhookInfo')).body.result).toMatchObject({
      url: 'https://bot.example.com/telegram/webhook',
      pending_update_count: 0,
      allowed_updates: ['message', 'callback_query'],
    });
    expect(await call('getUpdates')).toEqual({
      status: 409,
      body: {
        ok: false,
        error_code: 409,
        description:
          "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first",
      },
    });
    expect((await call('deleteWebhook')).body.description).toBe('Webhook was deleted');
    expect(fake.webhook).toBeNull();
    expect((await call('getUpdates')).status).toBe(200);
  });

  it('setWebhook terminates a pending long poll, and allowHttpWebhook admits a local URL', async () => {
    const { fake, call } = await start({ allowHttpWebhook: true });
    const poll = call('getUpdates', { timeout: 30 });
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect((await call('setWebhook', { url: 'http://127.0.0.1:8080/telegram/webhook' })).status).toBe(200);
    expect((await poll).body.description).toBe('Conflict: terminated by setWebhook request');
    expect(fake.webhook?.url).toBe('http://127.0.0.1:8080/telegram/webhook');
  });
});

describe('bot commands', () => {
  it('stores commands per scope and language, and validates names and descriptions', async () => {
    const { fake, call } = await start();
    const commands = [
      { command: 'deploy', description: 'Deploy an environment' },
      { command: 'status', description: 'What runs where' },
    ];
    expect((await call('setMyCommands', { commands })).body.result).toBe(true);
    const adminScope = { type: 'chat_member', chat_id: -100, user_id: 42 };
    await call('setMyCommands', { commands: commands.slice(0, 1), scope: adminScope, language_code: 'de' });
    expect(fake.myCommands.get(commandsKey())).toEqual(commands);
    expect(fake.myCommands.get(commandsKey(adminScope, 'de'))).toEqual(commands.slice(0, 1));
    expect((await call('getMyCommands', { scope: adminScope, language_code: 'de' })).body.result).toEqual(
      commands.slice(0, 1),
    );
    const refused = async (params: Record<string, unknown>) =>
      (await call('setMyCommands', params)).body.description;
    expect(await refused({ commands: [{ command: 'Deploy', description: 'x' }] })).toBe(
      'Bad Request: BOT_COMMAND_INVALID',
    );
    expect(await refused({ commands: [{ command: 'a'.repeat(33), description: 'x' }] })).toBe(
      'Bad Request: BOT_COMMAND_INVALID',
    );
    expect(await refused({ commands: [{ command: 'deploy', description: '' }] })).toBe(
      'Bad Request: BOT_COMMAND_DESCRIPTION_INVALID',
    );
    expect(await refused({ commands, scope: { type: 'chat_member', chat_id: -100 } })).toBe(
      "Bad Request: can't parse BotCommandScope JSON object",
    );
    expect((await call('deleteMyCommands')).body.result).toBe(true);
    expect(fake.myCommands.has(commandsKey())).toBe(false);
  });
});

describe('update builders', () => {
  it('build the odd updates a bot must survive', () => {
    const ids = new UpdateIds(10);
    const chat = buildChat(-1001, 'supergroup');
    const message = buildTextMessage({
      messageId: 5,
      chat,
      text: '/deploy@deploybot_test_bot staging',
      date: 1,
    });
    expect(message).not.toHaveProperty('from');
    expect(message.entities).toEqual([{ type: 'bot_command', offset: 0, length: 26 }]);
    const updates = [
      messageUpdate(ids.next(), message),
      editedMessageUpdate(ids.next(), message, 2),
      channelPostUpdate(ids.next(), {
        messageId: 6,
        chat: buildChat(-1002, 'channel'),
        text: 'post',
        date: 1,
      }),
      stickerMessageUpdate(ids.next(), { messageId: 7, chat, from: ALICE, date: 1 }),
      callbackQueryUpdate(ids.next(), { queryId: 'q', from: ALICE, data: 'd', inlineMessageId: 'inline-1' }),
    ];
    expect(updates.map((u) => [u.update_id, updateType(u)])).toEqual([
      [10, 'message'],
      [11, 'edited_message'],
      [12, 'channel_post'],
      [13, 'message'],
      [14, 'callback_query'],
    ]);
    expect(updates[1]?.edited_message?.edit_date).toBe(2);
    expect(updates[2]?.channel_post?.sender_chat).toMatchObject({ id: -1002, type: 'channel' });
    expect(updates[3]?.message).not.toHaveProperty('text');
    expect(updates[4]?.callback_query).not.toHaveProperty('message');
    expect(updates[4]?.callback_query?.inline_message_id).toBe('inline-1');
  });
});
