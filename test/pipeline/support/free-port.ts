import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

/** The kernel's ephemeral range: outgoing connections take their source ports from it. */
function ephemeralLow(): number {
  try {
    const [low] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/);
    const value = Number(low);
    return Number.isInteger(value) && value > 21_000 ? value : 32_768;
  } catch {
    return 32_768;
  }
}

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/**
 * A TCP port on 127.0.0.1 that was free a moment ago, for a server the test starts next (sshd,
 * a registry, an app baked into an image).
 *
 * The port is picked at random *below* the kernel's ephemeral range and checked by binding it.
 * A port the OS hands out for `listen(0)` comes from the ephemeral range, which is also where
 * every outgoing connection (ssh, curl, fetch in other test files running in parallel) takes
 * its source port, so between "free" and "the server binds it" another process could take it.
 * Below that range only another listener can.
 */
export async function freePort(): Promise<number> {
  const low = 20_000;
  const high = ephemeralLow() - 1;
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = low + Math.floor(Math.random() * (high - low + 1));
    if (await canListen(port)) return port;
  }
  throw new Error(`no free port between ${low} and ${high} after 50 tries`);
}
