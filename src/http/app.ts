import { Hono } from 'hono';
import type { Metrics } from '../metrics.ts';
import { type GitHubDelivery, type GitHubWebhookOptions, githubWebhook } from './github-webhook.ts';
import { requireSecretHeader } from './require-secret-header.ts';
import { telegramWebhook } from './telegram-webhook.ts';

/** Bodies over 1 MiB get 413 (docs/architecture.md, "HTTP routes"). */
export const MAX_BODY_BYTES = 1024 * 1024;

export type { GitHubDelivery };

export type AppDeps = {
  metrics: Metrics;
  /**
   * Resolves when the instance's own storage (the store, the audit log) works; rejects with an Error
   * naming what is missing (`/readyz`: `waiting_for` names it `storage`, `problem` says what).
   */
  ping: () => Promise<void>;
  /** The outside dependencies not connected yet (`telegram`, `github`): `/readyz` answers 503 naming them. */
  waitingFor?: () => string[];
  /** True once the instance is shutting down: `/readyz` answers 503 so a balancer stops sending here. */
  draining?: () => boolean;
  /** Webhook mode only: the Telegram route exists when this is given. */
  telegram?: {
    secret: string;
    handleUpdate: (update: { update_id: number }) => Promise<void>;
    /** False until the bot has reached Telegram: updates get 503 then, and Telegram sends them again. */
    ready?: () => boolean;
  };
  /** The GitHub route exists when this is given (a secret is required to verify signatures). */
  github?: Pick<GitHubWebhookOptions, 'secret' | 'handleDelivery' | 'mayConcern'>;
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
    if (deps.draining?.()) return c.json({ ready: false, waiting_for: [], problem: 'shutting down' }, 503);
    const waiting = deps.waitingFor?.() ?? [];
    const problem = await withTimeout(deps.ping(), 2000).then(
      () => null,
      // The checks name what is missing in words meant for an operator (no secrets, no stack).
      (error: unknown) => (error instanceof Error && error.message ? error.message : 'not ready'),
    );
    if (waiting.length === 0 && problem === null) return c.json({ ready: true });
    const waitingFor = problem === null ? waiting : [...waiting, 'storage'];
    return c.json({ ready: false, waiting_for: waitingFor, ...(problem === null ? {} : { problem }) }, 503);
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
        ready: deps.telegram.ready ?? (() => true),
        count: (outcome) => counted('telegram', outcome),
        onError: (error) => deps.log?.('error', 'telegram update failed', error),
      }),
    );
  }
  if (deps.github) app.post('/github/webhook', githubWebhook(githubRouteOptions(deps, deps.github)));

  app.notFound((c) => c.json({ error: 'not found' }, 404));
  app.onError((error, c) => {
    deps.log?.('error', 'request failed', error);
    return c.json({ error: 'internal error' }, 500);
  });
  return app;
}

/** The GitHub route's options, shared by the Hono route and the node:http one in front of it (server.ts). */
export function githubRouteOptions(
  deps: AppDeps,
  github: NonNullable<AppDeps['github']>,
): GitHubWebhookOptions {
  return {
    secret: github.secret,
    maxBodyBytes: MAX_BODY_BYTES,
    handleDelivery: github.handleDelivery,
    ...(github.mayConcern && { mayConcern: github.mayConcern }),
    count: (outcome) => deps.metrics.webhookRequests.inc({ source: 'github', outcome }),
    onError: (error) => deps.log?.('error', 'github delivery failed', error),
  };
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
