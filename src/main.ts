import { randomBytes } from 'node:crypto';
import type { Server } from 'node:http';
import type { Bot } from 'grammy';
import type { Update } from 'grammy/types';
import { type AuditLog, openAuditLog } from './audit/open-audit-log.ts';
import { openDatabaseAuditLog } from './audit/open-database-audit-log.ts';
import type { Config } from './config.ts';
import { deriveCallbackKey } from './core/callback-data.ts';
import {
  type ConnectOptions,
  connectDependencies,
  type Dependencies,
} from './deploy/connect-dependencies.ts';
import type { AccountsDeps, DeployDeps } from './deploy/deploy-deps.ts';
import { createFollowUps } from './deploy/follow-ups.ts';
import { deliveryRoute } from './deploy/handle-delivery.ts';
import { type LeasedTimer, startLeasedTimer } from './deploy/leased-timer.ts';
import { remindLockOwners } from './deploy/lock-reminders.ts';
import { reconcileInTurns } from './deploy/reconcile.ts';
import { firstServiceDeps } from './deploy/service-deps.ts';
import { checkServicesAccess } from './github/check-access.ts';
import { createServiceGitHub } from './github/service-clients.ts';
import type { AppDeps } from './http/app.ts';
import { createHttpServer } from './http/server.ts';
import { createLogger, type Logger } from './logger.ts';
import { createMetrics, metricsObserver } from './metrics.ts';
import { isPostgresUrl, openStore } from './store/open-store.ts';
import type { Store } from './store/store.ts';
import { connectTelegram } from './telegram/connect-telegram.ts';
import { createBotClient, installHandlers } from './telegram/create-bot.ts';
import { deploymentKeyboard } from './telegram/keyboards.ts';
import { Outbox } from './telegram/outbox.ts';
import { type PollingLeader, startPollingLeader } from './telegram/polling-leader.ts';
import { renderDeployment } from './telegram/render-deployment.ts';

export type ServiceOptions = {
  /** Listen on this port instead of config.port (0: any free port; tests use it). */
  port?: number;
  logger?: Logger;
  now?: () => number;
  /** Overrides for tests: pacing per chat. */
  outbox?: { privateIntervalMs?: number; groupIntervalMs?: number };
  /** How long a confirmation can be answered; default 5 minutes. */
  confirmTtlMs?: number;
  /** How long the start waits for Telegram's and GitHub's first answer before serving anyway (default 5 s). */
  connectWaitMs?: number;
};

export type Service = {
  url: string;
  port: number;
  deps: DeployDeps;
  outbox: Outbox;
  /** One reconciliation pass now (as the timer does; `lease: false` runs it even if another instance holds the lease). */
  reconcileNow: LeasedTimer['runNow'];
  /** One pass of the lock reminders now (tests; a timer runs it every minute). */
  remindLocksNow: () => Promise<void>;
  /** Resolves if Telegram or GitHub refuses the credentials after the start: the CLI stops with exit code 2. */
  refused: Promise<Error>;
  /** Polling mode: whether this instance is the one long-polling Telegram (one per cluster). */
  polling: () => boolean;
  /**
   * Stops gracefully within about 8 s: `/readyz` says shutting down, no new connections, requests in
   * flight and their follow-ups finish, owed messages are flushed while the time allows (the rest
   * stay owed in the store for another instance), polling stops and every lease is given back.
   */
  close: () => Promise<void>;
};

/**
 * Wires the service: builds the parts, connects them to what they need, listens. The only place
 * that creates I/O objects; every "when X happens, do Y" lives in `deploy/`.
 * Telegram or GitHub being down does not stop the start: the service serves, `/readyz` names what it
 * waits for, and it connects by itself when they answer.
 * @throws when the store or the audit log fail at start (the caller exits non-zero), and
 *   {@link DependencyRefused} when Telegram or GitHub refuses the credentials (exit code 2).
 */
