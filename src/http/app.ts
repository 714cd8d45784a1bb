import { Webhooks } from '@octokit/webhooks';
import { Hono } from 'hono';
import type { Metrics } from '../metrics.ts';
import { readLimitedBody } from './read-limited-body.ts';
import { requireSecretHeader } from './require-secret-header.ts';

/** Bodies over 1 MiB get 413 (DESIGN.md "HTTP surface"). */
export const MAX_BODY_BYTES = 1024 * 1024;

export type GitHubDelivery = { id: string; name: string; payload: unknown };

export type AppDeps = {
  metrics: Metrics;
  /** Resolves when the store answers; rejects otherwise (`/readyz`). */
  ping: () => Promise<void>;
  /** Webhook mode only: the Telegram route exists when this is given. */
  telegram?: { secret: string; handleUpdate: (update: { update_id: number }) => Promise<void> };
  /** The GitHub route exists when this is given (a secret is required to verify signatures). */
  github?: { secret: string; handleDelivery: (delivery: GitHubDelivery) => Promise<void> };
  log?: (level: 'warn' | 'error', message: string, error?: unknown) => void;
};

/**
 * The HTTP surface: webhook routes for Telegram and GitHub, health, readiness and metrics. Nothing a
 * client sends can crash it: every route answers, and handler errors are logged, not thrown.
 */
export function createApp(deps: AppDeps): Hono {
  const app = new Hono();
  const counted = (source: string, outcome: string) => deps.metrics.webhookRequests.inc({ source, outcome });

  app.get('/healthz', (c) => c.text('ok'));
  app.get('/readyz', async (c) => {
    try {
      await withTimeout(deps.ping(), 2000);
      return c.text('ready');
    } catch {
      return c.text('store unavailable', 503);
    }
  });
  app.get('/metrics', async (c) => {
    const registry = deps.metrics.registry;
    return c.body(await registry.metrics(), 200, { 'content-type': registry.contentType });
  });

  const telegram = deps.telegram;
  if (telegram) {
    app.post(
      '/telegram/webhook',
      requireSecretHeader('x-telegram-bot-api-secret-token', telegram.secret, () =>
        counted('telegram', 'unauthorized'),
      ),
      async function telegramWebhook(c) {
        const read = await readLimitedBody(c.req.raw, MAX_BODY_BYTES);
        if (!read.ok) {
          counted('telegram', read.status === 413 ? 'too_large' : 'bad_request');
          return c.json(
            { ok: false, error: read.status === 413 ? 'body too large' : 'unreadable body' },
            read.status,
          );
        }
        const update = parseJson(read.body);
        if (!isUpdate(update)) {
          counted('telegram', 'bad_request');
          return c.json({ ok: false, error: 'not a Telegram update' }, 400);
        }
        try {
          await telegram.handleUpdate(update);
          counted('telegram', 'ok');
        } catch (error) {
          // Telegram would re-send on a non-2xx: the update is remembered, so a re-send changes nothing.
          counted('telegram', 'error');
          deps.log?.('error', 'telegram update failed', error);
        }
        return c.json({ ok: true });
      },
    );
  }

  const github = deps.github;
  if (github) {
    const webhooks = new Webhooks({ secret: github.secret });
    app.post('/github/webhook', async function githubWebhook(c) {
      const signature = c.req.header('x-hub-signature-256');
      if (!signature) {
        counted('github', 'unauthorized');
        return c.json({ error: 'missing signature' }, 401);
      }
      const read = await readLimitedBody(c.req.raw, MAX_BODY_BYTES);
      if (!read.ok) {
        counted('github', read.status === 413 ? 'too_large' : 'bad_request');
        return c.json({ error: read.status === 413 ? 'body too large' : 'unreadable body' }, read.status);
      }
      const raw = read.body.toString('utf8');
      let valid = false;
      try {
        valid = await webhooks.verify(raw, signature);
      } catch {
        valid = false;
      }
      if (!valid) {
        counted('github', 'unauthorized');
        return c.json({ error: 'bad signature' }, 401);
      }
      const payload = parseJson(read.body);
      if (payload === undefined) {
        counted('github', 'bad_request');
        return c.json({ error: 'body is not JSON' }, 400);
      }
      const id = c.req.header('x-github-delivery') ?? '';
      const name = c.req.header('x-github-event') ?? '';
      if (!id || !name) {
        counted('github', 'bad_request');
        return c.json({ error: 'missing X-GitHub-Delivery or X-GitHub-Event' }, 400);
      }
      try {
        await github.handleDelivery({ id, name, payload });
        counted('github', 'ok');
      } catch (error) {
        counted('github', 'error');
        deps.log?.('error', 'github delivery failed', error);
      }
      return c.json({ ok: true });
    });
  }

  app.notFound((c) => c.json({ error: 'not found' }, 404));
  app.onError((error, c) => {
    deps.log?.('error', 'request failed', error);
    return c.json({ error: 'internal error' }, 500);
  });
  return app;
}

function parseJson(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString('utf8'));
  } catch {
    return undefined;
  }
}

function isUpdate(value: unknown): value is { update_id: number } {
  return (
    typeof value === 'object' &&
    value !== null &&
    'update_id' in value &&
    Number.isSafeInteger(value.update_id) &&
    (value.update_id as number) >= 0
  );
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('timeout')), ms);
    promise.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (e) => {
        clearTimeout(timer);
        reject(e);
      },
    );
  });
}
