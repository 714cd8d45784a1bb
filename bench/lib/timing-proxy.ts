import { createServer, request as httpRequest } from 'node:http';
import { performance } from 'node:perf_hooks';

/**
 * A pass-through HTTP proxy in front of a fake, noting when each request's head arrived (before the
 * fake reads or validates anything): "GitHub received the dispatch" is that moment.
 */
export async function timingProxy(target: string) {
  const upstream = new URL(target);
  const waiters: Array<{ match: (method: string, url: string) => boolean; resolve: (at: number) => void }> =
    [];
  const log: Array<{ method: string; url: string; at: number }> = [];
  const server = createServer((req, res) => {
    const at = performance.now();
    log.push({ method: req.method ?? '', url: req.url ?? '', at });
    for (const w of [...waiters]) {
      if (w.match(req.method ?? '', req.url ?? '')) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(at);
      }
    }
    const forward = httpRequest(
      {
        host: upstream.hostname,
        port: upstream.port,
        method: req.method,
        path: req.url,
        headers: req.headers,
      },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    forward.on('error', () => res.destroy());
    req.pipe(forward);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}`,
    /** Every request's method, path and arrival time. */
    log,
    /** Resolves with the arrival time (performance.now()) of the next request that matches. */
    next: (match: (method: string, url: string) => boolean) =>
      new Promise<number>((resolve) => waiters.push({ match, resolve })),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
