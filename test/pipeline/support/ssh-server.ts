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

/** A real sshd on 127.0.0.1 that lets in the test's user with throwaway keys. */
export interface SshServer {
  host: string;
  port: number;
  user: string;
  /** Each client key's private key (what an environment's <ENV>_SSH_KEY secret holds), by name. */
  privateKeys: Record<string, string>;
  /** Each client key's private key file, by name (for ssh, scp and sftp run by the test). */
  keyFiles: Record<string, string>;
  /** The server's known_hosts line (what DEPLOY_SSH_KNOWN_HOSTS holds). */
  knownHosts: string;
  /** A file holding {@link knownHosts}. */
  knownHostsFile: string;
  /** A known_hosts line for the same address with a different key: a host that is not the one pinned. */
  wrongKnownHosts: string;
  /** What sshd logged so far (LogLevel INFO: logins, refused forwardings). */
  log(): string;
  stop(): Promise<void>;
}

/** For each client key to create: its authorized_keys line, given its public key line. */
export type AuthorizedKeys = Record<string, (publicKey: string) => string>;

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
 * Starts `sshd -D` with keys generated under `dir`: one client key per entry of `keys`, each let
 * in with the authorized_keys line the entry makes (a forced command, options). `sessionEnv` is
 * set in every session (sshd's SetEnv).
 */
export async function startSshServer(
  dir: string,
  keys: AuthorizedKeys,
  sessionEnv: Record<string, string> = {},
): Promise<SshServer> {
  const port = await freePort();
  const keygen = (file: string): Promise<string> =>
    runChecked('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'deploybot-test', '-f', file]);
  await keygen(join(dir, 'host_key'));
  await keygen(join(dir, 'other_host_key'));
  const privateKeys: Record<string, string> = {};
  const keyFiles: Record<string, string> = {};
  const lines: string[] = [];
  for (const [name, line] of Object.entries(keys)) {
    const file = join(dir, `client_key_${name}`);
    await keygen(file);
    keyFiles[name] = file;
    privateKeys[name] = readFileSync(file, 'utf8');
    lines.push(line(readFileSync(`${file}.pub`, 'utf8').trim()));
  }
  writeFileSync(join(dir, 'authorized_keys'), `${lines.join('\n')}\n`, { mode: 0o600 });
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
    // As on Debian and Ubuntu hosts: scp (SFTP mode) and sftp ask for this subsystem.
    'Subsystem sftp /usr/lib/openssh/sftp-server',
    ...(setEnv ? [`SetEnv ${setEnv}`] : []),
    // INFO: sshd logs logins and the port forwardings it refuses.
    'LogLevel INFO',
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
  const knownHosts = line(join(dir, 'host_key.pub'));
  const knownHostsFile = join(dir, 'known_hosts');
  writeFileSync(knownHostsFile, `${knownHosts}\n`);
  return {
    host: '127.0.0.1',
    port,
    user: userInfo().username,
    privateKeys,
    keyFiles,
    knownHosts,
    knownHostsFile,
    wrongKnownHosts: line(join(dir, 'other_host_key.pub')),
    log: () => log,
    stop,
  };
}

/** ssh options for the test's own ssh, scp and sftp runs: the key, the pinned host key, no prompts. */
export function clientOptions(server: SshServer, key: string): string[] {
  const file = server.keyFiles[key];
  if (!file) throw new Error(`no client key named ${key}`);
  return [
    '-F',
    '/dev/null',
    '-i',
    file,
    '-o',
    'IdentitiesOnly=yes',
    '-o',
    'BatchMode=yes',
    '-o',
    'StrictHostKeyChecking=yes',
    '-o',
    `UserKnownHostsFile=${server.knownHostsFile}`,
    '-o',
    'ConnectTimeout=10',
  ];
}
