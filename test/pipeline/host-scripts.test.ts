import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  buildBusyboxImage,
  type ContainerLab,
  type PushedImage,
  startContainerLab,
} from './support/container-lab.ts';
import { freePort } from './support/free-port.ts';
import { authorizedKeyLine, installScripts, writeGateConfig } from './support/host-gate.ts';
import { mustHaveTools, unavailableReason, which } from './support/require-tools.ts';
import { runProcess } from './support/run-process.ts';
import { clientOptions, type SshServer, startSshServer } from './support/ssh-server.ts';
import { removeWorkDir } from './support/teardown.ts';

// The host scripts for real, as a host runs them: ssh-deploy.sh (what actions/deploy-compose runs)
// connects with an environment's key, which sshd forces to deploybot-ssh-gate with the
// authorized_keys line of terraform/user-data.sh.tftpl; the gate runs deploy.sh with the host's
// settings; Compose talks to podman's Docker API; images are pulled by digest from a local
// registry. One sshd plays two hosts: the staging key's config says "staging", the review key's
// "review-1".
const repo = resolve(import.meta.dirname, '../..');
const sshDeploy = join(repo, 'actions/deploy-compose/ssh-deploy.sh');
const TOOLS = {
  sshd: 'openssh-server',
  ssh: 'openssh-client',
  'ssh-keygen': 'openssh-client',
  podman: 'podman',
  runc: 'runc',
  'docker-compose': 'docker-compose',
  'docker-registry': 'docker-registry',
  docker: 'docker.io',
  busybox: 'busybox-static',
  curl: 'curl',
  flock: 'util-linux',
  tar: 'tar',
};
const reason = unavailableReason(TOOLS, true);

if (reason && mustHaveTools) {
  describe('host scripts over ssh', () => {
    it('has the tools it needs (CI=true: a skip is a failure)', () => {
      throw new Error(`cannot run the host script tests: ${reason}`);
    });
  });
} else if (reason) {
  console.warn(`skipping host script tests: ${reason}`);
}

interface DeployRun {
  code: number;
  output: string;
  outputs: Record<string, string>;
}

type ImageName = 'v1' | 'v2' | 'v3bad' | 'review';

