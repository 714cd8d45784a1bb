import { request } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';

/** One request of the load loop. */
export interface Sample {
  /** Date.now() when it was sent and when it ended (the scripts log epoch ms: same clock). */
  sentAt: number;
  endedAt: number;
  /** HTTP status, or 0 when the request got no answer (refused, reset, timed out). */
  status: number;
  /** The body, trimmed (the test images answer with their version). */
  body: string;
  error?: string;
}

/** Options for {@link startLoad}. */
export interface LoadOptions {
  /** Only http://127.0.0.1:<port>/… : the loop never sends anywhere else. */
  url: string;
  /** Requests in flight at once (default 3). */
  concurrency?: number;
  /** Pause of each worker between its requests, ms (default 5). */
  pauseMs?: number;
  /** Hard bounds: the loop stops by itself after this many requests or this long. */
  maxRequests?: number;
  maxMs?: number;
  /** Per request (default 5 s). */
  timeoutMs?: number;
}

/** A running load loop. */
export interface Load {
  samples: Sample[];
  /** Stops sending, waits for the requests in flight, returns every sample. */
  stop(): Promise<Sample[]>;
}

function once(url: URL, timeoutMs: number): Promise<Sample> {
  const sentAt = Date.now();
  return new Promise((resolve) => {
    let settled = false;
    const done = (status: number, body: string, error?: string): void => {
      if (settled) return;
      settled = true;
      resolve({ sentAt, endedAt: Date.now(), status, body: body.trim(), ...(error ? { error } : {}) });
    };
    // A new connection for every request (agent: false, Connection: close), as from many clients:
    // what is measured is the server side, not a client reusing a connection nginx is closing.
    const req = request(
      url,
      { agent: false, headers: { Connection: 'close' }, timeout: timeoutMs },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          body += chunk;
        });
        res.on('end', () => done(res.statusCode ?? 0, body));
        res.on('error', (error) => done(0, body, error.message));
      },
    );
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', (error) => done(0, '', error.message));
    req.end();
  });
}

/**
 * Sends GET requests to `url` from `concurrency` workers until stopped, bounded in count and time.
 * @throws {Error} for any URL that is not on 127.0.0.1.
 */
export function startLoad(options: LoadOptions): Load {
  const url = new URL(options.url);
  if (url.protocol !== 'http:' || url.hostname !== '127.0.0.1') {
    throw new Error(`the load loop sends to 127.0.0.1 only, not ${options.url}`);
  }
  const maxRequests = options.maxRequests ?? 20_000;
  const deadline = Date.now() + (options.maxMs ?? 120_000);
  const samples: Sample[] = [];
  let sent = 0;
  let stopped = false;
  const worker = async (): Promise<void> => {
    while (!stopped && sent < maxRequests && Date.now() < deadline) {
      sent += 1;
      samples.push(await once(url, options.timeoutMs ?? 5000));
      await sleep(options.pauseMs ?? 5);
    }
  };
  const workers = Array.from({ length: options.concurrency ?? 3 }, () => worker());
  return {
    samples,
    stop: async () => {
      stopped = true;
      await Promise.all(workers);
      return samples.sort((a, b) => a.sentAt - b.sentAt);
    },
  };
}

/** A sample that failed, as a client sees it: no answer, or anything but 200. */
export const failed = (s: Sample): boolean => s.status !== 200;
