import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { z } from 'zod';
import { DEPLOYMENT_STATES } from '../../src/core/deployment-state.ts';
import { createMetrics, METRIC_NAMES } from '../../src/metrics.ts';
import { findTool, REPO_ROOT, run } from './find-tool.ts';
import { exportedSeriesNames, promqlMetricNames } from './promql-metric-names.ts';

const monitoring = path.join(REPO_ROOT, 'monitoring');
const promtool = findTool('promtool', 'apt-get install prometheus, listed in .ci/apt-infra.txt');

const RulesFile = z.object({
  groups: z.array(
    z.object({
      name: z.string(),
      rules: z.array(
        z.object({
          alert: z.string(),
          expr: z.string(),
          for: z.string().optional(),
          labels: z.record(z.string(), z.string()).optional(),
          annotations: z.record(z.string(), z.string()),
        }),
      ),
    }),
  ),
});

const Target = z.object({ expr: z.string().optional() }).loose();
const Panel = z.object({ title: z.string(), targets: z.array(Target).default([]) }).loose();
const Dashboard = z
  .object({
    uid: z.string(),
    panels: z.array(Panel),
    templating: z.object({ list: z.array(z.object({ query: z.unknown() }).loose()) }),
  })
  .loose();

const rules = RulesFile.parse(parse(readFileSync(path.join(monitoring, 'alerts.yml'), 'utf8')));
const alerts = rules.groups.flatMap((group) => group.rules);
const dashboard = Dashboard.parse(
  JSON.parse(readFileSync(path.join(monitoring, 'grafana', 'dashboards', 'deploybot.json'), 'utf8')),
);
const dashboardQueries = [
  ...dashboard.panels.flatMap((panel) => panel.targets.map((target) => target.expr ?? '')),
  ...dashboard.templating.list.map((variable) => JSON.stringify(variable.query)),
].filter((query) => query !== '');

/** Series names a query may read: the bot's registry, plus what Prometheus itself adds. */
let allowedSeries: Set<string>;
beforeAll(async () => {
  const metrics = createMetrics();
  const registered = await metrics.registry.getMetricsAsJSON();
  allowedSeries = exportedSeriesNames(registered.map((m) => ({ name: m.name, type: String(m.type) })));
  allowedSeries.add('up');
});

/** Names the query reads that nothing exports. */
function unknownNames(query: string): string[] {
  return promqlMetricNames(query).filter((name) => !allowedSeries.has(name));
}

/** Label values a query matches for `label`, e.g. status="failed" or status=~"a|b". */
function labelValues(query: string, label: string): string[] {
  const values: string[] = [];
  for (const m of query.matchAll(new RegExp(`\\b${label}\\s*=~?\\s*"([^"]*)"`, 'g'))) {
    values.push(...(m[1] ?? '').split('|'));
  }
  return values;
}

describe('promql metric name extraction', () => {
  it('finds metric names and ignores functions, labels, keywords and Grafana variables', () => {
    expect(
      promqlMetricNames(
        'sum by (env, le) (increase(deployment_duration_seconds_bucket{env=~"$env"}[1d])) / ignoring(x) up offset 10m',
      ),
    ).toEqual(['deployment_duration_seconds_bucket', 'up']);
    expect(promqlMetricNames('"label_values(deployments_total, env)"')).toEqual(['deployments_total']);
  });

  it('reports a metric the bot does not export (the check can fail)', () => {
    expect(unknownNames('sum by (env) (rate(deployments_totl{status="failed"}[5m]))')).toEqual([
      'deployments_totl',
    ]);
    expect(unknownNames('deployment_duration_seconds')).toEqual(['deployment_duration_seconds']);
  });
});