describe.skipIf(reason !== null)('host scripts over ssh', () => {
  let dir = '';
  let appDir = '';
  let lab: ContainerLab | undefined;
  let ssh: SshServer | undefined;
  const images = {} as Record<ImageName, PushedImage>;
  let healthUrl = '';
  let runs = 0;

  const servedBody = async (): Promise<string> => {
    const res = await fetch(healthUrl, { signal: AbortSignal.timeout(2000) });
    return `${res.status} ${(await res.text()).trim()}`;
  };

  const deploy = async (
    command: 'deploy' | 'rollback' | 'state',
    image: string,
    extra: Record<string, string> = {},
    onLine?: (line: string) => void,
  ): Promise<DeployRun> => {
    if (!ssh) throw new Error('sshd is not running');
    runs += 1;
    const outputFile = join(dir, `github-output-${runs}`);
    writeFileSync(outputFile, '');
    // The same environment the deploy-compose action gives the script.
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      RUNNER_TEMP: dir,
      GITHUB_OUTPUT: outputFile,
      DEPLOY_HOST: ssh.host,
      DEPLOY_USER: ssh.user,
      DEPLOY_SSH_PORT: String(ssh.port),
      DEPLOY_SSH_KEY: ssh.privateKeys.staging,
      DEPLOY_SSH_KNOWN_HOSTS: ssh.knownHosts,
      DEPLOY_COMMAND: command,
      DEPLOY_ENVIRONMENT: 'staging',
      DEPLOY_IMAGE: image,
      ...extra,
    };
    const result = await runProcess('bash', [sshDeploy], {
      env,
      timeoutMs: 90_000,
      ...(onLine ? { onLine } : {}),
    });
    const outputs = Object.fromEntries(
      readFileSync(outputFile, 'utf8')
        .split('\n')
        .filter((l) => l.includes('='))
        .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
    );
    return { ...result, outputs };
  };

  /** Raw ssh with the staging key: what anyone holding the key could send. */
  const rawSsh = (request: string) => {
    if (!ssh) throw new Error('sshd is not running');
    return runProcess(
      'ssh',
      [...clientOptions(ssh, 'staging'), '-p', String(ssh.port), `${ssh.user}@${ssh.host}`, request],
      {
        timeoutMs: 30_000,
      },
    );
  };

  const stateOf = (environment = 'staging'): Record<string, string> => {
    const stateDir = join(appDir, '.deploy', environment);
    return Object.fromEntries(
      readdirSync(stateDir)
        .filter((f) => f !== 'lock')
        .map((f) => [f, readFileSync(join(stateDir, f), 'utf8')]),
    );
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'deploybot-pipeline-'));
    appDir = join(dir, 'app');
    lab = await startContainerLab(dir);
    const appPort = await freePort();
    const reviewPort = await freePort();
    healthUrl = `http://127.0.0.1:${appPort}/cgi-bin/health`;
    const build = (tag: string, healthy: boolean, port = appPort) =>
      buildBusyboxImage(lab as ContainerLab, dir, { name: 'shop/app', tag, port, healthy, body: tag });
    images.v1 = await build('v1', true);
    images.v2 = await build('v2', true);
    images.v3bad = await build('v3bad', false);
    images.review = await build('review-bad', false, reviewPort);
    mkdirSync(appDir);
    // What the app's compose file on a host looks like: the image comes from APP_IMAGE.
    writeFileSync(
      join(appDir, 'docker-compose.yml'),
      [
        'services:',
        '  web:',
        `    image: $\{APP_IMAGE}`,
        '    network_mode: host',
        '    restart: "no"',
        '',
      ].join('\n'),
    );
    // Each "host" is what Terraform's user data writes: its gate.conf and its key's line.
    const gate = (environment: string, url: string, tries: string) =>
      writeGateConfig(join(dir, `gate-${environment}.conf`), {
        ENVIRONMENT: environment,
        IMAGE_REPOSITORY: `${lab?.registry}/shop/app`,
        DEPLOY_PATH: appDir,
        LOG_FILE: join(dir, 'gate.log'),
        COMPOSE_CMD: 'docker-compose',
        HEALTH_URL: url,
        HEALTH_TRIES: tries,
        HEALTH_INTERVAL: '1',
        DOCKER_HOST: lab?.dockerHost ?? '',
      });
    const stagingConfig = gate('staging', healthUrl, '5');
    const reviewConfig = gate('review-1', `http://127.0.0.1:${reviewPort}/cgi-bin/health`, '2');
    // The scripts as Terraform installs them (without comment lines).
    const installed = installScripts(dir);
    ssh = await startSshServer(dir, {
      staging: (key) => authorizedKeyLine(key, stagingConfig, installed),
      review: (key) => authorizedKeyLine(key, reviewConfig, installed),
    });
  }, 120_000);

  // Every process is stopped and waited for before the dir goes: the app containers of both
  // environments, sshd, then podman and the registry; removeWorkDir then waits for podman's
  // detached cleanup helpers. Anything still using the dir 30 s later is a leak and fails here.
  afterAll(async () => {
    const problems: string[] = [];
    if (lab) {
      for (const project of ['app-staging', 'app-review-1']) {
        const down = await runProcess('docker-compose', ['-p', project, 'down', '--timeout', '1'], {
          cwd: appDir,
          env: { ...lab.dockerEnv, APP_IMAGE: 'unused/unused:x' },
          timeoutMs: 60_000,
        }).catch((error: Error) => ({ code: 1, output: error.message }));
        if (down.code !== 0) problems.push(`docker-compose -p ${project} down: ${down.output}`);
      }
    }
    await ssh?.stop().catch((error: Error) => problems.push(`sshd: ${error.message}`));
    await lab?.stop().catch((error: Error) => problems.push(`lab: ${error.message}`));
    const killed = await removeWorkDir(dir);
    if (killed.length > 0) problems.push(`still using ${dir} 30 s after teardown: ${killed.join('; ')}`);
    if (problems.length > 0) throw new Error(problems.join('\n'));
  }, 180_000);

  it('first deploy: v1 runs and is healthy, no previous image', async () => {
    const run = await deploy('deploy', images.v1.digest);
    expect(run.code, run.output).toBe(0);
    expect(run.outputs).toMatchObject({ result: 'deployed', previous_image: '', exit_code: '0' });
    expect(await servedBody()).toBe('200 v1');
    expect(stateOf().current).toBe(`${images.v1.digest}\n`);
  }, 60_000);

  it('second deploy: v2 replaces v1 and records v1 as previous', async () => {
    const run = await deploy('deploy', images.v2.digest);
    expect(run.code, run.output).toBe(0);
    expect(run.outputs).toMatchObject({ result: 'deployed', previous_image: images.v1.digest });
    expect(run.output).toMatch(/health-check: attempt 1\/5: HTTP 200/);
    expect(await servedBody()).toBe('200 v2');
    expect(stateOf()).toMatchObject({ current: `${images.v2.digest}\n`, previous: `${images.v1.digest}\n` });
  }, 60_000);

  it('third deploy is unhealthy: exit 3, v2 is restored and serves again', async () => {
    let unhealthyAt = 0;
    let servingAgainAt = 0;
    let probing: Promise<void> | undefined;
    const probe = async (): Promise<void> => {
      // Bounded: 600 × 50 ms is 30 s, far more than a restore takes.
      for (let i = 0; i < 600; i++) {
        if ((await servedBody().catch(() => '')) === '200 v2') {
          servingAgainAt = performance.now();
          return;
        }
        await new Promise((r) => setTimeout(r, 50));
      }
    };
    const run = await deploy('deploy', images.v3bad.digest, {}, (line) => {
      if (!unhealthyAt && line.startsWith('deploy: unhealthy at')) {
        unhealthyAt = performance.now();
        probing = probe();
      }
    });
    await probing;
    expect(run.code, run.output).toBe(3);
    expect(run.outputs).toMatchObject({
      result: 'rolled-back',
      previous_image: images.v2.digest,
      exit_code: '3',
    });
    expect(run.output).toMatch(/health-check: attempt 5\/5: HTTP 500/);
    expect(await servedBody()).toBe('200 v2');
    // v2 is current again and `previous` steps back to v1, never onto the broken image.
    expect(stateOf()).toMatchObject({ current: `${images.v2.digest}\n`, previous: `${images.v1.digest}\n` });
    expect(unhealthyAt).toBeGreaterThan(0);
    expect(servingAgainAt).toBeGreaterThan(unhealthyAt);
    const ms = Math.round(servingAgainAt - unhealthyAt);
    console.info(`pipeline: failed health check -> previous image serving again: ${ms} ms`);
  }, 60_000);

  it('rollback returns to the previous recorded image', async () => {
    const run = await deploy('rollback', '');
    expect(run.code, run.output).toBe(0);
    expect(run.output).toContain(`rollback: returning staging to ${images.v1.digest}`);
    expect(run.outputs).toMatchObject({ result: 'deployed', previous_image: images.v2.digest });
    expect(await servedBody()).toBe('200 v1');
    expect(stateOf()).toMatchObject({ current: `${images.v1.digest}\n`, previous: `${images.v2.digest}\n` });
  }, 60_000);

  it('state reports what runs, what ran before and the history, changing nothing', async () => {
    const before = stateOf();
    const run = await deploy('state', '');
    expect(run.code, run.output).toBe(0);
    expect(run.output).toContain(`current=${images.v1.digest}\n`);
    expect(run.output).toContain(`previous=${images.v2.digest}\n`);
    expect(run.output).toMatch(new RegExp(`history=\\S+\\tdeploy\\t${images.v3bad.digest}\\tunhealthy`));
    expect(stateOf()).toEqual(before);
  }, 60_000);

  it('an image that cannot be pulled: exit 6, nothing changed', async () => {
    const before = stateOf();
    const missing = `${images.v1.digest.replace(/@sha256:.*$/, '')}@sha256:${'0'.repeat(64)}`;
    const run = await deploy('deploy', missing);
    expect(run.code, run.output).toBe(6);
    expect(await servedBody()).toBe('200 v1');
    const after = stateOf();
    expect({ ...after, 'history.log': '' }).toEqual({ ...before, 'history.log': '' });
  }, 60_000);

  it('a host key that is not the pinned one: ssh refuses (255) and nothing runs', async () => {
    const before = stateOf();
    const run = await deploy('deploy', images.v2.digest, {
      DEPLOY_SSH_KNOWN_HOSTS: ssh?.wrongKnownHosts ?? '',
    });
    expect(run.code, run.output).toBe(255);
    expect(run.output).toMatch(/host key/i);
    expect(stateOf()).toEqual(before);
    expect(await servedBody()).toBe('200 v1');
  }, 60_000);

  it('a first deploy that is unhealthy has nothing to go back to: exit 5, other environments untouched', async () => {
    const before = stateOf();
    const run = await deploy('deploy', images.review.digest, {
      DEPLOY_ENVIRONMENT: 'review-1',
      DEPLOY_SSH_KEY: ssh?.privateKeys.review ?? '',
    });
    expect(run.code, run.output).toBe(5);
    expect(run.outputs).toMatchObject({ result: 'failed-no-previous', previous_image: '', exit_code: '5' });
    expect(stateOf('review-1').current).toBeUndefined();
    expect(stateOf('review-1')['history.log']).toMatch(/\tunhealthy\n$/);
    expect(stateOf()).toEqual(before);
    expect(await servedBody()).toBe('200 v1');
  }, 60_000);

  it("one environment's key cannot deploy to another environment's host", async () => {
    const before = stateOf();
    const run = await deploy('deploy', images.v2.digest, { DEPLOY_SSH_KEY: ssh?.privateKeys.review ?? '' });
    expect(run.code, run.output).toBe(2);
    expect(run.output).toContain('refused: this host deploys review-1 only, not staging');
    expect(stateOf()).toEqual(before);
    expect(await servedBody()).toBe('200 v1');
  }, 60_000);

  const badEnvironments = ['prod;rm -rf /', '$(id)', '../x', '', 'Staging', 'a'.repeat(33)];
  const badImages = (): string[] => [
    'prod;rm -rf /',
    '$(id)',
    '../x',
    '',
    'registry.example/app:v1 --privileged',
    'registry.example/app',
    'registry.example/app:`id`',
    'app:v1',
    `${images.v2.digest} --privileged`,
    `${images.v2.digest.slice(0, -1)}`,
    // A tag, even of an image that exists: deploys are by digest only.
    images.v2.tagged,
  ];

  it('deploy.sh refuses bad arguments and tags with exit 2 before anything changes (on the host)', async () => {
    const before = stateOf();
    const deployScript = join(repo, 'scripts/deploy.sh');
    const env = {
      ...process.env,
      ...(lab?.dockerEnv ?? {}),
      DEPLOY_PATH: appDir,
      COMPOSE_CMD: 'docker-compose',
    };
    const cases: Array<[string, string]> = [
      ...badEnvironments.map((e): [string, string] => [e, images.v2.digest]),
      ...badImages().map((i): [string, string] => ['staging', i]),
    ];
    for (const [environment, image] of cases) {
      const run = await runProcess('bash', [deployScript, environment, image], { env, timeoutMs: 20_000 });
      expect(run.code, `${environment} ${image}: ${run.output}`).toBe(2);
      expect(run.output).toMatch(/deploy: refusing (environment|image)/);
    }
    const other = await runProcess('bash', [deployScript, 'staging', images.v2.digest], {
      env: { ...env, DEPLOY_IMAGE_REPOSITORY: 'registry.example/other' },
    });
    expect(other.code, other.output).toBe(2);
    expect(other.output).toContain('this host deploys only registry.example/other');
    const tooMany = await runProcess('bash', [deployScript, 'staging', images.v2.digest, 'extra'], { env });
    expect(tooMany.code).toBe(2);
    const rollback = await runProcess('bash', [join(repo, 'scripts/rollback.sh'), '$(id)'], { env });
    expect(rollback.code).toBe(2);
    expect(stateOf()).toEqual(before);
    expect(await servedBody()).toBe('200 v1');
  }, 60_000);

  it('ssh-deploy.sh refuses a tag or a bad value before connecting (exit 2)', async () => {
    for (const image of badImages()) {
      const run = await deploy('deploy', image);
      expect(run.code, `${image}: ${run.output}`).toBe(2);
      expect(run.output).not.toContain('ssh-deploy: deploy ');
    }
    for (const environment of badEnvironments) {
      const run = await deploy('deploy', images.v2.digest, { DEPLOY_ENVIRONMENT: environment });
      expect(run.code, `${environment}: ${run.output}`).toBe(2);
    }
  }, 60_000);

  it('the host refuses the same values sent with the key directly (exit 2, logged), nothing changed', async () => {
    const before = stateOf();
    for (const image of badImages().filter(Boolean)) {
      const run = await rawSsh(`deploy staging ${image}`);
      expect(run.code, `${image}: ${run.output}`).toBe(2);
      expect(run.output).toContain('deploybot-ssh-gate: refused');
    }
    const log = readFileSync(join(dir, 'gate.log'), 'utf8');
    expect(log).toContain(
      `refused: the image must be ${lab?.registry}/shop/app@sha256:<64 hex> (a digest, never a tag)`,
    );
    expect(log).toContain(`request=deploy\\ staging\\ ${images.v2.tagged}`);
    expect(stateOf()).toEqual(before);
    expect(await servedBody()).toBe('200 v1');
  }, 60_000);

  it('uses the docker CLI only as a client: no Docker daemon socket is needed', () => {
    expect(which('docker')).not.toBeNull();
    expect(lab?.dockerHost).toMatch(/^unix:\/\/.*podman\.sock$/);
  });
});
