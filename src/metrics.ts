import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { DeploymentRecord } from './core/deployment.ts';
import { isFinal } from './core/deployment-state.ts';

/** The metric names of the contract (docs/architecture.md); the Grafana dashboard and alert rules use only these. */
export const METRIC_NAMES = [
  'deployments_total',
  'deployment_duration_seconds',
  'health_check_up',
  'webhook_requests_total',
  'telegram_api_errors_total',
] as const;

/** The bot's Prometheus metrics, on a registry of their own (one per service instance). */
export type Metrics = {
  registry: Registry;
  deploymentsTotal: Counter<'env' | 'status' | 'service'>;
  deploymentDuration: Histogram<'env' | 'service'>;
  healthCheckUp: Gauge<'env' | 'service'>;
  webhookRequests: Counter<'source' | 'outcome'>;
  telegramApiErrors: Counter<'method' | 'code'>;
};

/** Creates a fresh registry with the bot's metrics and Node's default process metrics. */
export function createMetrics(options: { defaultMetrics?: boolean } = {}): Metrics {
  const registry = new Registry();
  if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: registry });
  return {
    registry,
    deploymentsTotal: new Counter({
      name: 'deployments_total',
      help: 'Deployments that reached a final state, by service, environment and final status.',
      labelNames: ['env', 'status', 'service'],
      registers: [registry],
    }),
    deploymentDuration: new Histogram({
      name: 'deployment_duration_seconds',
      help: 'Time from dispatch to the final state of a deployment.',
      labelNames: ['env', 'service'],
      buckets: [30, 60, 120, 180, 300, 600, 900, 1800, 3600],
      registers: [registry],
    }),
    healthCheckUp: new Gauge({
      name: 'health_check_up',
      help: '1 when the environment health URL answered 2xx at the last probe, else 0.',
      labelNames: ['env', 'service'],
      registers: [registry],
    }),
    webhookRequests: new Counter({
      name: 'webhook_requests_total',
      help: 'Inbound webhook requests by source (telegram, github) and outcome.',
      labelNames: ['source', 'outcome'],
      registers: [registry],
    }),
    telegramApiErrors: new Counter({
      name: 'telegram_api_errors_total',
      help: 'Telegram Bot API calls that failed, by method and error code.',
      labelNames: ['method', 'code'],
      registers: [registry],
    }),
  };
}

/**
 * What the use cases report, recorded in `metrics` (`Observer` of `deploy/deploy-deps.ts`). With
 * `services` (several configured) every series carries a `service` label; a single-repository
 * setup keeps the series it always had.
 */
export function metricsObserver(
  metrics: Metrics,
  options: { services?: boolean } = {},
): {
  finished: (record: DeploymentRecord) => void;
  health: (environment: string, up: boolean, service?: string) => void;
} {
  return {
    finished(record) {
      // A failed run that has not reported its rollback yet counts as failed.
      const status = isFinal(record.state) || record.state === 'failed' ? record.state : 'failed';
      const labels = { env: record.environment, ...(options.services && { service: record.service }) };
      metrics.deploymentsTotal.inc({ ...labels, status });
      if (record.dispatchedAt !== null && record.finishedAt !== null) {
        const seconds = (record.finishedAt - record.dispatchedAt) / 1000;
        metrics.deploymentDuration.observe(labels, seconds);
      }
    },
    health(environment, up, service = '') {
      metrics.healthCheckUp.set({ env: environment, ...(options.services && { service }) }, up ? 1 : 0);
    },
  };
}
