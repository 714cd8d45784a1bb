import { randomBytes } from 'node:crypto';
import { type ServerType, serve } from '@hono/node-server';
import type { Update } from 'grammy/types';
import { openAuditLog } from './audit.ts';
import type { Config } from './config.ts';
import { deriveCallbackKey } from './core/callback-data.ts';
import { isFinal } from './core/deployment-state.ts';
import type { DeployDeps } from './deploy/deploy-deps.ts';
import { remindLockOwners } from './deploy/lock-reminders.ts';
import { createGitHubClient } from './github/github-client.ts';
import { handleDelivery } from './github/handle-delivery.ts';
import { reconcile } from './github/reconcile.ts';
import { createApp } from './http/app.ts';
import { createLogger, type Logger } from './logger.ts';
import { createMetrics } from './metrics.ts';
import { openStore } from './store/open-store.ts';
import { createBotClient, installHandlers } from './telegram/create-bot.ts';
import { escapeHtml } from './telegram/html.ts';
import { deploymentKeyboard } from './telegram/keyboards.ts';
import { Outbox } from './telegram/outbox.ts';
import { renderDeployment } from './telegram/render-deployment.ts';

export type ServiceOptions = {
  /** Listen on this port instead of config.port (0: any free port; tests use it). */
  port?: number;
  logger?: Logger;
  now?: () => number;
  /** Overrides for tests: pacing per chat. */
  outbox?: { privateIntervalMs?: number; groupIntervalMs?: number };
  /** Confirmation lifetime; DESIGN.md default 5 minutes. */
  confirmTtlMs?: number;
};

export type Service = {
  url: string;
  port: number;
  deps: DeployDeps;
  outbox: Outbox;
  /** One reconciliation pass now (as the timer does; `lease: false` runs it even if another instance holds the lease). */
  reconcileNow: (options?: { lease?: boolean }) => Promise<void>;
  /** One pass of the lock reminders now (tests; a timer runs it every minute). */
  remindLocksNow: () => Promise<void>;
  close: () => Promise<void>;
};

/**
 * Wires the service: store, audit, GitHub, Telegram, HTTP, reconciliation. The only place that
 * creates I/O objects and connects the parts.
 * @throws when the store, the audit log or Telegram's getMe fail at start (the caller exits non-zero).
 */
