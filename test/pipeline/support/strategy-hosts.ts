import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  buildBusyboxImage,
  type ContainerLab,
  type PushedImage,
  startContainerLab,
} from './container-lab.ts';
import { type Edge, startEdge, upstreamFile } from './edge.ts';
import { freePort } from './free-port.ts';
import { authorizedKeyLine, installScripts, writeGateConfig } from './host-gate.ts';
import { repoRoot } from './pipeline-files.ts';
import { runProcess } from './run-process.ts';
import { type SshServer, startSshServer } from './ssh-server.ts';

/**
 * Three "hosts" on one machine for the zero-downtime tests, each with its own deploy key, gate.conf
 * and nginx in front: `recreate` (one project on one port, as before issue #15), `bluegreen` and
 * `canary` (two colours behind the edge nginx of terraform/edge-nginx.conf.tftpl). One sshd, one
 * podman, one registry, like host-scripts.test.ts.
 */
export type HostName = 'recreate' | 'bluegreen' | 'canary';
export type Version = 'v1' | 'v2' | 'v3bad' | 'v4';

export interface StrategyHosts {
  dir: string;
  appDir: string;
  lab: ContainerLab;
  ssh: SshServer;
  edges: Record<HostName, Edge>;
  /** Colour ports of the colour hosts. */
  ports: Record<'bluegreen' | 'canary', { blue: number; green: number }>;
  images: Record<Version, PushedImage>;
  /** While this file exists, v4 answers 503 (a canary that degrades under way). */
  degradeFile: string;
  /** Runs actions/deploy-compose/ssh-deploy.sh as the action does, with that host's key. */
  send(
    host: HostName,
    env: Record<string, string>,
    onLine?: (line: string) => void,
    timeoutMs?: number,
  ): Promise<HostRun>;
  stop(): Promise<string[]>;
}

export interface HostRun {
  code: number;
  output: string;
  outputs: Record<string, string>;
  ms: number;
}

async function distinctPorts(count: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < count) ports.add(await freePort());
  return [...ports];
}

/**
 * Starts the three hosts under `dir`. When a part fails to start, what did start is stopped
 * before the error is thrown.
 */
export async function startStrategyHosts(dir: string): Promise<StrategyHosts> {
  const started: Array<{ stop(): Promise<void> }> = [];
  try {
    return await start(dir, started);
  } catch (error) {
    for (const part of started.reverse()) await part.stop().catch(() => undefined);
    throw error;
  }
}

