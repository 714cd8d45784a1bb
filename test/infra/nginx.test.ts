import { type ChildProcess, spawn } from 'node:child_process';
import { chmodSync, cpSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, request as httpRequest, type IncomingHttpHeaders, type Server } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../pipeline/support/free-port.ts';
import { removeWorkDir, stopChild } from '../pipeline/support/teardown.ts';
import { findTool, REPO_ROOT, run } from './find-tool.ts';

const nginx = findTool('nginx', 'apt-get install nginx, listed in .ci/apt-infra.txt');
const openssl = findTool('openssl', 'apt-get install openssl, listed in .ci/apt-infra.txt');
const nginxDir = path.join(REPO_ROOT, 'nginx');
const conf = readFileSync(path.join(nginxDir, 'nginx.conf'), 'utf8');
const tls = readFileSync(path.join(nginxDir, 'snippets', 'tls.conf'), 'utf8');

/** Replaces `from` in `text`, failing loudly when the config no longer contains it. */
function replaceOnce(text: string, from: string, to: string): string {
  if (!text.includes(from))
    throw new Error(`nginx config changed: "${from}" not found; update the test copy`);
  return text.replace(from, to);
}

type Reply = { status: number; headers: IncomingHttpHeaders; body: string };

describe('nginx.conf (static)', () => {
  it('allows TLS 1.2 and 1.3 only and hides the version', () => {
    expect(tls).toMatch(/^ssl_protocols TLSv1\.2 TLSv1\.3;$/m);
    expect(conf).toMatch(/^\s*server_tokens off;$/m);
    expect(conf).toMatch(/^\s*client_max_body_size 1m;$/m);
  });

  it('lets only Telegram source ranges reach the Telegram route', () => {
    const block = /location = \/telegram\/webhook \{([^}]*\{[^}]*\})*[^}]*\}/.exec(conf)?.[0] ?? '';
    const rules = [...block.matchAll(/^\s*(allow|deny) ([^;]+);/gm)].map((m) => `${m[1]} ${m[2]}`);
    expect(rules).toEqual(['allow 149.154.160.0/20', 'allow 91.108.4.0/22', 'deny all']);
    expect(conf.match(/allow 149\.154\.160\.0\/20/g)).toHaveLength(1);
  });

  it('proxies exactly three routes', () => {
    const exact = [...conf.matchAll(/location = (\S+) \{/g)].map((m) => m[1]);
    expect(exact).toEqual(['/telegram/webhook', '/github/webhook', '/healthz']);
    expect(conf.match(/include snippets\/proxy\.conf;/g)).toHaveLength(3);
  });
});

