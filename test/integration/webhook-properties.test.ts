import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type AppDeps, createApp } from '../../src/http/app.ts';
import { createMetrics } from '../../src/metrics.ts';
import { signWebhook } from '../fakes/github-webhooks.ts';
import { GITHUB_SECRET, TELEGRAM_SECRET } from '../harness.ts';

// Issue #10, property-based: whatever arrives at the two webhook routes (bodies, headers, update
// shapes) never crashes the server, nothing is handed over without the right secret or signature,
// and every input that is valid, however odd, is answered. Driven through Hono's app.request();
// webhook-properties-http.test.ts plays the same against the whole service over HTTP.

const RUNS = 200;
const printable = (max: number) => fc.stringMatching(new RegExp(`^[ -~]{0,${max}}$`));

type Handled = { updates: unknown[]; deliveries: unknown[]; fail: boolean };

function appWithSpies(handled: Handled) {
  const deps: AppDeps = {
    metrics: createMetrics({ defaultMetrics: false }),
    ping: async () => {},
    telegram: {
      secret: TELEGRAM_SECRET,
      handleUpdate: async (update) => {
        handled.updates.push(update);
        if (handled.fail) throw new Error('handler failed');
      },
    },
    github: {
      secret: GITHUB_SECRET,
      handleDelivery: async (delivery) => {
        handled.deliveries.push(delivery);
        if (handled.fail) throw new Error('handler failed');
      },
    },
  };
  return createApp(deps);
}

/** What the Telegram route must hand over: an object whose update_id is a non-negative safe integer. */
function isUpdate(body: string): boolean {
  try {
    const value: unknown = JSON.parse(body);
    if (typeof value !== 'object' || value === null || !('update_id' in value)) return false;
    const id = value.update_id;
    return typeof id === 'number' && Number.isSafeInteger(id) && id >= 0;
  } catch {
    return false;
  }
}

const isJson = (body: string) => {
  try {
    JSON.parse(body);
    return true;
  } catch {
    return false;
  }
};

/** Bodies: any text, any JSON, and update-like objects with odd `update_id`s and fields. */
const telegramBody = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 300 }),
  fc.json({ maxDepth: 3 }),
  fc
    .record(
      {
        update_id: fc.oneof(
          fc.nat(),
          fc.integer(),
          fc.double(),
          fc.string(),
          fc.constant(null),
          fc.bigInt().map(String),
        ),
        message: fc.jsonValue({ maxDepth: 2 }),
        callback_query: fc.jsonValue({ maxDepth: 2 }),
        edited_message: fc.jsonValue({ maxDepth: 2 }),
      },
      { requiredKeys: [] },
    )
    .map((o) => JSON.stringify(o)),
);

/** The secret header: absent, right, nearly right (one character off, a prefix), or anything printable. */
const secretHeader = fc.option(
  fc.oneof(
    fc.constant(TELEGRAM_SECRET),
    fc.constant(TELEGRAM_SECRET.slice(0, -1)),
    fc.constant(`${TELEGRAM_SECRET.slice(0, -1)}X`),
    fc.constant(TELEGRAM_SECRET.toUpperCase()),
    printable(80),
  ),
  { nil: undefined },
);

describe('webhook routes, property-based (issue #10)', () => {
  it('Telegram: 401 without the exact secret (nothing handed over), 400 for a non-update, 200 for any update', async () => {
    const handled: Handled = { updates: [], deliveries: [], fail: false };
    const app = appWithSpies(handled);
    await fc.assert(
      fc.asyncProperty(telegramBody, secretHeader, fc.boolean(), async (body, secret, fail) => {
        handled.updates.length = 0;
        handled.fail = fail;
        const headers: Record<string, string> = { 'content-type': 'application/json' };
        if (secret !== undefined) headers['x-telegram-bot-api-secret-token'] = secret;
        const response = await app.request('/telegram/webhook', { method: 'POST', body, headers });
        const expected = secret !== TELEGRAM_SECRET ? 401 : isUpdate(body) ? 200 : 400;
        expect(response.status).toBe(expected);
        expect(handled.updates).toHaveLength(expected === 200 ? 1 : 0);
      }),
      { numRuns: RUNS },
    );
  });

  it('GitHub: 401 without a valid signature (nothing handed over), 400 for bad JSON or missing headers, else 200', async () => {
    const handled: Handled = { updates: [], deliveries: [], fail: false };
    const app = appWithSpies(handled);
    const signature = fc.oneof(
      fc.constant('valid'),
      fc.constant('other-secret'),
      fc.constant('missing'),
      fc.stringMatching(/^sha256=[0-9a-f]{64}$/),
      printable(80),
    );
    const body = fc.oneof(fc.string({ unit: 'binary', maxLength: 300 }), fc.json({ maxDepth: 3 }));
    const header = fc.option(
      printable(40).filter((s) => s.trim() === s),
      { nil: undefined },
    );
    await fc.assert(
      fc.asyncProperty(body, signature, header, header, fc.boolean(), async (text, sig, id, event, fail) => {
        handled.deliveries.length = 0;
        handled.fail = fail;
        const headers: Record<string, string> = { 'content-type': 'application/json' };
        if (sig === 'valid') headers['x-hub-signature-256'] = signWebhook(GITHUB_SECRET, text);
        else if (sig === 'other-secret') headers['x-hub-signature-256'] = signWebhook('another-secret', text);
        else if (sig !== 'missing') headers['x-hub-signature-256'] = sig;
        if (id !== undefined) headers['x-github-delivery'] = id;
        if (event !== undefined) headers['x-github-event'] = event;
        const response = await app.request('/github/webhook', { method: 'POST', body: text, headers });
        // @octokit/webhooks verifies no signature over an empty body (GitHub never sends one).
        const signed = sig === 'valid' && text.length > 0;
        const expected = !signed ? 401 : !isJson(text) || !id || !event ? 400 : 200;
        expect(response.status).toBe(expected);
        expect(handled.deliveries).toHaveLength(expected === 200 ? 1 : 0);
      }),
      { numRuns: RUNS },
    );
  });

  it('other methods and paths are answered, never with a 5xx', async () => {
    const app = appWithSpies({ updates: [], deliveries: [], fail: true });
    const path = fc.oneof(
      fc.constantFrom('/telegram/webhook', '/github/webhook', '/healthz', '/readyz', '/metrics', '/'),
      fc.webPath(),
    );
    const method = fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'HEAD', 'OPTIONS');
    await fc.assert(
      fc.asyncProperty(path, method, async (p, m) => {
        const response = await app.request(p.startsWith('/') ? p : `/${p}`, { method: m });
        expect(response.status).toBeLessThan(500);
      }),
      { numRuns: RUNS },
    );
  });
});
