import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from './support/pipeline-files.ts';
import { mustHaveTools, unavailableReason } from './support/require-tools.ts';
import { runProcess } from './support/run-process.ts';

// scripts/health-check.sh against a local HTTP server that answers what each test tells it to.
const reason = unavailableReason({ curl: 'curl' });
if (reason && mustHaveTools) {
  describe('health-check.sh', () => {
    it('has curl (CI=true: a skip is a failure)', () => {
      throw new Error(`cannot run health-check.sh: ${reason}`);
    });
  });
} else if (reason) {
  console.warn(`skipping health-check.sh tests: ${reason}`);
}

describe.skipIf(reason !== null)('health-check.sh', () => {
  const script = join(repoRoot, 'scripts/health-check.sh');
  let server: Server;
  let base = '';
  let statuses: number[] = [];
  let hits = 0;

  beforeAll(async () => {
    server = createServer((req, res) => {
      hits++;
      res.statusCode = statuses.shift() ?? 200;
      res.end(req.url);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  const check = (...args: string[]) => runProcess('bash', [script, ...args], { timeoutMs: 20_000 });

  it('succeeds on the first healthy answer and prints every attempt', async () => {
    statuses = [500, 503];
    hits = 0;
    const run = await check(`${base}/health`, '5', '0');
    expect(run.code, run.output).toBe(0);
    expect(hits).toBe(3);
    expect(run.output).toContain('attempt 1/5: HTTP 500');
    expect(run.output).toContain('attempt 2/5: HTTP 503');
    expect(run.output).toContain('attempt 3/5: HTTP 200');
  });

  it('gives up after the given tries with exit 1', async () => {
    statuses = [500, 500, 500, 500];
    hits = 0;
    const run = await check(`${base}/health`, '3', '0');
    expect(run.code).toBe(1);
    expect(hits).toBe(3);
    expect(run.output).toMatch(/did not answer 200 after 3 tries/);
  });

  it('waits the interval between tries, not after the last', async () => {
    statuses = [500, 500];
    const started = performance.now();
    const run = await check(`${base}/health`, '2', '1');
    const took = performance.now() - started;
    expect(run.code).toBe(1);
    expect(took).toBeGreaterThanOrEqual(1000);
    expect(took).toBeLessThan(1900);
  });

  it('honours the expected status', async () => {
    statuses = [204];
    const run = await check(`${base}/health`, '1', '0', '204');
    expect(run.code, run.output).toBe(0);
  });

  it('treats no answer as unhealthy (HTTP 000)', async () => {
    const run = await check('http://127.0.0.1:1/health', '2', '0');
    expect(run.code).toBe(1);
    expect(run.output).toContain('attempt 2/2: HTTP 000');
  });

  it('does not glob URLs with brackets', async () => {
    statuses = [200];
    hits = 0;
    const run = await check(`${base}/health?x=[1-3]`, '1', '0');
    expect(run.code, run.output).toBe(0);
    expect(hits).toBe(1);
  });

  it.each([
    [['ftp://x/health']],
    [['http://x/a b']],
    [["http://x/'$(id)'"]],
    [['http://x/', '0']],
    [['http://x/', 'ten']],
    [['http://x/', '3', '-1']],
    [['http://x/', '3', '1', '20']],
    [[]],
    [['http://x/', '1', '1', '200', 'extra']],
  ])('refuses bad arguments %j with exit 2', async (args) => {
    const run = await check(...args);
    expect(run.code, run.output).toBe(2);
  });
});
