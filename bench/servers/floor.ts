/**
 * The floor: the least a GitHub webhook receiver can do. A bare node:http server that reads the body
 * (1 MiB limit), checks `X-Hub-Signature-256` (HMAC-SHA256 with timingSafeEqual) and answers 200.
 * No parsing, no routing beyond the path, no de-duplication. Prints `{"port":N}` once listening.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer } from 'node:http';

const secret = process.env.WEBHOOK_SECRET ?? '';
const LIMIT = 1024 * 1024;

const server = createServer((req, res) => {
  if (req.method !== 'POST' || req.url !== '/github/webhook') {
    res.writeHead(404).end();
    return;
  }
  const chunks: Buffer[] = [];
  let size = 0;
  req.on('data', (chunk: Buffer) => {
    size += chunk.length;
    if (size <= LIMIT) chunks.push(chunk);
  });
  req.on('end', () => {
    if (size > LIMIT) {
      res.writeHead(413).end();
      return;
    }
    const given = Buffer.from(String(req.headers['x-hub-signature-256'] ?? ''));
    const expected = Buffer.from(
      `sha256=${createHmac('sha256', secret).update(Buffer.concat(chunks)).digest('hex')}`,
    );
    const ok = given.length === expected.length && timingSafeEqual(given, expected);
    res.writeHead(ok ? 200 : 401, { 'content-type': 'text/plain' }).end(ok ? 'ok' : 'bad signature');
  });
});
server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ port: (server.address() as { port: number }).port })}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
