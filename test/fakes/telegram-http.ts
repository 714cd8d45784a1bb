import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ApiResponseBody, RecordedCall } from './telegram-api.ts';
import { type Params, readBody, readParams, TelegramError } from './telegram-api-params.ts';

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
};

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
    let body: ApiResponseBody;
    if (!match) body = { ok: false, error_code: 404, description: 'Not Found' };
    else if (match[1] !== options.token) body = { ok: false, error_code: 401, description: 'Unauthorized' };
    else {
      const read = readParams(req, await readBody(req), url.searchParams);
      if (read instanceof TelegramError)
        body = { ok: false, error_code: read.code, description: read.message };
      else {
        params = read;
        const gone: Array<() => void> = [];
        res.on('close', () => {
          if (!res.writableEnded) for (const callback of gone) callback();
        });
        const exchange: Exchange = {
          onClientGone: (callback) => (res.destroyed ? callback() : gone.push(callback)),
        };
        const pending = dispatch(method, params, exchange);
        ({ method, body } = await pending);
      }
    }
    const status = body.ok ? 200 : body.error_code;
    const call: RecordedCall = { method, params, at: now(), response: { status, body } };
    if (res.destroyed) call.clientGone = true;
    calls.push(call);
    if (res.destroyed) return;
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  };

  const inflight = new Set<Promise<void>>();
  const server = createServer((req, res) => {
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
  return {
    url: `http://127.0.0.1:${port}`,
    close: async () => {
      await Promise.allSettled([...inflight]);
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}
