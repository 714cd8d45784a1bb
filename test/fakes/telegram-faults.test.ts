import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type FakeTelegram, startFakeTelegram } from './telegram-api.ts';
import { TELEGRAM_TEXT } from './telegram-faults.ts';

const TOKEN = '123456:FAULTS-token_value';
const CHAT = 1001;
let tg: FakeTelegram;

beforeEach(async () => {
  tg = await startFakeTelegram({ token: TOKEN, limits: { enabled: false } });
});

afterEach(async () => {
  await tg.close();
});

type Answer = { status: number; headers: Headers; text: string };

async function call(method: string, params: unknown = {}, signal?: AbortSignal): Promise<Answer> {
  const res = await fetch(`${tg.url}/bot${TOKEN}/${method}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(params),
    ...(signal ? { signal } : {}),
  });
  return { status: res.status, headers: res.headers, text: await res.text() };
}

const send = (text: string, chatId = CHAT) => call('sendMessage', { chat_id: chatId, text });
const edit = (messageId: number, text: string, chatId = CHAT) =>
  call('editMessageText', { chat_id: chatId, message_id: messageId, text });

/** The error a fetch failed with: its cause's code (ECONNRESET, ECONNREFUSED) or its name. */
async function failure(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    const e = error as Error & { cause?: { code?: string } };
    return e.cause?.code ?? e.name;
  }
  throw new Error('the request succeeded');
}

describe('Telegram faults over HTTP', () => {
  it('429 Too Many Requests with retry_after, verbatim; a call before it elapsed is counted', async () => {
    await tg.close();
    tg = await startFakeTelegram({ token: TOKEN }); // flood control on: it counts early calls
    expect((await send('first')).status).toBe(200);
    tg.faults.tooManyRequests({ method: 'sendMessage', retryAfter: 7 });
    const limited = await send('second');
    expect(limited.status).toBe(429);
    expect(limited.text).toBe(
      '{"ok":false,"error_code":429,"description":"Too Many Requests: retry after 7","parameters":{"retry_after":7}}',
    );
    expect(tg.retryAfterViolations).toBe(0);
    expect((await send('too early')).status).toBe(200);
    expect(tg.retryAfterViolations).toBe(1);
  });

  it('502 Bad Gateway after the work: nginx HTML to the client, the message edited all the same', async () => {
    await send('v1');
    tg.faults.badGateway({ method: 'editMessageText', after: true });
    const answer = await edit(1, 'v2');
    expect(answer.status).toBe(502);
    expect(answer.headers.get('content-type')).toBe('text/html');
    expect(answer.text).toBe(
      '<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx/1.18.0</center>\r\n</body>\r\n</html>\r\n',
    );
    expect(tg.message(CHAT, 1)).toMatchObject({ text: 'v2', edits: 1 });
    expect(tg.calls.at(-1)).toMatchObject({
      method: 'editMessageText',
      response: {
        status: 502,
        body: { ok: false, error_code: 502, description: TELEGRAM_TEXT.badGatewayHtml },
      },
      fault: { outcome: 'answered', performed: true, workStatus: 200 },
    });
  });

  it('502 before the work leaves the message as it was', async () => {
    await send('v1');
    tg.faults.badGateway({ method: 'editMessageText' });
    expect((await edit(1, 'v2')).status).toBe(502);
    expect(tg.message(CHAT, 1)).toMatchObject({ text: 'v1', edits: 0 });
  });

  it('500, 403 blocked, 409 conflicts and "message to edit not found", as JSON with the texts verbatim', async () => {
    tg.faults.serverError({ method: 'sendMessage' });
    tg.faults.blocked({ method: 'sendMessage' });
    tg.faults.conflict();
    tg.faults.conflict({ kind: 'webhook' });
    tg.faults.messageToEditNotFound();
    const body = async (answer: Promise<Answer>) => {
      const a = await answer;
      return [a.status, JSON.parse(a.text)];
    };
    const error = (code: number, description: string) => [code, { ok: false, error_code: code, description }];
    expect(await body(send('a'))).toEqual(error(500, 'Internal Server Error'));
    expect(await body(send('a'))).toEqual(error(403, 'Forbidden: bot was blocked by the user'));
    expect(await body(call('getUpdates', { timeout: 0 }))).toEqual(
      error(
        409,
        'Conflict: terminated by other getUpdates request; make sure that only one bot instance is running',
      ),
    );
    expect(await body(call('getUpdates', { timeout: 0 }))).toEqual(
      error(
        409,
        "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first",
      ),
    );
    expect(await body(edit(1, 'x'))).toEqual(error(400, 'Bad Request: message to edit not found'));
    expect(tg.faults.pending()).toHaveLength(0);
  });

  it('a reset gives the client ECONNRESET; with after the message was sent', async () => {
    tg.faults.connectionReset({ method: 'sendMessage' });
    expect(await failure(send('lost'))).toBe('ECONNRESET');
    expect(tg.messages(CHAT)).toHaveLength(0);
    tg.faults.inject({ method: 'sendMessage', reset: true, after: true });
    expect(await failure(send('sent, answer lost'))).toBe('ECONNRESET');
    expect(tg.messages(CHAT).map((m) => m.text)).toEqual(['sent, answer lost']);
    expect(tg.calls.map((c) => c.response.status)).toEqual([0, 0]);
  });

  it('per chat: times counts down for that chat only, other chats are untouched', async () => {
    await send('v1', CHAT);
    await send('w1', 2002);
    tg.faults.inject({ method: 'editMessageText', chatId: CHAT, times: 5, status: 502, body: 'Bad Gateway' });
    expect((await edit(1, 'w2', 2002)).status).toBe(200);
    const statuses = [];
    for (let i = 0; i < 6; i++) statuses.push((await edit(1, `v${i + 2}`)).status);
    expect(statuses).toEqual([502, 502, 502, 502, 502, 200]);
    expect(tg.faults.fired.map((f) => f.request)).toEqual(
      Array(5).fill({ method: 'editMessageText', chatId: CHAT }),
    );
  });

  it('a fault for another method does not fire; methods match case-insensitively; unknown ones throw', async () => {
    tg.faults.serverError({ method: 'editMessageText' });
    expect((await send('hi')).status).toBe(200);
    expect(tg.faults.fired).toHaveLength(0);
    expect((await call('EDITMESSAGETEXT', { chat_id: CHAT, message_id: 1, text: 'ho' })).status).toBe(500);
    expect(() => tg.faults.inject({ method: 'editMessageTxt', status: 500 })).toThrow(/no method/);
  });

  it('faults of one method fire in the order injected', async () => {
    tg.faults.serverError({ method: 'sendMessage' });
    tg.faults.tooManyRequests({ method: '*', retryAfter: 3 });
    tg.faults.badGateway({ method: 'sendMessage', times: 2 });
    const statuses = [];
    for (let i = 0; i < 5; i++) statuses.push((await send(`m${i}`)).status);
    expect(statuses).toEqual([500, 429, 502, 502, 200]);
  });

  it('hang: no answer until the client gives up; clear() cuts held calls', async () => {
    tg.faults.inject({ method: 'sendMessage', hang: true, times: 2 });
    const held = send('b');
    expect(await failure(call('sendMessage', { chat_id: CHAT, text: 'c' }, AbortSignal.timeout(200)))).toBe(
      'TimeoutError',
    );
    tg.faults.clear();
    expect(await failure(held)).toMatch(/^(UND_ERR_SOCKET|ECONNRESET)$/);
    expect((await send('d')).status).toBe(200);
  });
});

describe('the plan', () => {
  it('times: Infinity fires until clear(); clear() keeps the record of what fired', async () => {
    tg.faults.serverError({ method: 'getMe', times: Number.POSITIVE_INFINITY, label: 'down' });
    for (let i = 0; i < 3; i++) expect((await call('getMe')).status).toBe(500);
    expect(tg.faults.pending()[0]?.remaining).toBe(Number.POSITIVE_INFINITY);
    tg.faults.clear();
    expect((await call('getMe')).status).toBe(200);
    expect(tg.faults.pending()).toEqual([]);
    expect(tg.faults.fired.map((f) => f.label)).toEqual(['down', 'down', 'down']);
  });

  it('failNext is one fault of the plan', async () => {
    tg.failNext('sendMessage', { error_code: 403, description: TELEGRAM_TEXT.blocked });
    expect((await send('a')).status).toBe(403);
    expect(tg.faults.fired).toHaveLength(1);
  });
});

describe('an unreachable fake Telegram', () => {
  it("'refuse' then restore(): ECONNREFUSED, then the same URL answers", async () => {
    await tg.faults.unreachable();
    expect(await failure(call('getMe'))).toBe('ECONNREFUSED');
    await tg.faults.restore();
    expect((await call('getMe')).status).toBe(200);
  });

  it("'hang': nothing answers; close() does not wait for held calls", async () => {
    await tg.faults.unreachable('hang');
    expect(await failure(call('getMe', {}, AbortSignal.timeout(200)))).toBe('TimeoutError');
    const held = call('getMe');
    await new Promise((resolve) => setTimeout(resolve, 50));
    await tg.close();
    expect(await failure(held)).toMatch(/^(UND_ERR_SOCKET|ECONNRESET)$/);
    tg = await startFakeTelegram({ token: TOKEN });
  });
});