describe('alert rules and dashboard use only metrics the bot registers', () => {
  it('every contract metric (docs/architecture.md) is registered by createMetrics()', () => {
    for (const name of METRIC_NAMES) {
      expect([...allowedSeries].some((series) => series === name || series.startsWith(`${name}_`))).toBe(
        true,
      );
    }
  });

  it.each(alerts.map((rule) => [rule.alert, rule.expr] as const))('alert %s', (_name, expr) => {
    expect(promqlMetricNames(expr).length).toBeGreaterThan(0);
    expect(unknownNames(expr)).toEqual([]);
  });

  it('dashboard queries', () => {
    expect(dashboardQueries.length).toBeGreaterThan(5);
    for (const query of dashboardQueries) expect(unknownNames(query), query).toEqual([]);
  });

  it('status label values are deployment states', () => {
    const states: readonly string[] = DEPLOYMENT_STATES;
    const used = [...alerts.map((rule) => rule.expr), ...dashboardQueries].flatMap((q) =>
      labelValues(q, 'status'),
    );
    expect(used.length).toBeGreaterThan(0);
    for (const value of used) expect(states, `status "${value}"`).toContain(value);
  });

  it('the required alerts exist', () => {
    const byName = new Map(alerts.map((rule) => [rule.alert, rule]));
    expect(byName.get('DeploymentFailed')?.expr).toMatch(/deployments_total\{status=~"[^"]*failed/);
    expect(byName.get('HealthCheckDown')).toMatchObject({ expr: 'health_check_up == 0', for: '2m' });
    expect(byName.get('DeployBotDown')?.expr).toContain('up{job="deploybot"} == 0');
    expect(byName.get('WebhookErrors')?.expr).toContain('webhook_requests_total');
    for (const rule of alerts) {
      expect(rule.labels?.severity, rule.alert).toMatch(/^(warning|critical)$/);
      expect(rule.annotations.summary, rule.alert).toBeTruthy();
    }
  });

  it('the dashboard has the panels the product promised', () => {
    const panel = (title: RegExp) => {
      const found = dashboard.panels.find((p) => title.test(p.title));
      expect(found, `panel ${title}`).toBeDefined();
      return (found?.targets ?? []).map((t) => t.expr ?? '').join('\n');
    };
    expect(panel(/frequency/i)).toContain('deployments_total');
    expect(panel(/duration/i)).toContain('deployment_duration_seconds_bucket');
    expect(panel(/success ratio/i)).toMatch(/status="succeeded"/);
    expect(panel(/time since last/i)).toMatch(/time\(\) - .*deployments_total/);
    expect(panel(/health per environment/i)).toContain('health_check_up');
  });
});

describe.skipIf(promtool.skip)('promtool', () => {
  it('is installed', () => {
    expect(promtool.path, promtool.missing).toBeTruthy();
  });

  it('check config accepts prometheus.yml and finds the rule file', () => {
    const result = run(promtool.path ?? 'promtool', ['check', 'config', 'prometheus.yml'], {
      cwd: monitoring,
    });
    expect(result.status, result.output).toBe(0);
    expect(result.output).toMatch(/SUCCESS: 1 rule files found/);
  });

  it('check rules accepts alerts.yml', () => {
    const result = run(promtool.path ?? 'promtool', ['check', 'rules', 'alerts.yml'], { cwd: monitoring });
    expect(result.status, result.output).toBe(0);
    expect(result.output).toContain(`SUCCESS: ${alerts.length} rules found`);
  });

  it('unit tests of the alert rules pass', () => {
    const result = run(promtool.path ?? 'promtool', ['test', 'rules', 'tests/alerts.test.yml'], {
      cwd: monitoring,
    });
    expect(result.status, result.output).toBe(0);
    expect(result.output).toContain('SUCCESS');
  });

  it('every dashboard query is valid PromQL (Grafana variables replaced)', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'deploybot-dash-'));
    const exprs = dashboard.panels.flatMap((p) => p.targets.map((t) => t.expr ?? '')).filter(Boolean);
    const rulesYaml = {
      groups: [
        {
          name: 'dashboard',
          rules: exprs.map((expr, i) => ({
            record: `dashboard:query_${i}`,
            expr: expr
              .replaceAll('$__rate_interval', '1m')
              .replaceAll('$__range', '1h')
              .replaceAll('$env', '.*'),
          })),
        },
      ],
    };
    const file = path.join(dir, 'dashboard-rules.yml');
    writeFileSync(file, JSON.stringify(rulesYaml));
    let result: ReturnType<typeof run>;
    try {
      result = run(promtool.path ?? 'promtool', ['check', 'rules', file]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    expect(result.status, result.output).toBe(0);
    expect(result.output).toContain(`SUCCESS: ${exprs.length} rules found`);
  });
});