describe.skipIf(nginx.skip || openssl.skip)(
  'nginx, running on 127.0.0.1 with a self-signed certificate',
  () => {
    let dir = '';
    let httpsPort = 0;
    let httpPort = 0;
    let upstream: Server;
    let proc: ChildProcess | undefined;
    let stderr = '';
    const seen: { method: string; url: string; headers: IncomingHttpHeaders; bytes: number }[] = [];

    beforeAll(async () => {
      expect(nginx.path, nginx.missing).toBeTruthy();
      expect(openssl.path, openssl.missing).toBeTruthy();
      // Stands in for the bot: records what nginx forwards.
      upstream = createServer((req, res) => {
        let bytes = 0;
        req.on('data', (chunk: Buffer) => {
          bytes += chunk.length;
        });
        req.on('end', () => {
          seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, bytes });
          res.setHeader('X-Powered-By', 'deploybot-test');
          res.end('from upstream');
        });
      });
      await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
      const upstreamPort = (upstream.address() as AddressInfo).port;
      httpsPort = await freePort();
      httpPort = await freePort();

      dir = mkdtempSync(path.join(tmpdir(), 'deploybot-nginx-'));
      chmodSync(dir, 0o755); // workers (nobody, when run as root) read the ACME webroot
      cpSync(nginxDir, dir, { recursive: true });
      const keyFile = path.join(dir, 'privkey.pem');
      const certFile = path.join(dir, 'fullchain.pem');
      const cert = run(openssl.path ?? 'openssl', [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-days',
        '1',
        '-subj',
        '/CN=localhost',
        '-keyout',
        keyFile,
        '-out',
        certFile,
      ]);
      expect(cert.status, cert.output).toBe(0);
      mkdirSync(path.join(dir, 'acme', '.well-known', 'acme-challenge'), { recursive: true });
      writeFileSync(path.join(dir, 'acme', '.well-known', 'acme-challenge', 'token123'), 'challenge-ok');

      // The same config with only addresses and paths changed: 127.0.0.1 ports, temp files.
      let testConf = conf;
      const upstreamConf = readFileSync(path.join(nginxDir, 'upstream.conf'), 'utf8');
      writeFileSync(
        path.join(dir, 'upstream.conf'),
        replaceOnce(upstreamConf, 'server bot:8080;', `server 127.0.0.1:${upstreamPort};`),
      );
      testConf = replaceOnce(
        testConf,
        'listen 80 default_server;',
        `listen 127.0.0.1:${httpPort} default_server;`,
      );
      testConf = replaceOnce(
        testConf,
        'listen 443 ssl default_server;',
        `listen 127.0.0.1:${httpsPort} ssl default_server;`,
      );
      testConf = replaceOnce(testConf, 'pid /tmp/nginx.pid;', `pid ${dir}/nginx.pid;`);
      testConf = replaceOnce(testConf, 'root /var/www/acme;', `root ${dir}/acme;`);
      testConf = replaceOnce(testConf, 'access_log /dev/stdout main;', `access_log ${dir}/access.log main;`);
      testConf = replaceOnce(testConf, 'error_log /dev/stderr warn;', `error_log ${dir}/error.log warn;`);
      writeFileSync(path.join(dir, 'nginx.conf'), testConf);
      let testTls = replaceOnce(tls, '/etc/nginx/certs/fullchain.pem', certFile);
      testTls = replaceOnce(testTls, '/etc/nginx/certs/privkey.pem', keyFile);
      writeFileSync(path.join(dir, 'snippets', 'tls.conf'), testTls);

      const check = run(nginx.path ?? 'nginx', [
        '-t',
        '-p',
        dir,
        '-c',
        path.join(dir, 'nginx.conf'),
        '-e',
        path.join(dir, 'startup.log'),
      ]);
      expect(check.status, check.output).toBe(0);
      expect(check.output).toContain('test is successful');

      proc = spawn(
        nginx.path ?? 'nginx',
        [
          '-p',
          dir,
          '-c',
          path.join(dir, 'nginx.conf'),
          '-e',
          path.join(dir, 'startup.log'),
          '-g',
          'daemon off;',
        ],
        { stdio: ['ignore', 'ignore', 'pipe'] },
      );
      proc.stderr?.on('data', (chunk: Buffer) => {
        stderr += chunk.toString();
      });
      const deadline = Date.now() + 10_000;
      for (;;) {
        try {
          await get('GET', '/healthz', httpPort, false);
          break;
        } catch (error) {
          if (Date.now() > deadline) throw new Error(`nginx did not start: ${stderr} ${String(error)}`);
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
      }
    });

    // nginx quits gracefully (its workers finish their connections) and is waited for before its
    // dir goes; the upstream closes its keep-alive connections before it is closed.
    afterAll(async () => {
      if (proc) await stopChild(proc, 10_000, 'SIGQUIT');
      upstream?.closeAllConnections();
      await new Promise<void>((resolve) => (upstream ? upstream.close(() => resolve()) : resolve()));
      const killed = await removeWorkDir(dir);
      expect(killed, 'processes still using the nginx dir').toEqual([]);
    });

    function get(
      method: string,
      urlPath: string,
      port = httpsPort,
      secure = true,
      body?: Buffer,
    ): Promise<Reply> {
      return new Promise((resolve, reject) => {
        const options = {
          host: '127.0.0.1',
          port,
          method,
          path: urlPath,
          rejectUnauthorized: false,
          agent: false as const,
          headers: body ? { 'content-type': 'application/json', 'content-length': body.length } : {},
          timeout: 5_000,
        };
        const req = (secure ? httpsRequest : httpRequest)(options, (res) => {
          let text = '';
          res.on('data', (chunk: Buffer) => {
            text += chunk.toString();
          });
          res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
        });
        req.on('error', reject);
        req.on('timeout', () => req.destroy(new Error('timeout')));
        req.end(body);
      });
    }

    const forwarded = (url: string) => seen.filter((s) => s.url === url);

    it('proxies POST /github/webhook to the bot over TLS, with forwarding headers', async () => {
      const reply = await get('POST', '/github/webhook', httpsPort, true, Buffer.from('{"zen":"ok"}'));
      expect(reply.status).toBe(200);
      expect(reply.body).toBe('from upstream');
      const [request] = forwarded('/github/webhook');
      expect(request).toMatchObject({ method: 'POST', bytes: 12 });
      expect(request?.headers['x-forwarded-proto']).toBe('https');
      expect(request?.headers['x-real-ip']).toBe('127.0.0.1');
    });

    it('proxies GET /healthz and sends security headers, no version, no X-Powered-By', async () => {
      const reply = await get('GET', '/healthz');
      expect(reply.status).toBe(200);
      expect(reply.headers.server).toBe('nginx');
      expect(reply.headers['x-powered-by']).toBeUndefined();
      expect(reply.headers['strict-transport-security']).toMatch(/max-age=\d+/);
      expect(reply.headers['x-content-type-options']).toBe('nosniff');
      expect(reply.headers['x-frame-options']).toBe('DENY');
      expect(reply.headers['content-security-policy']).toContain("default-src 'none'");
    });

    it.each([
      ['GET', '/metrics'],
      ['GET', '/readyz'],
      ['GET', '/'],
      ['GET', '/github/webhook'],
      ['GET', '/telegram/webhook'],
      ['POST', '/healthz'],
      ['DELETE', '/github/webhook'],
      ['GET', '/healthz/../metrics'],
      ['GET', '/github/webhook/extra'],
    ])('%s %s is 404 and never reaches the bot', async (method, url) => {
      const before = seen.length;
      const reply = await get(method, url);
      expect(reply.status).toBe(404);
      expect(reply.headers['x-content-type-options']).toBe('nosniff');
      expect(seen.length).toBe(before);
    });

    it('refuses the Telegram route to addresses outside Telegram ranges', async () => {
      const reply = await get('POST', '/telegram/webhook', httpsPort, true, Buffer.from('{}'));
      expect(reply.status).toBe(403);
      expect(forwarded('/telegram/webhook')).toEqual([]);
    });

    it('answers 413 to a body over 1 MiB before the bot sees it', async () => {
      const reply = await get(
        'POST',
        '/github/webhook',
        httpsPort,
        true,
        Buffer.alloc(1024 * 1024 + 1, 0x20),
      );
      expect(reply.status).toBe(413);
      expect(seen.some((s) => s.bytes > 1024 * 1024)).toBe(false);
    });

    it('rate-limits a burst with 429', async () => {
      const replies = await Promise.all(Array.from({ length: 40 }, () => get('GET', '/healthz')));
      const statuses = replies.map((r) => r.status);
      expect(statuses).toContain(200);
      expect(statuses).toContain(429);
    });

    it('plain HTTP serves ACME challenges and nothing else', async () => {
      const challenge = await get('GET', '/.well-known/acme-challenge/token123', httpPort, false);
      expect(challenge.status).toBe(200);
      expect(challenge.body).toBe('challenge-ok');
      const before = seen.length;
      for (const url of ['/healthz', '/github/webhook', '/metrics']) {
        expect((await get('GET', url, httpPort, false)).status).toBe(404);
      }
      expect((await get('POST', '/telegram/webhook', httpPort, false, Buffer.from('{}'))).status).toBe(404);
      expect(seen.length).toBe(before);
    });
  },
);
