import { Hono } from 'hono';
import type { Metrics } from '../metrics.ts';
import { type GitHubDelivery, githubWebhook } from './github-webhook.ts';
import { requireSecretHeader } from './require-secret-header.ts';
import { telegramWebhook } from './telegram-webhook.ts';

/** Bodies over 1 MiB get 413 (docs/architecture.md, "HTTP routes"). */
export const MAX_BODY_BYTES = 1024 * 1024;

export type { GitHubDelivery };

export type AppDeps = {
  metrics: Metrics;
  /** Resolves when the instance can serve; rejects with an Error naming what is missing (`/readyz`). */
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
    } catch (error) {
      // The checks name what is missing in words meant for an operator (no secrets, no stack).
      return c.text(error instanceof Error && error.message ? error.message : 'not ready', 503);
    }
  });
  app.get('/metrics', async (c) => {
    const registry = deps.metrics.registry;
    return c.body(await registry.metrics(), 200, { 'content-type': registry.contentType });
  });

  if (deps.telegram) {
    app.post(
      '/telegram/webhook',
      requireSecretHeader('x-telegram-bot-api-secret-token', deps.telegram.secret, () =>
        counted('telegram', 'unauthorized'),
      ),
      telegramWebhook({
        maxBodyBytes: MAX_BODY_BYTES,
        handleUpdate: deps.telegram.handleUpdate,
        count: (outcome) => counted('telegram', outcome),
        onError: (error) => deps.log?.('error', 'telegram update failed', error),
      }),
    );
  }
  if (deps.github) {
    app.post(
      '/github/webhook',
      githubWebhook({
        secret: deps.github.secret,
        maxBodyBytes: MAX_BODY_BYTES,
        handleDelivery: deps.github.handleDelivery,
        count: (outcome) => counted('github', outcome),
        onError: (error) => deps.log?.('error', 'github delivery failed', error),
      }),
    );
  }

  app.notFound((c) => c.json({ error: 'not found' }, 404));
  app.onError((error, c) => {
    deps.log?.('error', 'request failed', error);
    return c.json({ error: 'internal error' }, 500);
  });
  return app;
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('readiness checks timed out')), ms);
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