export async function startService(config: Readonly<Config>, options: ServiceOptions = {}): Promise<Service> {
  const log = options.logger ?? createLogger({ level: config.logLevel, secrets: config.secrets });
  const now = options.now ?? Date.now;
  const metrics = createMetrics();
  const store = await openStore(config.databaseUrl);
  await store.migrate();
  const audit = await openAuditLog(config.auditLogPath);
  const github = createGitHubClient(config.github, {
    onWarning: (m) => log.warn(m),
    onRequestLog: (m) => log.debug({ github: m }, 'github request'),
  });
  const repo = { owner: config.github.owner, repo: config.github.repo };
  const callbackKey = deriveCallbackKey(config.telegram.token);

  let defaultBranch: Promise<string> | null = null;
  const outboxRef: { current: Outbox | null } = { current: null };
  const deps: DeployDeps = {
    config,
    store,
    github,
    repo,
    audit,
    now,
    newRequestId: () => `${now().toString(36)}-${randomBytes(5).toString('hex')}`,
    newConfirmationId: () => randomBytes(16).toString('base64url').slice(0, 22),
    defaultBranch: () => {
      defaultBranch ??= github.rest.repos.get(repo).then(
        (r) => r.data.default_branch,
        (error) => {
          defaultBranch = null;
          throw error;
        },
      );
      return defaultBranch;
    },
    onDeploymentChanged: (id) => {
      outboxRef.current
        ?.touch(id)
        .catch((error) => log.error({ err: error, deployment: id }, 'outbox touch failed'));
    },
    onFinished: (record) => {
      const status = isFinal(record.state) || record.state === 'failed' ? record.state : 'failed';
      metrics.deploymentsTotal.inc({ env: record.environment, status });
      if (record.dispatchedAt !== null && record.finishedAt !== null) {
        metrics.deploymentDuration.observe(
          { env: record.environment },
          (record.finishedAt - record.dispatchedAt) / 1000,
        );
      }
      void audit
        .append({
          actor_id: record.requesterId,
          actor_name: record.requesterName,
          action: `${record.action}_finished`,
          environment: record.environment,
          sha: record.sha,
          request_id: record.id,
          outcome: record.state,
        })
        .catch((error) => log.error({ err: error }, 'audit append failed'));
    },
    confirmTtlMs: options.confirmTtlMs ?? 5 * 60_000,
    onHealth: (env, up) => metrics.healthCheckUp.set({ env }, up ? 1 : 0),
    sendTo: async (chatId, text) => {
      if (!outboxRef.current) return;
      await outboxRef.current.send(chatId, escapeHtml(text));
    },
  };

  const onHandlerError = (error: unknown, update: { update_id: number }) =>
    log.error({ err: error, update_id: update.update_id }, 'update handler failed');
  const bot = createBotClient({
    token: config.telegram.token,
    apiRoot: config.telegram.apiRoot,
    onApiError: (method, code) => metrics.telegramApiErrors.inc({ method, code: String(code) }),
    onHandlerError,
  });
  const outbox = new Outbox({
    api: bot.api,
    store,
    now,
    ...options.outbox,
    render: (record) => ({
      text: renderDeployment(record, now()),
      markup: deploymentKeyboard(callbackKey, record),
    }),
    onError: (error, context) => log.warn({ err: error, ...context }, 'telegram delivery failed'),
  });
  outboxRef.current = outbox;
  installHandlers(bot, { deploy: deps, outbox, callbackKey }, onHandlerError);
  // getMe now, not on the first update: a wrong token stops the start, and no request waits for it.
  await bot.init();

  const pending = new Set<Promise<unknown>>();
  const defer = (what: string, task: () => Promise<unknown>) => {
    const running = task()
      .catch((error) => log.warn({ err: error, what }, 'follow-up failed; reconciliation will retry'))
      .finally(() => pending.delete(running));
    pending.add(running);
  };

  const app = createApp({
    metrics,
    ping: () => store.ping(),
    ...(config.telegram.mode === 'webhook' && config.telegram.webhookSecret
      ? {
          telegram: {
            secret: config.telegram.webhookSecret,
            // Trust boundary: the route checked the secret and that update_id is an integer; grammY
            // ignores update types no handler listens to.
            handleUpdate: (update) => bot.handleUpdate(update as Update),
          },
        }
      : {}),
    ...(config.github.webhookSecret
      ? {
          github: {
            secret: config.github.webhookSecret,
            handleDelivery: async (delivery) => {
              const outcome = await handleDelivery(deps, delivery, defer);
              log.debug({ delivery: delivery.id, event: delivery.name, outcome }, 'github delivery');
            },
          },
        }
      : {}),
    log: (level, message, error) => log[level]({ err: error }, message),
  });

  const server = await listen(app.fetch, config.host, options.port ?? config.port);
  const port = (server.address() as { port: number }).port;
  log.info({ port, mode: config.telegram.mode }, 'deploybot listening');

  if (config.telegram.mode === 'polling') {
    void bot
      .start({ drop_pending_updates: false, allowed_updates: ['message', 'callback_query'] })
      .catch((error) => {
        log.error({ err: error }, 'long polling stopped');
      });
  }

  const holder = randomBytes(8).toString('hex');
  let passing = false;
  /**
   * A pass is idempotent (every change is a compare-and-set), so the lease only saves GitHub calls
   * when several instances share the store. The pass at start-up skips it: after a crash the old
   * holder's lease would otherwise delay picking up deployments in flight.
   */
  const reconcileNow = async (options: { lease?: boolean } = {}) => {
    if (passing) return;
    passing = true;
    try {
      const intervalMs = config.reconcileIntervalSeconds * 1000;
      const leased =
        options.lease === false || (await store.tryLease('reconcile', holder, intervalMs * 1.5, now()));
      if (!leased) return;
      const report = await reconcile(deps);
      if (report.errors) log.warn(report, 'reconciliation pass had errors');
      await outbox.resume();
      await store.forgetDeliveries(now() - 7 * 24 * 3600_000);
    } catch (error) {
      log.error({ err: error }, 'reconciliation failed');
    } finally {
      passing = false;
    }
  };
  await outbox.resume();
  void reconcileNow({ lease: false });
  const timer = setInterval(() => void reconcileNow(), config.reconcileIntervalSeconds * 1000);
  let reminding = false;
  const remindLocksNow = async () => {
    if (reminding) return;
    reminding = true;
    try {
      // One instance reminds per minute; markLockReminded keeps it to one reminder per lock anyway.
      if (!(await store.tryLease('lock-reminders', holder, 90_000, now()))) return;
      const sent = await remindLockOwners(deps);
      if (sent) log.info({ sent }, 'lock reminders sent');
    } catch (error) {
      log.error({ err: error }, 'lock reminders failed');
    } finally {
      reminding = false;
    }
  };
  const reminderTimer = setInterval(() => void remindLocksNow(), 60_000);

  return {
    url: `http://127.0.0.1:${port}`,
    port,
    deps,
    outbox,
    reconcileNow,
    remindLocksNow,
    close: async () => {
      clearInterval(timer);
      clearInterval(reminderTimer);
      if (bot.isRunning()) await bot.stop();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await Promise.race([Promise.allSettled(pending), new Promise((resolve) => setTimeout(resolve, 5000))]);
      outbox.close();
      await audit.close();
      await store.close();
    },
  };
}

function listen(
  fetch: Parameters<typeof serve>[0]['fetch'],
  hostname: string,
  port: number,
): Promise<ServerType & { address(): unknown }> {
  return new Promise((resolve, reject) => {
    const server = serve({ fetch, hostname, port }, () =>
      resolve(server as ServerType & { address(): unknown }),
    );
    server.once('error', reject);
  });
}