async function start(dir: string, started: Array<{ stop(): Promise<void> }>): Promise<StrategyHosts> {
  const appDir = join(dir, 'app');
  mkdirSync(join(appDir, 'data'), { recursive: true });
  const lab = await startContainerLab(dir);
  started.push(lab);
  const [appPort, bgBlue, bgGreen, cBlue, cGreen, eRecreate, eBlueGreen, eCanary] = await distinctPorts(8);
  const port = (p: number | undefined): number => p ?? 0;
  const build = (tag: Version, healthy = true, degradeWhen?: string) =>
    buildBusyboxImage(lab, dir, {
      name: 'shop/app',
      tag,
      port: port(appPort),
      healthy,
      body: tag,
      ...(degradeWhen ? { degradeWhen } : {}),
    });
  const images = {
    v1: await build('v1'),
    v2: await build('v2'),
    v3bad: await build('v3bad', false),
    v4: await build('v4', true, '/data/degrade'),
  };
  // recreate: the image's own port. Colours: the port deploy.sh gives each one (APP_PORT).
  const service = [
    'services:',
    '  web:',
    `    image: $\{APP_IMAGE}`,
    '    network_mode: host',
    '    restart: "no"',
  ];
  writeFileSync(join(appDir, 'recreate.yml'), [...service, ''].join('\n'));
  writeFileSync(
    join(appDir, 'colours.yml'),
    [
      ...service,
      '    environment:',
      `      PORT: "$\{APP_PORT}"`,
      '    volumes:',
      '      - ./data:/data',
      '',
    ].join('\n'),
  );
  const edge = async (name: HostName, listen: number | undefined, initial: number | undefined) => {
    const running = await startEdge(join(dir, `edge-${name}`), port(listen), port(initial));
    started.push(running);
    return running;
  };
  const edges = {
    recreate: await edge('recreate', eRecreate, appPort),
    bluegreen: await edge('bluegreen', eBlueGreen, bgBlue),
    canary: await edge('canary', eCanary, cBlue),
  };
  writeFileSync(edges.recreate.upstream, upstreamFile([[port(appPort), 100]]));
  const common = (host: HostName) => ({
    ENVIRONMENT: host,
    IMAGE_REPOSITORY: `${lab.registry}/shop/app`,
    DEPLOY_PATH: appDir,
    LOG_FILE: join(dir, 'gate.log'),
    COMPOSE_CMD: 'docker-compose',
    HEALTH_TRIES: '5',
    HEALTH_INTERVAL: '1',
    DOCKER_HOST: lab.dockerHost,
  });
  const colour = (host: 'bluegreen' | 'canary', strategy: string, blue: number, green: number) => ({
    ...common(host),
    COMPOSE_FILE: 'colours.yml',
    HEALTH_URL: `${edges[host].url}/cgi-bin/health`,
    DEPLOY_STRATEGY: strategy,
    BLUE_PORT: String(blue),
    GREEN_PORT: String(green),
    NGINX_CONF: edges[host].conf,
    NGINX_UPSTREAM: edges[host].upstream,
    NGINX_ACCESS_LOG: edges[host].accessLog,
  });
  const configs: Record<HostName, string> = {
    recreate: writeGateConfig(join(dir, 'gate-recreate.conf'), {
      ...common('recreate'),
      COMPOSE_FILE: 'recreate.yml',
      HEALTH_URL: `http://127.0.0.1:${appPort}/cgi-bin/health`,
    }),
    bluegreen: writeGateConfig(
      join(dir, 'gate-bluegreen.conf'),
      colour('bluegreen', 'blue-green', port(bgBlue), port(bgGreen)),
    ),
    canary: writeGateConfig(join(dir, 'gate-canary.conf'), {
      ...colour('canary', 'canary', port(cBlue), port(cGreen)),
      CANARY_PAUSE: '4',
      CANARY_ERROR_MARGIN: '1',
      CANARY_MIN_REQUESTS: '20',
    }),
  };
  // The scripts as Terraform installs them (without comment lines).
  const installed = installScripts(dir);
  const ssh = await startSshServer(dir, {
    recreate: (key) => authorizedKeyLine(key, configs.recreate, installed),
    bluegreen: (key) => authorizedKeyLine(key, configs.bluegreen, installed),
    canary: (key) => authorizedKeyLine(key, configs.canary, installed),
  });

  let runs = 0;
  const send = async (
    host: HostName,
    env: Record<string, string>,
    onLine?: (line: string) => void,
    timeoutMs = 120_000,
  ) => {
    runs += 1;
    const outputFile = join(dir, `github-output-${runs}`);
    writeFileSync(outputFile, '');
    const started = Date.now();
    const result = await runProcess('bash', [join(repoRoot, 'actions/deploy-compose/ssh-deploy.sh')], {
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        RUNNER_TEMP: dir,
        GITHUB_OUTPUT: outputFile,
        DEPLOY_HOST: ssh.host,
        DEPLOY_USER: ssh.user,
        DEPLOY_SSH_PORT: String(ssh.port),
        DEPLOY_SSH_KEY: ssh.privateKeys[host],
        DEPLOY_SSH_KNOWN_HOSTS: ssh.knownHosts,
        DEPLOY_ENVIRONMENT: host,
        ...env,
      },
      timeoutMs,
      ...(onLine ? { onLine } : {}),
    });
    const outputs = Object.fromEntries(
      readFileSync(outputFile, 'utf8')
        .split('\n')
        .filter((l) => l.includes('='))
        .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
    );
    return { ...result, outputs, ms: Date.now() - started };
  };

  // Containers of every project, then nginx, sshd, podman and the registry, each one waited for.
  const stop = async (): Promise<string[]> => {
    const problems: string[] = [];
    const projects: Array<[string, string]> = [
      ['app-recreate', 'recreate.yml'],
      ...(['bluegreen', 'canary'] as const).flatMap((h) =>
        ['blue', 'green'].map((c): [string, string] => [`app-${h}-${c}`, 'colours.yml']),
      ),
    ];
    for (const [project, file] of projects) {
      const down = await runProcess('docker-compose', ['-p', project, '-f', file, 'down', '--timeout', '1'], {
        cwd: appDir,
        env: { ...lab.dockerEnv, APP_IMAGE: 'unused/unused:x', APP_PORT: '1' },
        timeoutMs: 60_000,
      }).catch((error: Error) => ({ code: 1, output: error.message }));
      if (down.code !== 0) problems.push(`docker-compose -p ${project} down: ${down.output}`);
    }
    for (const edge of Object.values(edges)) {
      await edge.stop().catch((error: Error) => problems.push(`nginx: ${error.message}`));
    }
    await ssh.stop().catch((error: Error) => problems.push(`sshd: ${error.message}`));
    await lab.stop().catch((error: Error) => problems.push(`lab: ${error.message}`));
    return problems;
  };

  return {
    dir,
    appDir,
    lab,
    ssh,
    edges,
    ports: {
      bluegreen: { blue: port(bgBlue), green: port(bgGreen) },
      canary: { blue: port(cBlue), green: port(cGreen) },
    },
    images,
    degradeFile: join(appDir, 'data', 'degrade'),
    send,
    stop,
  };
}
