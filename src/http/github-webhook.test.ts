import { createHmac } from 'node:crypto';
import { request as httpRequest, type OutgoingHttpHeaders, type Server } from 'node:http';
import fc from 'fast-check';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createMetrics } from '../metrics.ts';
import { type AppDeps, createApp, MAX_BODY_BYTES } from './app.ts';
import type { GitHubDelivery } from './github-webhook.ts';
import { createHttpServer } from './server.ts';

const SECRET = 'gh-webhook-secret-for-unit-tests-0123456789';
const sign = (body: string | Buffer, secret = SECRET) =>
  `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;

type Reply = { status: number; body: string; contentType: string | undefined };

/** A raw HTTP/1.1 POST (node:http does not normalise the path, unlike fetch). */
function post(port: number, path: string, headers: OutgoingHttpHeaders, body?: Buffer | string | Buffer[]) {
  return new Promise<Reply>((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, method: 'POST', path, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          body: Buffer.concat(chunks).toString('utf8'),
          contentType: res.headers['content-type'],
        }),
      );
    });
    req.on('error', reject);
    if (Array.isArray(body)) {
      // Streamed in pieces without a Content-Length (chunked): the limit is enforced while reading.
      for (const piece of body) req.write(piece);
      req.end();
    } else req.end(body);
  });
}

const delivered: GitHubDelivery[] = [];
let failNext = false;
const logged: string[] = [];
const metrics = createMetrics({ defaultMetrics: false });
const deps: AppDeps = {
  metrics,
  ping: async () => {},
  github: {
    secret: SECRET,
    handleDelivery: async (delivery) => {
      if (failNext) {
        failNext = false;
        throw new Error('handler failed');
      }
      delivered.push(delivery);
    },
  },
  log: (_level, message) => logged.push(message),
};

let server: Server;
let port: number;
beforeAll(async () => {
  server = createHttpServer(deps);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as { port: number }).port;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));
beforeEach(() => {
  delivered.length = 0;
  logged.length = 0;
});

const body = JSON.stringify({ action: 'completed', repository: { full_name: 'acme/shop' } });
const headers = (over: Record<string, string | undefined> = {}): OutgoingHttpHeaders => {
  const all: Record<string, string | undefined> = {
    'content-type': 'application/json',
    'x-github-event': 'workflow_run',
    'x-github-delivery': 'd-1',
    'x-hub-signature-256': sign(body),
    ...over,
  };
  return Object.fromEntries(Object.entries(all).filter(([, v]) => v !== undefined));
};

/** The same request through the Hono route (the fallback, and the app's own route). */
async function viaHono(h: OutgoingHttpHeaders, payload: string): Promise<Reply> {
  const response = await createApp(deps).request('/github/webhook', {
    method: 'POST',
    headers: h as Record<string, string>,
    body: payload,
  });
  return {
    status: response.status,
    body: await response.text(),
    contentType: response.headers.get('content-type') ?? undefined,
  };
}

describe('POST /github/webhook on node:http (the fast path main.ts serves)', () => {
  it('accepts a signed delivery: 200, handed over once with its id, event and payload', async () => {
    const reply = await post(port, '/github/webhook', headers(), body);
    expect(reply).toEqual({ status: 200, body: '{"ok":true}', contentType: 'application/json' });
    expect(delivered).toEqual([{ id: 'd-1', name: 'workflow_run', payload: JSON.parse(body) }]);
  });

  it.each([
    ['no signature', { 'x-hub-signature-256': undefined }, '{"error":"missing signature"}'],
    ['an empty signature', { 'x-hub-signature-256': '' }, '{"error":"missing signature"}'],
    ['another secret', { 'x-hub-signature-256': sign(body, 'another-secret') }, '{"error":"bad signature"}'],
    ['a short signature', { 'x-hub-signature-256': 'sha256=00' }, '{"error":"bad signature"}'],
    ['upper-case hex', { 'x-hub-signature-256': sign(body).toUpperCase() }, '{"error":"bad signature"}'],
    [
      'sha1',
      { 'x-hub-signature-256': `sha1=${createHmac('sha1', SECRET).update(body).digest('hex')}` },
      '{"error":"bad signature"}',
    ],
  ])('refuses %s with 401 and hands nothing over', async (_what, over, error) => {
    const reply = await post(port, '/github/webhook', headers(over), body);
    expect(reply).toEqual({ status: 401, body: error, contentType: 'application/json' });
    expect(delivered).toEqual([]);
  });

  it('refuses a signed body that is not JSON with 400, and a delivery without its id or event', async () => {
    const notJson = '{not json';
    expect(
      await post(port, '/github/webhook', headers({ 'x-hub-signature-256': sign(notJson) }), notJson),
    ).toEqual({
      status: 400,
      body: '{"error":"body is not JSON"}',
      contentType: 'application/json',
    });
    for (const missing of ['x-github-delivery', 'x-github-event']) {
      const reply = await post(port, '/github/webhook', headers({ [missing]: undefined }), body);
      expect(reply.status).toBe(400);
      expect(reply.body).toBe('{"error":"missing X-GitHub-Delivery or X-GitHub-Event"}');
    }
    expect(delivered).toEqual([]);
  });

  it('refuses an empty body with 401, even signed', async () => {
    const reply = await post(port, '/github/webhook', headers({ 'x-hub-signature-256': sign('') }), '');
    expect(reply.status).toBe(401);
  });

  it('refuses a body over 1 MiB with 413: declared, or streamed without a length', async () => {
    const huge = Buffer.alloc(MAX_BODY_BYTES + 1, 0x20);
    const declared = await post(
      port,
      '/github/webhook',
      headers({ 'x-hub-signature-256': sign(huge) }),
      huge,
    );
    expect(declared).toEqual({
      status: 413,
      body: '{"error":"body too large"}',
      contentType: 'application/json',
    });
    const pieces = Array.from({ length: 5 }, () => Buffer.alloc(MAX_BODY_BYTES / 4, 0x20));
    const streamed = await post(
      port,
      '/github/webhook',
      headers({ 'x-hub-signature-256': sign(Buffer.concat(pieces)) }),
      pieces,
    );
    expect(streamed.status).toBe(413);
    // Exactly at the limit is fine (it is signed; here it is not JSON, so 400).
    const atLimit = Buffer.alloc(MAX_BODY_BYTES, 0x20);
    expect(
      (await post(port, '/github/webhook', headers({ 'x-hub-signature-256': sign(atLimit) }), atLimit))
        .status,
    ).toBe(400);
    expect(delivered).toEqual([]);
    // The server keeps serving.
    expect((await post(port, '/github/webhook', headers(), body)).status).toBe(200);
  });

  it('answers 200 when the handler fails, logs it and counts it', async () => {
    failNext = true;
    const reply = await post(port, '/github/webhook', headers({ 'x-github-delivery': 'd-fail' }), body);
    expect(reply.status).toBe(200);
    expect(logged).toEqual(['github delivery failed']);
  });

  it('counts every outcome in webhook_requests_total', async () => {
    const before = await counts();
    await post(port, '/github/webhook', headers(), body);
    await post(port, '/github/webhook', headers({ 'x-hub-signature-256': 'sha256=00' }), body);
    await post(port, '/github/webhook', headers({ 'x-hub-signature-256': sign('[') }), '[');
    const after = await counts();
    expect((after.ok ?? 0) - (before.ok ?? 0)).toBe(1);
    expect((after.unauthorized ?? 0) - (before.unauthorized ?? 0)).toBe(1);
    expect((after.bad_request ?? 0) - (before.bad_request ?? 0)).toBe(1);
  });

  it('leaves other paths and methods to the Hono app, which serves the route the same way', async () => {
    // Dot segments are normalised by Hono: the fallback route answers exactly like the fast one.
    const viaFallback = await post(port, '/github/./webhook', headers({ 'x-github-delivery': 'd-2' }), body);
    expect(viaFallback).toEqual({ status: 200, body: '{"ok":true}', contentType: 'application/json' });
    expect(delivered.map((d) => d.id)).toEqual(['d-2']);
    expect((await post(port, '/github/webhookx', headers(), body)).status).toBe(404);
    const get = await fetch(`http://127.0.0.1:${port}/github/webhook`);
    expect(get.status).toBe(404);
    expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
  });

  it('answers like the Hono route for any body, signature and headers (property)', async () => {
    const bodies = fc.oneof(
      fc.json(),
      fc.string(),
      fc.constantFrom('', '{not json', '[]', 'null', '{"repository":{"full_name":"acme/shop"}}'),
    );
    const signatures = fc.constantFrom('valid', 'missing', 'other-secret', 'garbage');
    await fc.assert(
      fc.asyncProperty(bodies, signatures, fc.boolean(), fc.boolean(), async (payload, kind, id, event) => {
        const signature =
          kind === 'valid'
            ? sign(payload)
            : kind === 'other-secret'
              ? sign(payload, 'x')
              : kind === 'garbage'
                ? 'sha256=zz'
                : undefined;
        const h = headers({
          'x-hub-signature-256': signature,
          'x-github-delivery': id ? 'd-p' : undefined,
          'x-github-event': event ? 'push' : undefined,
        });
        const fast = await post(port, '/github/webhook', h, payload);
        const hono = await viaHono(h, payload);
        expect(fast).toEqual(hono);
      }),
      { numRuns: 150 },
    );
  });
});

