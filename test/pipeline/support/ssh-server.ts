import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { freePort } from './free-port.ts';
import { which } from './require-tools.ts';
import { runChecked } from './run-process.ts';
import { hasExited, stopChild } from './teardown.ts';
import { waitFor } from './wait-for.ts';

/** A real sshd on 127.0.0.1 that lets in the test's user with a throwaway key. */
export interface SshServer {
  host: string;
  port: number;
  user: string;
  /** The client's private key (what DEPLOY_SSH_KEY holds). */
  privateKey: string;
  /** The server's known_hosts line (what DEPLOY_SSH_KNOWN_HOSTS holds). */
  knownHosts: string;
  /** A known_hosts line for the same address with a different key: a host that is not the one pinned. */
  wrongKnownHosts: string;
  stop(): Promise<void>;
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
 * Starts `sshd -D` with keys generated under `dir`. `sessionEnv` is set in every session
 * (sshd's SetEnv), the way a real host's profile would set DOCKER_HOST.
 */
export async function startSshServer(dir: string, sessionEnv: Record<string, string>): Promise<SshServer> {
  const port = await freePort();
  const keygen = (file: string): Promise<string> =>
    runChecked('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'deploybot-test', '-f', file]);
  await keygen(join(dir, 'host_key'));
  await keygen(join(dir, 'other_host_key'));
  await keygen(join(dir, 'client_key'));
  writeFileSync(join(dir, 'authorized_keys'), readFileSync(join(dir, 'client_key.pub')), { mode: 0o600 });
  // sshd refuses to start without its privilege separation directory.
  mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
  const setEnv = Object.entries(sessionEnv)
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');
  const config = [
    `ListenAddress 127.0.0.1:${port}`,
    `HostKey ${join(dir, 'host_key')}`,
    `PidFile ${join(dir, 'sshd.pid')}`,
    `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
    'PasswordAuthentication no',
    'KbdInteractiveAuthentication no',
    'PubkeyAuthentication yes',
    'PermitRootLogin prohibit-password',
    'UsePAM no',
    // The temp dir is not owned the way sshd wants a home's .ssh to be.
    'StrictModes no',
    `SetEnv ${setEnv}`,
    'LogLevel ERROR',
    '',
  ].join('\n');
  writeFileSync(join(dir, 'sshd_config'), config);
  const sshd = which('sshd') ?? '/usr/sbin/sshd';
  const child: ChildProcess = spawn(sshd, ['-D', '-e', '-f', join(dir, 'sshd_config')], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  child.stderr?.on('data', (b: Buffer) => {
    log += b.toString();
  });
  // The listener only: each session's sshd ends with its command, which the test awaits.
  const stop = (): Promise<void> => stopChild(child, 3000);
  try {
    // A port another listener holds would answer too: sshd must still be running.
    await waitFor(
      'sshd to listen',
      async () => {
        if (hasExited(child)) throw new Error(`sshd exited (${child.exitCode ?? child.signalCode})`);
        return portOpen(port);
      },
      100,
    );
  } catch (error) {
    await stop();
    throw new Error(`${(error as Error).message}\n${log}`);
  }
  const line = (pub: string): string => `[127.0.0.1]:${port} ${readFileSync(pub, 'utf8').trim()}`;
  return {
    host: '127.0.0.1',
    port,
    user: userInfo().username,
    privateKey: readFileSync(join(dir, 'client_key'), 'utf8'),
    knownHosts: line(join(dir, 'host_key.pub')),
    wrongKnownHosts: line(join(dir, 'other_host_key.pub')),
    stop,
  };
}