export async function startService(config: Readonly<Config>, options: ServiceOptions = {}): Promise<Service> {
  // Build.
  const log = options.logger ?? createLogger({ level: config.logLevel, secrets: config.secrets });
  const now = options.now ?? Date.now;
  // This instance's name in the store's leases and message claims.
  const holder = randomBytes(8).toString('hex');
  const metrics = createMetrics();
  const store = await openStore(config.databaseUrl);
  // The audit log checks its anchor in the store when it opens, so the schema must be there first.
  await store.migrate();
  // Rows made before services belong to the first service (loadConfig yields at least one).
  await store.adoptUnscoped(config.services[0]?.name ?? '');
  const audit = await openAudit(config, store, log);
  const gitHub = createServiceGitHub(config, {
    onWarning: (m) => log.warn(m),
    onRequestLog: (m) => log.debug({ github: m }, 'github request'),
  });
  const callbackKey = deriveCallbackKey(config.telegram.token);
  const linking = new AbortController();
  const bot = createBotClient({
    token: config.telegram.token,
    apiRoot: config.telegram.apiRoot,
    onApiError: (method, code) => metrics.telegramApiErrors.inc({ method, code: String(code) }),
  });
  const outbox = new Outbox({
    api: bot.api,
    store,
    now,
    holder,
    ...options.outbox,
    render: (record) => ({
      text: renderDeployment(record, now(), { showService: config.services.length > 1 }),
      markup: deploymentKeyboard(callbackKey, record, { review: config.accounts !== null }),
    }),
    onError: (error, context) => log.warn({ err: error, ...context }, 'telegram delivery failed'),
  });
  const deps: DeployDeps = {
    ...firstServiceDeps(config, gitHub),
    store,
    audit,
    now,
    newRequestId: () => `${now().toString(36)}-${randomBytes(5).toString('hex')}`,
    newConfirmationId: () => randomBytes(16).toString('base64url').slice(0, 22),
    notify: outbox,
    observe: metricsObserver(metrics, { services: config.services.length > 1 }),
    followUps: createFollowUps((error, what) =>
      log.warn({ err: error, what }, 'follow-up failed; reconciliation will retry'),
    ),
    confirmTtlMs: options.confirmTtlMs ?? 5 * 60_000,
    accounts: accountsDeps(config, linking.signal),
  };
  installHandlers(bot, { deploy: deps, outbox, callbackKey }, (error, update) =>
    log.error({ err: error, update_id: update.update_id }, 'update handler failed'),
  );
  let poller: PollingLeader | null = null;
  const startPolling = () => {
    poller ??= startPoller(config, bot, store, holder, log);
  };
  const dependencies = connectDependencies(
    {
      telegram: () => connectTelegram(bot),
      github: () => checkServicesAccess(config.services, gitHub.github),
    },
    connectOptions(config, log, startPolling),
  );
  let draining = false;
  const http = createHttpServer({
    metrics,
    ping: () => readiness(store, audit),
    waitingFor: dependencies.waitingFor,
    draining: () => draining,
    log: (level, message, error) => log[level]({ err: error }, message),
    ...webhookRoutes(config, deps, bot, log),
  });

  const { server, port } = await listenAndConnect(http, dependencies, config, options, log, async () => {
    await audit.close();
    await store.close();
  });
  const timers = startTimers(deps, holder, log);
  void timers.reconciler.runNow({ lease: false });

  return {
    url: `http://127.0.0.1:${port}`,
    port,
    deps,
    outbox,
    reconcileNow: timers.reconciler.runNow,
    remindLocksNow: () => timers.reminders.runNow(),
    refused: dependencies.refused,
    polling: () => poller?.polling() ?? false,
    close: async () => {
      draining = true;
      linking.abort();
      dependencies.stop();
      await closeGracefully({ server, poller, timers, deps, outbox, audit, store, log });
    },
  };
}

/**
 * {@link Service.close}, after `/readyz` turned to "shutting down": within about 8 s, in this order
 * (each step needs what the later ones close).
 */