async function counts(): Promise<Record<string, number>> {
  const metric = await metrics.webhookRequests.get();
  return Object.fromEntries(
    metric.values.filter((v) => v.labels.source === 'github').map((v) => [String(v.labels.outcome), v.value]),
  );
}

describe('POST /github/webhook with mayConcern (a delivery of another repository dropped unparsed)', () => {
  const looked: string[] = [];
  const filtered: AppDeps = {
    ...deps,
    github: {
      secret: SECRET,
      handleDelivery: deps.github?.handleDelivery ?? (async () => {}),
      mayConcern: (raw) => {
        looked.push(raw.toString('utf8'));
        return raw.includes('acme/shop');
      },
    },
  };
  let filteredServer: Server;
  let filteredPort: number;
  beforeAll(async () => {
    filteredServer = createHttpServer(filtered);
    await new Promise<void>((resolve) => filteredServer.listen(0, '127.0.0.1', resolve));
    filteredPort = (filteredServer.address() as { port: number }).port;
  });
  afterAll(() => new Promise<void>((resolve) => filteredServer.close(() => resolve())));
  beforeEach(() => {
    looked.length = 0;
  });
  const signed = (payload: string, over: Record<string, string | undefined> = {}) =>
    headers({ 'x-hub-signature-256': sign(payload), ...over });

  it('answers 200 to a signed delivery it rules out without handing it over; hands over the rest', async () => {
    const other = JSON.stringify({ action: 'opened', repository: { full_name: 'acme/blog' } });
    const reply = await post(filteredPort, '/github/webhook', signed(other), other);
    expect(reply).toEqual({ status: 200, body: '{"ok":true}', contentType: 'application/json' });
    expect(delivered).toEqual([]);
    expect(looked).toEqual([other]);
    expect((await post(filteredPort, '/github/webhook', signed(body), body)).status).toBe(200);
    expect(delivered).toEqual([
      {
        id: 'd-1',
        name: 'workflow_run',
        payload: { action: 'completed', repository: { full_name: 'acme/shop' } },
      },
    ]);
  });

  it('still checks the signature first, the braces of a JSON object and the ids', async () => {
    const other = '{"repository":{"full_name":"acme/blog"}}';
    const unsigned = await post(
      filteredPort,
      '/github/webhook',
      headers({ 'x-hub-signature-256': sign(other, 'x') }),
      other,
    );
    expect(unsigned.status).toBe(401);
    expect(looked).toEqual([]);
    // Form data (a webhook set to application/x-www-form-urlencoded), a cut-off body: 400.
    for (const notAnObject of ['payload=%7B%22a%22%3A1%7D', '{"repository":{"full_name":"acme/blog"', ' {']) {
      const reply = await post(filteredPort, '/github/webhook', signed(notAnObject), notAnObject);
      expect(reply.status, notAnObject).toBe(400);
      expect(reply.body).toBe('{"error":"body is not JSON"}');
    }
    const noId = await post(
      filteredPort,
      '/github/webhook',
      signed(other, { 'x-github-delivery': undefined }),
      other,
    );
    expect(noId).toMatchObject({
      status: 400,
      body: '{"error":"missing X-GitHub-Delivery or X-GitHub-Event"}',
    });
    expect(delivered).toEqual([]);
  });

  it('answers every JSON body as the route without it does, through both transports (property)', async () => {
    const bodies = fc.oneof(
      fc.json(),
      fc.constantFrom('{"repository":{"full_name":"acme/blog"}}', '{"repository":{"full_name":"acme/shop"}}'),
    );
    await fc.assert(
      fc.asyncProperty(bodies, fc.boolean(), async (payload, id) => {
        const h = signed(payload, { 'x-github-delivery': id ? 'd-p' : undefined });
        const expected = await post(port, '/github/webhook', h, payload);
        expect(await post(filteredPort, '/github/webhook', h, payload)).toEqual(expected);
        const response = await createApp(filtered).request('/github/webhook', {
          method: 'POST',
          headers: h as Record<string, string>,
          body: payload,
        });
        expect({ status: response.status, body: await response.text() }).toEqual({
          status: expected.status,
          body: expected.body,
        });
      }),
      { numRuns: 100 },
    );
  });
});
