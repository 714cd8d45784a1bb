import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from './support/free-port.ts';
import { authorizedKeyLine, writeGateConfig } from './support/host-gate.ts';
import { repoRoot } from './support/pipeline-files.ts';
import { mustHaveTools, unavailableReason } from './support/require-tools.ts';
import { runProcess } from './support/run-process.ts';
import { clientOptions, type SshServer, startSshServer } from './support/ssh-server.ts';
import { removeWorkDir, stopChild } from './support/teardown.ts';

// What someone holding an environment's deploy key can do on its host, on a real sshd with the
// authorized_keys line of terraform/user-data.sh.tftpl: run deploy, rollback and state with
// checked arguments, and nothing else. Every refusal is logged. The `bare` key is the line the
// old user data wrote (the key alone): the first test shows what that allowed.
const reason = unavailableReason(
  { sshd: 'openssh-server', ssh: 'openssh-client', scp: 'openssh-client', sftp: 'openssh-client' },
  true,
);
if (reason && mustHaveTools) {
  describe('deploybot-ssh-gate', () => {
    it('has the tools it needs (CI=true: a skip is a failure)', () => {
      throw new Error(`cannot run the ssh gate tests: ${reason}`);
    });
  });
} else if (reason) {
  console.warn(`skipping ssh gate tests: ${reason}`);
}

const REPOSITORY = 'registry.example/shop/app';
// A file that exists only if a request ran as a shell command (named before the tests are built).
const canary = join(tmpdir(), `deploybot-gate-pwned-${process.pid}`);
const DIGEST = `sha256:${'a'.repeat(64)}`;
const OTHER = `sha256:${'b'.repeat(64)}`;

