import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { WireAnswer } from './fault-plan.ts';
import type { ApiResponseBody, RecordedCall } from './telegram-api.ts';
import { type Params, readBody, readParams, TelegramError } from './telegram-api-params.ts';
import type { TelegramFaults } from './telegram-faults.ts';

/** What a method handler answers: the result and, for some methods, a description. */
export type Reply = { result: unknown; description?: string };

/** What a handler may know of the HTTP exchange: whether the client hung up (an aborted long poll). */
export type Exchange = { onClientGone(callback: () => void): void };

/** Answers one authorised call: the canonical method name and the body to send. */
export type Dispatch = (
  method: string,
  params: Params,
  exchange: Exchange,
) => Promise<{ method: string; body: ApiResponseBody }>;

/** Options of {@link serveBotApi}. */
export type BotApiServerOptions = {
  token: string;
  now: () => number;
  /** Every answered request is appended here. */
  calls: RecordedCall[];
  dispatch: Dispatch;
  /** Injected faults, checked for every authorised call whose parameters could be read. */
  faults: TelegramFaults;
};

const JSON_TYPE = { 'content-type': 'application/json' };

/**
 * What a client got, as a Bot API body: the JSON it was sent, or for anything else (nginx's HTML,
 * a reset, no answer) `ok: false` with the status (0: none) and the text sent, if any.
 */
function asApiBody(out: WireAnswer | null): ApiResponseBody {
  if (!out) return { ok: false, error_code: 0, description: 'no answer (connection reset or cut)' };
  try {
    const parsed = JSON.parse(out.text) as ApiResponseBody;
    if (typeof parsed === 'object' && parsed !== null && typeof parsed.ok === 'boolean') return parsed;
  } catch {
    // not JSON: fall through
  }
  return { ok: false, error_code: out.status, description: out.text };
}

/**
 * Serves `/bot<token>/<method>` on 127.0.0.1 (a free port): 404 for other paths, 401 for another
 * token, 400 for a body it cannot read; everything else goes to `dispatch`. A bug in `dispatch` is
 * answered as a 500 with its message, never a hung test. `close()` waits for requests in flight.
 * Rejects only if the port cannot be opened.
 */
export async function serveBotApi(
  options: BotApiServerOptions,
): Promise<{ url: string; close(): Promise<void> }> {
  const { calls, dispatch, now } = options;
  const serve = async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://fake.invalid');
    const match = /^\/bot([^/]*)\/([^/]+)$/.exec(url.pathname);
    let method = match?.[2] ?? url.pathname;
    let params: Params = {};
    let body: Extract<ApiResponseBody, { ok: false }> | undefined;
    if (!match) body = { ok: false, error_code: 404, description: 'Not Found' };
    else if (match[1] !== options.token) body = { ok: false, error_code: 401, description: 'Unauthorized' };
    else {
      const read = readParams(req, await readBody(req), url.searchParams);
      if (read instanceof TelegramError)
        body = { ok: false, error_code: read.code, description: read.message };
      else params = read;
    }
    const record = (status: number, answer: ApiResponseBody, fault?: RecordedCall['fault']) => {
      const call: RecordedCall = { method, params, at: now(), response: { status, body: answer } };
      if (fault) call.fault = fault;
      if (res.destroyed) call.clientGone = true;
      calls.push(call);
    };
    if (body) {
      record(body.error_code, body);
      return void res.writeHead(body.error_code, JSON_TYPE).end(JSON.stringify(body));
    }

    const gone: Array<() => void> = [];
    res.on('close', () => {
      if (!res.writableEnded) for (const callback of gone) callback();
    });
    const exchange: Exchange = {
      onClientGone: (callback) => (res.destroyed ? callback() : gone.push(callback)),
    };
    const perform = async (): Promise<WireAnswer> => {
      const done = await dispatch(method, params, exchange);
      method = done.method;
      const status = done.body.ok ? 200 : done.body.error_code;
      return { status, headers: JSON_TYPE, text: JSON.stringify(done.body) };
    };
    const chatId = params.chat_id;
    const caught = options.faults.take({
      method,
      ...(typeof chatId === 'number' || typeof chatId === 'string' ? { chatId } : {}),
    });
    const out = caught ? await options.faults.play(caught, res, perform) : await perform();
    record(out?.status ?? 0, asApiBody(out), caught?.fired);
    if (!out || res.destroyed) return;
    res.writeHead(out.status, out.headers).end(out.text);
  };

  const inflight = new Set<Promise<void>>();
  const server = createServer((req, res) => {
    if (options.faults.hold(res)) return;
    // A bug in the fake shows up as a 500 with its message, never as a hung test.
    const served = serve(req, res).catch((error: unknown) => {
      if (res.headersSent || res.destroyed) return void res.destroy();
      const description = `Internal Server Error (bug in the fake): ${String(error)}`;
      res.writeHead(500, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ ok: false, error_code: 500, description }));
    });
    inflight.add(served);
    void served.then(() => inflight.delete(served));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  options.faults.attach(server);
  return {
    url: `http://127.0.0.1:${port}`,
    close: async () => {
      options.faults.close();
      await Promise.allSettled([...inflight]);
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}
