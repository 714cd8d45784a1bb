import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { findTool, REPO_ROOT, run } from './find-tool.ts';

const compose = findTool(
  'docker-compose',
  "apt-get install docker-compose (Debian's), listed in .ci/apt-infra.txt",
);

// `docker-compose config` output is untyped YAML: these helpers are the trust boundary.
type Json = Record<string, unknown>;
const obj = (v: unknown): Json =>
  v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Json) : {};
const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

/** A bind mount or volume as `config` prints it: "source:target[:mode]". */
function mounts(service: Json): { source: string; target: string; readOnly: boolean }[] {
  return list(service.volumes).map((v) => {
    const [source = '', target = '', mode = ''] = String(v).split(':');
    return { source, target, readOnly: mode === 'ro' };
  });
}

/** A published port as "[host_ip:]published:target", whether `config` printed it short or long. */
function portSpec(port: unknown): string {
  if (typeof port === 'string') return port.replace(/\/tcp$/, '');
  const long = obj(port);
  return [long.host_ip, long.published, long.target].filter((p) => p !== undefined).join(':');
}

describe.skipIf(compose.skip)('docker-compose.yml', () => {
  let dir = '';
  let services: Record<string, Json> = {};
  const config = (...args: string[]) =>
    run(
      compose.path ?? 'docker-compose',
      ['--project-directory', dir, '-f', path.join(dir, 'docker-compose.yml'), ...args],
      {
        cwd: dir,
      },
    );

  beforeAll(() => {
    expect(compose.path, compose.missing).toBeTruthy();
    dir = mkdtempSync(path.join(tmpdir(), 'deploybot-compose-'));
    copyFileSync(path.join(REPO_ROOT, 'docker-compose.yml'), path.join(dir, 'docker-compose.yml'));
    // A dummy .env: the real one holds secrets and is never in the repository.
    writeFileSync(path.join(dir, '.env'), 'TELEGRAM_BOT_TOKEN=dummy-token\nADMIN_TELEGRAM_IDS=1\n');
    const result = config('--profile', 'postgres', '--profile', 'monitoring', 'config');
    expect(result.status, result.output).toBe(0);
    services = Object.fromEntries(
      Object.entries(obj(obj(parse(result.stdout)).services)).map(([k, v]) => [k, obj(v)]),
    );
  });

  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('config -q accepts the default services', () => {
    const result = config('config', '-q');
    expect(result.status, result.output).toBe(0);
  });

  it('config -q accepts the postgres and monitoring profiles', () => {
    const result = config('--profile', 'postgres', '--profile', 'monitoring', 'config', '-q');
    expect(result.status, result.output).toBe(0);
  });

  it('config -q fails on a broken file (the check can fail)', () => {
    const broken = path.join(dir, 'broken.yml');
    writeFileSync(
      broken,
      'services:\n  bot:\n    image: x\n    restart: sometimes-maybe\n    healthcheck: yes\n',
    );
    const result = run(compose.path ?? 'docker-compose', ['-f', broken, 'config', '-q'], { cwd: dir });
    expect(result.status).not.toBe(0);
  });

  it('the bot reads .env, keeps data in a volume, restarts and has a health check', () => {
    const bot = obj(services.bot);
    expect(obj(bot.environment).TELEGRAM_BOT_TOKEN).toBe('dummy-token');
    expect(mounts(bot).find((m) => m.target === '/app/data')?.source).toBe('deploybot-data');
    expect(bot.restart).toBe('unless-stopped');
    expect(list(obj(bot.healthcheck).test).join(' ')).toContain('/healthz');
    expect(bot.profiles, 'the bot always runs').toBeUndefined();
    expect(bot.read_only).toBe(true);
  });

  it('only nginx is public: the bot, Prometheus and Grafana publish on loopback only', () => {
    for (const [name, service] of Object.entries(services)) {
      for (const port of list(service.ports).map(portSpec)) {
        if (name === 'nginx') expect(['80:80', '443:443']).toContain(port);
        else expect(port, `${name} publishes ${port}`).toMatch(/^127\.0\.0\.1:/);
      }
    }
    expect(list(obj(services.nginx).ports).map(portSpec).sort()).toEqual(['443:443', '80:80']);
  });

  it('nginx waits for a healthy bot and mounts the repository config read-only', () => {
    const nginx = obj(services.nginx);
    expect(obj(obj(nginx.depends_on).bot).condition).toBe('service_healthy');
    expect(mounts(nginx)).toEqual(
      expect.arrayContaining([
        { source: path.join(dir, 'nginx', 'nginx.conf'), target: '/etc/nginx/nginx.conf', readOnly: true },
        { source: path.join(dir, 'nginx', 'snippets'), target: '/etc/nginx/snippets', readOnly: true },
        { source: path.join(dir, 'nginx', 'certs'), target: '/etc/nginx/certs', readOnly: true },
      ]),
    );
  });

  it('postgres and monitoring services sit behind their profiles, with volumes and health checks', () => {
    expect(services.postgres?.profiles).toEqual(['postgres', 'ha']);
    expect(list(obj(services.postgres?.healthcheck).test).join(' ')).toContain('pg_isready');
    expect(mounts(obj(services.postgres)).map((m) => m.target)).toContain('/var/lib/postgresql/data');
    expect(services.prometheus?.profiles).toEqual(['monitoring']);
    expect(services.grafana?.profiles).toEqual(['monitoring']);
    expect(obj(services.prometheus?.healthcheck).test).toBeDefined();
  });

  it('every file it mounts from the repository exists, and the pieces agree with each other', () => {
    const runtimeOnly = ['nginx/certs', 'nginx/acme']; // created on the host (docs/installation.md)
    for (const service of Object.values(services)) {
      for (const { source } of mounts(service)) {
        if (!source.startsWith(dir)) continue; // named volume
        const relative = path.relative(dir, source);
        if (runtimeOnly.includes(relative)) continue;
        expect(existsSync(path.join(REPO_ROOT, relative)), relative).toBe(true);
      }
    }
    const grafanaMounts = mounts(obj(services.grafana));
    const dashboards = parse(
      readFileSync(path.join(REPO_ROOT, 'monitoring/grafana/provisioning/dashboards/deploybot.yml'), 'utf8'),
    );
    const dashboardPath = obj(obj(list(obj(dashboards).providers)[0]).options).path;
    expect(grafanaMounts.map((m) => m.target)).toContain(dashboardPath);
    const datasources = readFileSync(
      path.join(REPO_ROOT, 'monitoring/grafana/provisioning/datasources/prometheus.yml'),
      'utf8',
    );
    expect(datasources).toContain('url: http://prometheus:9090');
    const prometheus = readFileSync(path.join(REPO_ROOT, 'monitoring/prometheus.yml'), 'utf8');
    expect(prometheus).toContain('targets: ["bot:8080"]');
    const nginxConf = readFileSync(path.join(REPO_ROOT, 'nginx/nginx.conf'), 'utf8');
    expect(nginxConf).toContain('include upstream.conf;');
    expect(readFileSync(path.join(REPO_ROOT, 'nginx/upstream.conf'), 'utf8')).toContain('server bot:8080;');
  });

  it('the ha profile: a second bot like the first, on PostgreSQL, and nginx balancing over both', () => {
    writeFileSync(
      path.join(dir, '.env'),
      'TELEGRAM_BOT_TOKEN=dummy-token\nNGINX_UPSTREAM=upstream-ha.conf\n',
    );
    try {
      const result = config('--profile', 'ha', 'config');
      expect(result.status, result.output).toBe(0);
      const ha = obj(obj(parse(result.stdout)).services);
      // (docker-compose 1.x prints every service whatever the profile: the profiles say who runs.)
      expect(obj(ha['bot-2']).profiles).toEqual(['ha']);
      expect(obj(ha.postgres).profiles).toContain('ha');
      const [bot, second] = [obj(ha.bot), obj(ha['bot-2'])];
      // The same service but for what must differ: name, loopback port, volume, and no second build.
      const same = (s: Json) => {
        const { ports: _p, volumes: _v, depends_on: _d, profiles: _f, build: _b, ...rest } = s;
        return rest;
      };
      expect(same(second)).toEqual(same(bot));
      expect(list(second.ports).map(portSpec)).toEqual(['127.0.0.1:8081:8080']);
      expect(obj(obj(second.depends_on).postgres).condition).toBe('service_healthy');
      const upstream = mounts(obj(ha.nginx)).find((m) => m.target === '/etc/nginx/upstream.conf');
      expect(upstream).toEqual({
        source: path.join(dir, 'nginx', 'upstream-ha.conf'),
        target: '/etc/nginx/upstream.conf',
        readOnly: true,
      });
      const haConf = readFileSync(path.join(REPO_ROOT, 'nginx/upstream-ha.conf'), 'utf8');
      expect(haConf).toMatch(/server bot:8080 [^;]*;/);
      expect(haConf).toMatch(/server bot-2:8080 [^;]*;/);
    } finally {
      writeFileSync(path.join(dir, '.env'), 'TELEGRAM_BOT_TOKEN=dummy-token\nADMIN_TELEGRAM_IDS=1\n');
    }
  });
});
