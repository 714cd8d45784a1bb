// biome-ignore-all lint/suspicious/noTemplateCurlyInString: ${name} is Terraform template syntax, not a JS template.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { readRepoFile } from './pipeline-files.ts';
import { which } from './require-tools.ts';
import { hasExited, stopChild } from './teardown.ts';
import { waitFor } from './wait-for.ts';

/** The edge nginx a blue-green or canary host runs in front of its colours. */
export interface Edge {
  /** http://127.0.0.1:<port> */
  url: string;
  conf: string;
  upstream: string;
  accessLog: string;
  /** What nginx wrote to stderr (startup, reload problems). */
  log(): string;
  stop(): Promise<void>;
}

/**
 * terraform/edge-nginx.conf.tftpl rendered the way templatefile() does for what it uses (`${name}`
 * only): the test runs the very file Terraform installs on hosts.
 * @throws {Error} when the template uses a name not given here.
 */
export function renderEdgeConfig(values: Record<string, string>): string {
  return readRepoFile('terraform/edge-nginx.conf.tftpl').replace(/\$\{([a-z_]+)\}/g, (_m, key: string) => {
    const value = values[key];
    if (value === undefined)
      throw new Error(`edge-nginx.conf.tftpl uses \${${key}}, which the test does not set`);
    return value;
  });
}

/** An upstream file as colors-lib.sh writes one: one server per port, with its weight. */
export function upstreamFile(servers: Array<[port: number, weight: number]>): string {
  const lines = servers.map(([port, weight]) => `    server 127.0.0.1:${port} weight=${weight} max_fails=0;`);
  return ['upstream deploybot_app {', ...lines, '    keepalive 16;', '}', ''].join('\n');
}

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/**
 * Starts nginx (in the foreground, as the test's child) with the edge config under `dir`,
 * listening on 127.0.0.1:`port` and sending everything to `initialPort` until a script rewrites
 * the upstream. The pid file is the config's, so `nginx -c <conf> -s reload` reaches it.
 */
export async function startEdge(dir: string, port: number, initialPort: number): Promise<Edge> {
  mkdirSync(join(dir, 'temp'), { recursive: true });
  mkdirSync(join(dir, 'conf.d'), { recursive: true });
  const files = {
    conf: join(dir, 'nginx.conf'),
    upstream: join(dir, 'upstream.conf'),
    accessLog: join(dir, 'access.log'),
  };
  writeFileSync(
    files.conf,
    renderEdgeConfig({
      pid_file: join(dir, 'nginx.pid'),
      error_log: join(dir, 'error.log'),
      access_log: files.accessLog,
      temp_dir: join(dir, 'temp'),
      upstream_file: files.upstream,
      listen: `127.0.0.1:${port}`,
      conf_dir: join(dir, 'conf.d'),
    }),
  );
  writeFileSync(files.upstream, upstreamFile([[initialPort, 100]]));
  const nginx = which('nginx') ?? '/usr/sbin/nginx';
  const child: ChildProcess = spawn(nginx, ['-e', 'stderr', '-c', files.conf, '-g', 'daemon off;'], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let log = '';
  child.stderr?.on('data', (b: Buffer) => {
    log += b.toString();
  });
  const stop = (): Promise<void> => stopChild(child, 5000, 'SIGQUIT');
  try {
    await waitFor(
      'nginx to listen',
      async () => {
        if (hasExited(child)) throw new Error(`nginx exited (${child.exitCode ?? child.signalCode})`);
        return portOpen(port);
      },
      100,
    );
  } catch (error) {
    await stop();
    throw new Error(`${(error as Error).message}\n${log}`);
  }
  return { url: `http://127.0.0.1:${port}`, ...files, log: () => log, stop };
}
