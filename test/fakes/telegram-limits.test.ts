import { afterEach, describe, expect, it } from 'vitest';
import { type FakeTelegram, type FakeTelegramOptions, startFakeTelegram } from './telegram-api.ts';

const TOKEN = '777:limits';
const fakes: FakeTelegram[] = [];

afterEach(async () => {
  await Promise.all(fakes.splice(0).map((fake) => fake.close()));
});

/** A fake on a clock the test moves by hand, so windows are crossed without sleeping. */
async function startWithClock(limits: FakeTelegramOptions['limits'] = {}) {
  const clock = { t: 1_700_000_000_000 };
  const fake = await startFakeTelegram({ token: TOKEN, limits, now: () => clock.t });
  fakes.push(fake);
  const send = async (chatId: number, text = 'x') => {
    const res = await fetch(`${fake.url}/bot${TOKEN}/sendMessage`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ chat_id: chatId, text }),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
  return { fake, clock, send };
}

describe('flood control', () => {
  it('allows a burst of 3 per chat, then answers 429 with retry_after until the bucket refills', async () => {
    const { fake, clock, send } = await startWithClock();
    for (const text of ['1', '2', '3']) expect((await send(1, text)).status).toBe(200);
    const limited = await send(1, '4');
    expect(limited).toEqual({
      status: 429,
      body: {
        ok: false,
        error_code: 429,
        description: 'Too Many Requests: retry after 1',
        parameters: { retry_after: 1 },
      },
    });
    expect(fake.rateLimited).toBe(1);
    expect((await send(2, 'other chat')).status).toBe(200);
    clock.t += 1000;
    expect((await send(1, '4 again')).status).toBe(200);
    expect((await send(1, '5')).status).toBe(429);
    expect(fake.messages(1).map((m) => m.text)).toEqual(['1', '2', '3', '4 again']);
    expect(fake.retryAfterViolations).toBe(0);
  });

  it('counts a call made before retry_after elapsed as a violation', async () => {
    const { fake, clock, send } = await startWithClock({ burst: 1 });
    expect((await send(1)).status).toBe(200);
    expect((await send(1)).status).toBe(429);
    clock.t += 500;
    expect((await send(1)).status).toBe(429);
    expect(fake.retryAfterViolations).toBe(1);
    clock.t += 1000;
    expect((await send(1)).status).toBe(200);
    expect(fake.retryAfterViolations).toBe(1);
    expect(fake.rateLimited).toBe(2);
  });

  it('limits a group to 20 per rolling minute and says how long until the oldest call leaves the window', async () => {
    const { clock, send } = await startWithClock({ perChatPerSecond: 100, burst: 100 });
    for (let i = 0; i < 20; i++) {
      expect((await send(-42, `m${i}`)).status).toBe(200);
      clock.t += 1000;
    }
    // The first call was 20 s ago: the window frees in 40 s.
    const limited = await send(-42);
    expect(limited.status).toBe(429);
    expect(limited.body.parameters).toEqual({ retry_after: 40 });
    clock.t += 40_000;
    expect((await send(-42)).status).toBe(200);
    // Private chats have no per-minute limit.
    for (let i = 0; i < 25; i++) expect((await send(5)).status).toBe(200);
  });

  it('counts edits and deletions too, but not calls the server refuses itself, and can be switched off', async () => {
    const { fake, send } = await startWithClock({ burst: 2 });
    expect((await send(3)).status).toBe(200);
    const edit = (body: Record<string, unknown>) =>
      fetch(`${fake.url}/bot${TOKEN}/editMessageText`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ chat_id: 3, message_id: 1, ...body }),
      });
    expect((await edit({ text: '' })).status).toBe(400);
    expect((await edit({ text: 'edited' })).status).toBe(200);
    expect((await edit({ text: 'again' })).status).toBe(429);
    const { send: sendFreely } = await startWithClock({ enabled: false });
    for (let i = 0; i < 50; i++) expect((await sendFreely(-1)).status).toBe(200);
  });
});