async function closeGracefully(parts: {
  server: Server;
  poller: PollingLeader | null;
  timers: Timers;
  deps: DeployDeps;
  outbox: Outbox;
  audit: AuditLog;
  store: Store;
  log: Logger;
}): Promise<void> {
  const { server, deps, outbox, log } = parts;
  const stopped = Date.now();
  const left = () => Math.max(0, 8000 - (Date.now() - stopped));
  // No new connections; idle keep-alive ones close, so a balancer sends the next request elsewhere.
  const serverClosed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeIdleConnections();
  await Promise.all([parts.poller?.close(), parts.timers.stop()]);
  // A keep-alive connection that finishes its request after close() is closed as soon as it idles.
  const idle = setInterval(() => server.closeIdleConnections(), 50);
  await Promise.race([serverClosed, sleep(4000)]);
  clearInterval(idle);
  server.closeAllConnections();
  await deps.followUps.settle(Math.min(3000, left()));
  if (!(await outbox.drain(left())))
    log.warn('shutting down with messages owed; another instance or the next start sends them');
  outbox.close();
  await parts.audit.close();
  await parts.store.close();
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

/** Linking GitHub accounts, when GITHUB_OAUTH_CLIENT_ID is set: the sealing key, and a signal that stops device flows at shutdown. */
function accountsDeps(config: Readonly<Config>, signal: AbortSignal): AccountsDeps | undefined {
  if (!config.accounts) return undefined;
  return { key: Buffer.from(config.accounts.encryptionKey, 'hex'), signal };
}

/**
 * The audit log, keyed when AUDIT_HMAC_KEY is set: one chain in the database for every instance on
 * PostgreSQL; on SQLite the file at AUDIT_LOG_PATH, anchored in the store.
 */
async function openAudit(config: Readonly<Config>, store: Store, log: Logger): Promise<AuditLog> {
  const key = config.auditHmacKey === null ? null : Buffer.from(config.auditHmacKey);
  if (isPostgresUrl(config.databaseUrl)) return openDatabaseAuditLog(store, { key });
  return openAuditLog(config.auditLogPath, {
    key,
    anchors: {
      get: (chain) => store.getAuditAnchor(chain),
      advance: (anchor) => store.advanceAuditAnchor(anchor),
    },
    onAnchorError: (error) => log.warn({ err: error }, 'audit anchor not stored; truncation detection lags'),
  });
}

/** `/readyz`: the store answers and the audit log can be written; else an Error naming which. */
async function readiness(store: Store, audit: AuditLog): Promise<void> {
  await store.ping().catch(() => {
    throw new Error('store unavailable');
  });
  const problem = await audit.check();
  if (problem) throw new Error(problem);
}

/** The webhook routes this configuration asks for: Telegram's in webhook mode, GitHub's with a secret. */
function webhookRoutes(
  config: Readonly<Config>,
  deps: DeployDeps,
  bot: Bot,
  log: Logger,
): Pick<AppDeps, 'telegram' | 'github'> {
  const telegramSecret = config.telegram.mode === 'webhook' ? config.telegram.webhookSecret : null;
  const githubSecret = config.github.webhookSecret;
  return {
    ...(telegramSecret && {
      telegram: {
        secret: telegramSecret,
        // Trust boundary: the route checked the secret and that update_id is an integer; grammY
        // ignores update types no handler listens to.
        handleUpdate: (update) => bot.handleUpdate(update as Update),
        ready: () => bot.isInited(),
      },
    }),
    ...(githubSecret && {
      github: {
        secret: githubSecret,
        ...deliveryRoute(deps, (delivery, outcome) =>
          log.debug({ delivery: delivery.id, event: delivery.name, outcome }, 'github delivery'),
        ),
      },
    }),
  };
}

/**
 * Listens, then waits (at most `connectWaitMs`) for the first answers of Telegram and GitHub: one that
 * is down is waited for in the background while the service serves; one that refuses the
 * credentials stops the start (`closeRest` closes what was opened before).
 * @throws {DependencyRefused}
 */
async function listenAndConnect(
  http: Server,
  dependencies: Dependencies,
  config: Readonly<Config>,
  options: ServiceOptions,
  log: Logger,
  closeRest: () => Promise<void>,
): Promise<{ server: Server; port: number }> {
  const server = await listen(http, config.host, options.port ?? config.port);
  const port = (server.address() as { port: number }).port;
  log.info({ port, mode: config.telegram.mode }, 'deploybot listening');
  const waited = new Promise<null>((resolve) =>
    setTimeout(resolve, options.connectWaitMs ?? 5000, null).unref(),
  );
  const refused = await Promise.race([dependencies.firstRound, waited]);
  if (refused) {
    dependencies.stop();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await closeRest();
    throw refused;
  }
  const waiting = dependencies.waitingFor();
  if (waiting.length > 0) log.warn({ waiting_for: waiting }, 'serving; still connecting');
  return { server, port };
}

/** Logs each try; once Telegram answers in polling mode, this instance competes to be the poller. */
function connectOptions(config: Readonly<Config>, log: Logger, startPolling: () => void): ConnectOptions {
  return {
    onConnected: (name) => {
      log.info({ dependency: name }, 'connected');
      if (name === 'telegram' && config.telegram.mode === 'polling') startPolling();
    },
    onRetry: (name, problem, inMs) =>
      log.warn({ dependency: name, problem, retry_in_ms: inMs }, 'dependency not answering; trying again'),
  };
}

/**
 * Long polling by one instance of the cluster at a time (the lease `telegram-polling`): renewed every
 * half RECONCILE_INTERVAL_SECONDS and lapsing after one and a half, so a dead poller is replaced
 * within about two intervals.
 */
function startPoller(
  config: Readonly<Config>,
  bot: Bot,
  store: Store,
  holder: string,
  log: Logger,
): PollingLeader {
  const everyMs = config.reconcileIntervalSeconds * 500;
  return startPollingLeader({
    store,
    holder,
    everyMs,
    leaseMs: everyMs * 3,
    now: Date.now,
    start: () => bot.start({ drop_pending_updates: false, allowed_updates: ['message', 'callback_query'] }),
    stop: () => bot.stop(),
    onError: (error) => log.error({ err: error }, 'long polling'),
    onChange: (polling) => log.info({ polling }, polling ? 'long polling Telegram' : 'not polling Telegram'),
  });
}

type Timers = { reconciler: LeasedTimer; reminders: LeasedTimer; stop: () => Promise<void> };

/**
 * Reconciliation every RECONCILE_INTERVAL_SECONDS and lock reminders every minute, each by one
 * instance; `stop` gives their leases back so another instance takes over at its next tick.
 */
function startTimers(deps: DeployDeps, holder: string, log: Logger): Timers {
  const { store, now, config } = deps;
  const reconcilePass = reconcileInTurns(deps);
  const reconciler = startLeasedTimer({
    store,
    holder,
    now,
    name: 'reconcile',
    everyMs: config.reconcileIntervalSeconds * 1000,
    leaseMs: config.reconcileIntervalSeconds * 1500,
    work: async () => {
      const report = await reconcilePass();
      if (report.errors) log.warn(report, 'reconciliation pass had errors');
    },
    onError: (error) => log.error({ err: error }, 'reconciliation failed'),
  });
  const reminders = startLeasedTimer({
    store,
    holder,
    now,
    name: 'lock-reminders',
    everyMs: 60_000,
    leaseMs: 90_000,
    work: async () => {
      const sent = await remindLockOwners(deps);
      if (sent) log.info({ sent }, 'lock reminders sent');
    },
    onError: (error) => log.error({ err: error }, 'lock reminders failed'),
  });
  const stop = async () => {
    reconciler.stop();
    reminders.stop();
    for (const name of ['reconcile', 'lock-reminders'])
      await store
        .releaseLease(name, holder)
        .catch((error) => log.warn({ err: error, lease: name }, 'lease not released'));
  };
  return { reconciler, reminders, stop };
}

function listen(server: Server, hostname: string, port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, hostname, () => resolve(server));
  });
}
