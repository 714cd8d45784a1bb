import { afterEach, describe, expect, it } from 'vitest';
import {
  buildChat,
  buildTextMessage,
  callbackQueryUpdate,
  channelPostUpdate,
  editedMessageUpdate,
  stickerMessageUpdate,
} from '../fakes/telegram-updates.ts';
import { ADA, EVE, eventually, type Harness, startHarness, TELEGRAM_SECRET } from '../harness.ts';

let h: Harness;
afterEach(async () => {
  await h?.close();
});

describe('updates the bot does not expect', () => {
  it('answers 200 to odd but valid updates, acts on none of them, and keeps serving', async () => {
    h = await startHarness();
    const chat = buildChat(ADA.id, 'private', ADA);
    const message = buildTextMessage({ messageId: 1, chat, from: ADA, date: 1, text: '/deploy production' });
    let id = 500_000;
    const odd = [
      editedMessageUpdate(id++, message, 2),
      channelPostUpdate(id++, {
        messageId: 2,
        chat: buildChat(-100123, 'channel'),
        date: 1,
        text: '/deploy production',
      }),
      stickerMessageUpdate(id++, { messageId: 3, chat, from: ADA, date: 1 }),
      callbackQueryUpdate(id++, {
        queryId: 'q1',
        from: EVE,
        data: 'c:AAAAAAAAAAAAAAAAAAAAAA:AAAAAAAAAAAAAAAA',
        inlineMessageId: 'inline-1',
      }),
      {
        update_id: id++,
        message: {
          message_id: 4,
          date: 1,
          chat: { id: ADA.id, type: 'private' },
          text: '/deploy production',
        },
      },
      { update_id: id++, poll: { id: 'p', question: 'q', options: [] } },
      {
        update_id: id++,
        message: {
          message_id: 5,
          date: 1,
          chat: { id: ADA.id, type: 'private' },
          from: { id: ADA.id, is_bot: false, first_name: 'Ada' },
          text: `/deploy ${'x'.repeat(4000)}`,
          entities: [{ type: 'bot_command', offset: 0, length: 7 }],
        },
      },
      {
        update_id: id++,
        message: {
          message_id: 6,
          date: 1,
          chat: { id: ADA.id, type: 'private' },
          from: { id: ADA.id, is_bot: false, first_name: '\u0000\u202e' },
          text: '/deploy produc\u0000tion',
          entities: [{ type: 'bot_command', offset: 0, length: 7 }],
        },
      },
    ];
    for (const update of odd) {
      const response = await h.postUpdate(update);
      expect(response.status).toBe(200);
    }
    for (const body of ['null', '"text"', '{"update_id":-1}', '{"update_id":1.5}', '{"update_id":"7"}']) {
      const response = await fetch(`${h.service.url}/telegram/webhook`, {
        method: 'POST',
        headers: { 'x-telegram-bot-api-secret-token': TELEGRAM_SECRET },
        body,
      });
      expect(response.status).toBe(400);
    }
    await eventually(() => h.service.outbox.idle(), 10_000, 'outbox idle');
    expect(h.github.requests.filter((r) => r.path.endsWith('/dispatches'))).toHaveLength(0);
    // The two commands with a sender got a refusal that names the problem (the control character
    // shown as a space, a long argument clipped); nothing else was said.
    expect(h.botMessages(ADA.id).map((m) => m.text)).toEqual([
      `There is no environment "${'x'.repeat(40)}…". Environments: staging, production.`,
      'There is no environment "produc tion". Environments: staging, production.',
    ]);
    // The fake never issued query "q1" (the update was built by hand), so it refuses the answer; what
    // counts is that the bot answered, and with what.
    const answers = h.telegram.calls
      .filter((c) => c.method === 'answerCallbackQuery')
      .map((c) => c.params.text);
    expect(answers).toEqual(['This button does not belong here.']);
    expect((await fetch(`${h.service.url}/healthz`)).status).toBe(200);
  });
});

describe('TELEGRAM_ALLOWED_CHAT_IDS', () => {
  it('serves only the listed chats and ignores every other one without a word', async () => {
    h = await startHarness({ env: { TELEGRAM_ALLOWED_CHAT_IDS: `${-100_777}` } });
    await h.say(ADA, '/whoami', -100_777);
    await eventually(() => h.botMessages(-100_777).length === 1, 10_000, 'answer in the allowed group');
    await h.say(ADA, '/whoami');
    await h.say(EVE, '/deploy production');
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(h.botMessages(ADA.id)).toHaveLength(0);
    expect(h.botMessages(EVE.id)).toHaveLength(0);
  });
});