describe.skipIf(reason !== null)('deploybot-ssh-gate on a real sshd', () => {
  let dir = '';
  let ssh: SshServer;
  let config = '';
  let target: Server | undefined;
  const forwarders: ChildProcess[] = [];

  const sshArgs = (key: string, ...rest: string[]): string[] => [
    ...clientOptions(ssh, key),
    '-p',
    String(ssh.port),
    ...rest,
  ];
  const request = (command: string | null, key = 'staging', extra: string[] = []) =>
    runProcess(
      'ssh',
      sshArgs(key, ...extra, `${ssh.user}@${ssh.host}`, ...(command === null ? [] : [command])),
      { timeoutMs: 20_000, input: '' },
    );
  const gateLog = (): string =>
    existsSync(join(dir, 'gate.log')) ? readFileSync(join(dir, 'gate.log'), 'utf8') : '';

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'deploybot-gate-'));
    const appDir = join(dir, 'app');
    mkdirSync(join(appDir, '.deploy', 'staging'), { recursive: true });
    writeFileSync(join(appDir, '.deploy', 'staging', 'current'), `${REPOSITORY}@${DIGEST}\n`);
    config = writeGateConfig(join(dir, 'gate.conf'), {
      ENVIRONMENT: 'staging',
      IMAGE_REPOSITORY: REPOSITORY,
      DEPLOY_PATH: appDir,
      LOG_FILE: join(dir, 'gate.log'),
    });
    // A blue-green host of the same environment: two colours behind nginx (issue #15).
    const colourApp = join(dir, 'colour-app');
    mkdirSync(join(colourApp, '.deploy', 'staging'), { recursive: true });
    writeFileSync(join(colourApp, '.deploy', 'staging', 'live'), 'green\n');
    writeFileSync(join(colourApp, '.deploy', 'staging', 'green'), `${REPOSITORY}@${DIGEST}\n`);
    writeFileSync(join(colourApp, '.deploy', 'staging', 'canary'), 'blue 25 1234\n');
    writeFileSync(join(colourApp, '.deploy', 'staging', 'blue'), `${REPOSITORY}@${OTHER}\n`);
    const colourConfig = writeGateConfig(join(dir, 'gate-colour.conf'), {
      ENVIRONMENT: 'staging',
      IMAGE_REPOSITORY: REPOSITORY,
      DEPLOY_PATH: colourApp,
      LOG_FILE: join(dir, 'gate.log'),
      DEPLOY_STRATEGY: 'blue-green',
    });
    ssh = await startSshServer(dir, {
      staging: (key) => authorizedKeyLine(key, config),
      colour: (key) => authorizedKeyLine(key, colourConfig),
      bare: (key) => key,
    });
  }, 60_000);

  afterAll(async () => {
    for (const child of forwarders) await stopChild(child);
    await new Promise<void>((resolve) => (target ? target.close(() => resolve()) : resolve()));
    await ssh?.stop();
    rmSync(canary, { force: true });
    rmSync(`${canary}.bare`, { force: true });
    const killed = await removeWorkDir(dir);
    expect(killed, 'processes still using the gate test dir').toEqual([]);
  }, 60_000);

  it('control: the old authorized_keys line (the bare key) gives whoever holds the key a shell', async () => {
    const run = await request(`id -u && touch ${canary}.bare`, 'bare');
    expect(run.code, run.output).toBe(0);
    expect(existsSync(`${canary}.bare`)).toBe(true);
  });

  it('allows state for its own environment', async () => {
    const run = await request('state staging');
    expect(run.code, run.output).toBe(0);
    expect(run.output).toBe(
      `environment=staging\nstrategy=recreate\ncurrent=${REPOSITORY}@${DIGEST}\nprevious=\n`,
    );
    expect(gateLog()).toMatch(/ from=127\.0\.0\.1 allowed: state staging\n/);
  });

  it('a blue-green host says which colour is live, what each runs and its share of the requests', async () => {
    const run = await request('state staging', 'colour');
    expect(run.code, run.output).toBe(0);
    expect(run.output).toBe(
      [
        'environment=staging',
        'strategy=blue-green',
        'current=',
        'previous=',
        'live=green',
        `blue=${REPOSITORY}@${OTHER}`,
        'blue_weight=25',
        `green=${REPOSITORY}@${DIGEST}`,
        'green_weight=75',
        'canary=blue',
        '',
      ].join('\n'),
    );
  });

  it('a blue-green host refuses a deploy that names no strategy, or recreate (exit 2, logged)', async () => {
    for (const command of [
      `deploy staging ${REPOSITORY}@${DIGEST}`,
      `deploy staging ${REPOSITORY}@${DIGEST} recreate`,
    ]) {
      const run = await request(command, 'colour');
      expect(run.code, run.output).toBe(2);
      expect(run.output).toContain(
        'this host runs blue-green or canary deploys (two colours behind nginx), not recreate',
      );
    }
    expect(gateLog()).toContain(`request=deploy\\ staging\\ ${REPOSITORY}@${DIGEST}\\ recreate`);
  });

  it('refuses a shell: no command, a pty, or a shell command', async () => {
    const noCommand = await request(null, 'staging', ['-T']);
    expect(noCommand.code).toBe(2);
    expect(noCommand.output).toContain('refused: no command');
    // `restrict` denies the terminal; whatever the client does next, it gets no shell.
    const pty = await request('bash', 'staging', ['-tt']);
    expect(pty.code).not.toBe(0);
    expect(pty.output).toMatch(/PTY allocation request failed/);
    for (const shell of ['bash', 'sh -c id', '/bin/bash -i', 'exec bash', `touch ${canary}`]) {
      const run = await request(shell);
      expect(run.code, shell).toBe(2);
      expect(run.output).toContain('deploybot-ssh-gate: refused');
    }
    expect(existsSync(canary)).toBe(false);
    expect(gateLog()).toContain(
      "refused: no command: this key runs deploy, canary, rollback or state only (no shell); request=''",
    );
    expect(gateLog()).toContain(
      'refused: unknown action: only deploy, canary, rollback and state are allowed; request=bash\n',
    );
  });

  it('refuses scp (both protocols) and sftp: nothing is written', async () => {
    const source = join(dir, 'payload');
    writeFileSync(source, 'payload\n');
    const scpArgs = (...mode: string[]) => [
      ...clientOptions(ssh, 'staging'),
      '-P',
      String(ssh.port),
      ...mode,
      source,
      `${ssh.user}@${ssh.host}:${canary}`,
    ];
    const legacy = await runProcess('scp', scpArgs('-O'), { timeoutMs: 20_000 });
    expect(legacy.code).not.toBe(0);
    const sftpMode = await runProcess('scp', scpArgs('-s'), { timeoutMs: 20_000 });
    expect(sftpMode.code).not.toBe(0);
    const sftp = await runProcess(
      'sftp',
      [...clientOptions(ssh, 'staging'), '-P', String(ssh.port), '-b', '-', `${ssh.user}@${ssh.host}`],
      { timeoutMs: 20_000, input: `put ${source} ${canary}\n` },
    );
    expect(sftp.code).not.toBe(0);
    expect(existsSync(canary)).toBe(false);
    const log = gateLog();
    expect(log).toContain(`request=scp\\ -t\\ ${canary}`);
    expect(log).toContain('request=/usr/lib/openssh/sftp-server');
  });

  it('refuses port forwarding: -L never reaches the target, -R fails; sshd logs the refusal', async () => {
    let reached = 0;
    target = createServer((socket) => {
      reached++;
      socket.end('secret\n');
    });
    const targetPort = await freePort();
    await new Promise<void>((resolve) => target?.listen(targetPort, '127.0.0.1', resolve));
    const localPort = await freePort();
    const forwarder = spawn(
      'ssh',
      sshArgs('staging', '-N', '-L', `${localPort}:127.0.0.1:${targetPort}`, `${ssh.user}@${ssh.host}`),
      { stdio: 'ignore' },
    );
    forwarders.push(forwarder);
    let answer = '';
    for (let i = 0; i < 30 && !ssh.log().includes('refused local port forward'); i++) {
      answer += await new Promise<string>((resolve) => {
        const socket = new Socket();
        let got = '';
        socket.on('data', (b: Buffer) => {
          got += b.toString();
        });
        socket.on('error', () => resolve(got));
        socket.on('close', () => resolve(got));
        socket.connect(localPort, '127.0.0.1');
        setTimeout(() => socket.destroy(), 500);
      });
      await sleep(100);
    }
    expect(ssh.log()).toContain(`refused local port forward: originator 127.0.0.1 port`);
    expect(ssh.log()).toContain(`target 127.0.0.1 port ${targetPort}`);
    expect(answer).toBe('');
    expect(reached).toBe(0);
    const remote = await request('state staging', 'staging', [
      '-o',
      'ExitOnForwardFailure=yes',
      '-R',
      `${await freePort()}:127.0.0.1:${targetPort}`,
    ]);
    expect(remote.code).toBe(255);
    expect(remote.output).toMatch(/remote port forwarding failed/i);
  }, 60_000);

  const hostile: Array<[string, string]> = [
    ["deploy staging 'x;id'", 'characters outside'],
    [`deploy staging x;touch ${canary}`, 'characters outside'],
    [`state staging && touch ${canary}`, 'characters outside'],
    [`state staging | touch ${canary}`, 'characters outside'],
    [`state $(touch ${canary})`, 'characters outside'],
    [`state \`touch ${canary}\``, 'characters outside'],
    [`state staging\ntouch ${canary}`, 'characters outside'],
    ['state ../staging', 'environment must match'],
    ['state staging/../../etc', 'environment must match'],
    ['rollback ../../etc/passwd', 'environment must match'],
    ['deploy staging ../../../etc/passwd', 'must be registry.example/shop/app@sha256:<64 hex>'],
    [`deploy staging ${REPOSITORY}:latest`, 'a digest, never a tag'],
    [`deploy staging ${REPOSITORY}@${DIGEST}x`, 'a digest, never a tag'],
    [`deploy staging evil.example/shop/app@${DIGEST}`, 'images come from registry.example/shop/app only'],
    [`deploy production ${REPOSITORY}@${DIGEST}`, 'this host deploys staging only, not production'],
    ['rollback production', 'this host deploys staging only, not production'],
    [
      `deploy staging ${REPOSITORY}@${DIGEST} --privileged`,
      'the strategy must be recreate, blue-green or canary',
    ],
    [`deploy staging ${REPOSITORY}@${DIGEST} canary extra`, 'usage: deploy'],
    // Issue #15: the strategies, the canary steps and the rollback of one image.
    [`deploy staging ${REPOSITORY}@${DIGEST} rolling`, 'the strategy must be recreate, blue-green or canary'],
    [
      `deploy staging ${REPOSITORY}@${DIGEST} blue-green`,
      'this host runs recreate; blue-green needs a host set up',
    ],
    [`canary staging ${REPOSITORY}@${DIGEST} 5`, 'this host runs recreate; a canary needs a host set up'],
    [`canary staging ${REPOSITORY}@${DIGEST} 0`, 'the weight must be 1-100'],
    [`canary staging ${REPOSITORY}@${DIGEST} 101`, 'the weight must be 1-100'],
    [`canary staging ${REPOSITORY}@${DIGEST} 5 extra`, 'usage: canary'],
    [`canary staging ${REPOSITORY}:latest 5`, 'a digest, never a tag'],
    [`canary production ${REPOSITORY}@${DIGEST} 5`, 'this host deploys staging only, not production'],
    [`rollback staging ${REPOSITORY}:latest`, 'a digest, never a tag'],
    [`rollback staging evil.example/shop/app@${DIGEST}`, 'images come from registry.example/shop/app only'],
    [`rollback staging ${REPOSITORY}@${DIGEST} extra`, 'usage: rollback'],
    ['state staging extra', 'usage: state'],
    ['DEPLOY_PATH=/ state staging', 'characters outside'],
    [`state ${'a'.repeat(400)}`, 'characters outside'],
  ];

  it.each(hostile)('refuses %j (exit 2) and logs it', async (command, why) => {
    const run = await request(command);
    expect(run.code, run.output).toBe(2);
    expect(run.output).toContain(`deploybot-ssh-gate: refused: `);
    expect(run.output).toContain(why);
    expect(existsSync(canary)).toBe(false);
    expect(gateLog()).toContain(`refused: `);
  });

  it('logged every hostile request on one line each, quoted so none can forge a log line', async () => {
    const refusals = gateLog()
      .split('\n')
      .filter((line) => line.includes(' refused: '));
    expect(
      refusals.every((line) => /^\S+Z user=\S+ from=127\.0\.0\.1 refused: .+; request=/.test(line)),
    ).toBe(true);
    for (const [command] of hostile) {
      const quoted = (await runProcess('bash', ['-c', 'printf %q "$1"', 'quote', command])).output;
      expect(
        refusals.some((line) => line.endsWith(`; request=${quoted}`)),
        command,
      ).toBe(true);
    }
  });

  it('refuses to run with a configuration others may write, or one with unknown settings', async () => {
    const gate = join(repoRoot, 'scripts/deploybot-ssh-gate');
    const loose = writeGateConfig(join(dir, 'loose.conf'), {
      ENVIRONMENT: 'staging',
      IMAGE_REPOSITORY: REPOSITORY,
    });
    chmodSync(loose, 0o666);
    const env = { PATH: process.env.PATH, SSH_ORIGINAL_COMMAND: 'state staging' };
    const writable = await runProcess('bash', [gate, loose], { env });
    expect(writable.code).toBe(2);
    expect(writable.output).toContain('is writable by group or others');
    const unknown = writeGateConfig(join(dir, 'unknown.conf'), {
      ENVIRONMENT: 'staging',
      IMAGE_REPOSITORY: REPOSITORY,
      LD_PRELOAD: '/tmp/x.so',
    });
    const run = await runProcess('bash', [gate, unknown], { env });
    expect(run.code).toBe(2);
    expect(run.output).toContain('unknown setting LD_PRELOAD');
  });
});
