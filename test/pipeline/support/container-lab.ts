import { type ChildProcess, spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { freePort } from './free-port.ts';
import { runChecked, runProcess } from './run-process.ts';
import { stopChild } from './teardown.ts';
import { waitFor } from './wait-for.ts';

/**
 * A throwaway container world under one temp dir: a registry on 127.0.0.1, podman serving the
 * Docker API on a unix socket (so the `docker` CLI and docker-compose talk to it), and podman's
 * storage, runtime state and registry settings all kept inside the dir.
 */
export interface ContainerLab {
  registry: string;
  dockerHost: string;
  /** Env for podman commands run by the test (storage and config inside the lab). */
  podmanEnv: NodeJS.ProcessEnv;
  /** Env for docker / docker-compose commands (DOCKER_HOST pointing at the lab's socket). */
  dockerEnv: NodeJS.ProcessEnv;
  stop(): Promise<void>;
}

function pingSocket(socketPath: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request({ socketPath, path: '/_ping', timeout: 1000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('error', () => resolve(false));
    req.on('timeout', () => req.destroy());
    req.end();
  });
}

/** Starts the registry and the podman API service under `dir`. Stop it with `stop()`. */
export async function startContainerLab(dir: string): Promise<ContainerLab> {
  const registryPort = await freePort();
  const registry = `127.0.0.1:${registryPort}`;
  const socket = join(dir, 'podman.sock');
  mkdirSync(join(dir, 'registry-data'), { recursive: true });
  writeFileSync(
    join(dir, 'registry.yml'),
    [
      'version: 0.1',
      'log:',
      '  level: warn',
      '  accesslog:',
      '    disabled: true',
      'storage:',
      '  filesystem:',
      `    rootdirectory: ${join(dir, 'registry-data')}`,
      'http:',
      `  addr: ${registry}`,
      '',
    ].join('\n'),
  );
  // runc rather than crun, ulimits podman may set here, host networking so the app answers on
  // 127.0.0.1 without netavark or iptables.
  writeFileSync(
    join(dir, 'containers.conf'),
    [
      '[engine]',
      'runtime = "runc"',
      'cgroup_manager = "cgroupfs"',
      'events_logger = "file"',
      // Podman's lock and alive files go here rather than /run/libpod, shared by every podman.
      `tmp_dir = "${join(dir, 'libpod-tmp')}"`,
      '[containers]',
      'default_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]',
      'netns = "host"',
      '',
    ].join('\n'),
  );
  writeFileSync(
    join(dir, 'storage.conf'),
    `[storage]\ndriver = "vfs"\ngraphroot = "${join(dir, 'storage')}"\nrunroot = "${join(dir, 'run')}"\n`,
  );
  writeFileSync(join(dir, 'registries.conf'), `[[registry]]\nlocation = "${registry}"\ninsecure = true\n`);
  const podmanEnv: NodeJS.ProcessEnv = {
    ...process.env,
    CONTAINERS_CONF: join(dir, 'containers.conf'),
    CONTAINERS_STORAGE_CONF: join(dir, 'storage.conf'),
    CONTAINERS_REGISTRIES_CONF: join(dir, 'registries.conf'),
    XDG_RUNTIME_DIR: join(dir, 'xdg'),
    TMPDIR: dir,
  };
  mkdirSync(join(dir, 'xdg'), { recursive: true, mode: 0o700 });
  const dockerHost = `unix://${socket}`;
  const dockerEnv: NodeJS.ProcessEnv = {
    ...process.env,
    DOCKER_HOST: dockerHost,
    DOCKER_CONFIG: join(dir, 'docker'),
  };

  const children: ChildProcess[] = [];
  const logs: string[] = [];
  const start = (command: string, args: string[]): void => {
    const child = spawn(command, args, { env: podmanEnv, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout?.on('data', (b: Buffer) => logs.push(b.toString()));
    child.stderr?.on('data', (b: Buffer) => logs.push(b.toString()));
    children.push(child);
  };

  /**
   * Containers first (podman stops their conmon processes), then the services, each one waited
   * for. Detached helpers may still be finishing afterwards (conmon runs `podman container
   * cleanup` when a container exits): remove the dir with `removeWorkDir`, which waits for them.
   * @throws {Error} when a container is left behind.
   */
  const stop = async (): Promise<void> => {
    const podman = (args: string[]) => runProcess('podman', args, { env: podmanEnv, timeoutMs: 60_000 });
    await podman(['rm', '--all', '--force', '--time', '1']).catch(() => undefined);
    const left = await podman(['ps', '--all', '--quiet']).catch(() => ({
      code: 1,
      output: '(podman ps failed)',
    }));
    for (const child of [...children].reverse()) await stopChild(child);
    if (left.code !== 0 || left.output.trim() !== '') {
      throw new Error(`the container lab left containers behind: ${left.output.trim()}`);
    }
  };

  try {
    start('docker-registry', ['serve', join(dir, 'registry.yml')]);
    start('podman', ['system', 'service', '--time=0', dockerHost]);
    await waitFor(
      'the registry',
      () =>
        fetch(`http://${registry}/v2/`).then(
          (r) => r.status === 200,
          () => false,
        ),
      150,
    );
    await waitFor('the podman API socket', () => pingSocket(socket), 150);
  } catch (error) {
    await stop().catch(() => undefined);
    throw new Error(`${(error as Error).message}\n${logs.join('')}`);
  }
  return { registry, dockerHost, podmanEnv, dockerEnv, stop };
}

/** An image pushed to the lab's registry, by digest (what deploy.sh takes) and by tag. */
export interface PushedImage {
  /** registry/name@sha256:<64 hex> */
  digest: string;
  /** registry/name:tag, the same image (deploy.sh refuses this form) */
  tagged: string;
}

/**
 * Builds an image from scratch (static busybox only) that serves `/cgi-bin/health` on
 * 127.0.0.1:`port` (or on $PORT when the container gets one, as a colour does), answering 200 with
 * `body`, or 500 when `healthy` is false; pushes it. With `degradeWhen`, it answers 503 while that
 * file exists in the container (a version that starts failing under way, for the canary tests).
 * @returns the pushed image, by digest and by tag.
 */
export async function buildBusyboxImage(
  lab: ContainerLab,
  dir: string,
  options: { name: string; tag: string; port: number; healthy: boolean; body: string; degradeWhen?: string },
): Promise<PushedImage> {
  const root = join(dir, `rootfs-${options.tag}`);
  mkdirSync(join(root, 'bin'), { recursive: true });
  mkdirSync(join(root, 'www', 'cgi-bin'), { recursive: true });
  copyFileSync('/bin/busybox', join(root, 'bin', 'busybox'));
  symlinkSync('busybox', join(root, 'bin', 'sh'));
  const status = options.healthy ? '200 OK' : '500 Internal Server Error';
  const degrade = options.degradeWhen
    ? `if [ -e ${options.degradeWhen} ]; then printf 'HTTP/1.1 503 Service Unavailable\\r\\n\\r\\ndegraded\\n'; exit 0; fi\n`
    : '';
  writeFileSync(
    join(root, 'www', 'cgi-bin', 'health'),
    `#!/bin/sh\n${degrade}printf 'HTTP/1.1 ${status}\\r\\nContent-Type: text/plain\\r\\n\\r\\n${options.body}\\n'\n`,
    { mode: 0o755 },
  );
  const tarball = join(dir, `rootfs-${options.tag}.tar`);
  await runChecked('tar', ['-C', root, '-cf', tarball, '.']);
  const tagged = `${lab.registry}/${options.name}:${options.tag}`;
  // A shell as PID 1 that stops httpd on SIGTERM, as a well-behaved app does (PID 1 ignores
  // SIGTERM unless it handles it, and Compose would wait its full stop timeout).
  const serve = `/bin/busybox httpd -f -p 127.0.0.1:\${PORT:-${options.port}} -h /www & pid=$!; trap 'kill $pid; exit 0' TERM; wait`;
  const cmd = JSON.stringify(['/bin/sh', '-c', serve]);
  await runChecked('podman', ['import', '--change', `CMD ${cmd}`, tarball, tagged], { env: lab.podmanEnv });
  const digestFile = join(dir, `digest-${options.tag}`);
  await runChecked('podman', ['push', '--tls-verify=false', '--digestfile', digestFile, tagged], {
    env: lab.podmanEnv,
  });
  const digest = readFileSync(digestFile, 'utf8').trim();
  if (!/^sha256:[a-f0-9]{64}$/.test(digest)) throw new Error(`podman push wrote no digest: ${digest}`);
  // Drop the local copy so deploy.sh really pulls from the registry.
  await runChecked('podman', ['rmi', tagged], { env: lab.podmanEnv });
  return { digest: `${lab.registry}/${options.name}@${digest}`, tagged };
}
