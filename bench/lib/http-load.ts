import { connect, type Socket } from 'node:net';
import type { Delivery } from './payloads.ts';

/**
 * A small HTTP/1.1 load generator for the ingest benchmark: keep-alive connections writing
 * pre-serialised requests (each with a fresh `X-GitHub-Delivery`), timing each response with
 * `process.hrtime` (µs resolution). Two modes: closed loop (every connection sends its next request
 * as soon as the last is answered: throughput) and open loop at a fixed rate (latency).
 * Lighter than a general-purpose client, so one core can load a server on the other.
 */

export type LoadResult = {
  /** Answered requests per second. */
  rate: number;
  /** Latency percentiles, ms. */
  p50: number;
  p90: number;
  p99: number;
  max: number;
  total: number;
  /** Answers other than 200, and connections that failed. */
  non200: number;
  errors: number;
};

type Prepared = { head: Buffer; tail: Buffer };

const ID_PREFIX = `bench-${process.pid}-${Date.now().toString(36)}-`;
let ids = 0;

/** Serialises deliveries once; only the delivery id changes per request. */
export function prepare(deliveries: Delivery[], path: string, host: string): Prepared[] {
  return deliveries.map((d) => ({
    head: Buffer.from(
      `POST ${path} HTTP/1.1\r\nhost: ${host}\r\ncontent-type: application/json\r\n` +
        `user-agent: GitHub-Hookshot/bench\r\nx-github-event: ${d.event}\r\n` +
        `x-hub-signature-256: ${d.signature}\r\ncontent-length: ${d.body.length}\r\nx-github-delivery: `,
    ),
    tail: Buffer.concat([Buffer.from('\r\n\r\n'), d.body]),
  }));
}

/** One keep-alive connection: sends a request, calls back with the status when the answer is complete. */
class Connection {
  readonly socket: Socket;
  busy = false;
  #buffer: Buffer = Buffer.alloc(0);
  #done: ((status: number) => void) | null = null;
  #failed: (error: Error) => void;

  constructor(port: number, onError: (error: Error) => void) {
    this.#failed = onError;
    this.socket = connect({ port, host: '127.0.0.1', noDelay: true });
    this.socket.on('data', (chunk: Buffer) => this.#read(chunk));
    this.socket.on('error', (error) => this.#fail(error));
    this.socket.on('close', () => this.#fail(new Error('connection closed')));
  }

  ready(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.socket.once('connect', resolve);
      this.socket.once('error', reject);
    });
  }

  send(request: Prepared, done: (status: number) => void): void {
    this.busy = true;
    this.#done = done;
    this.socket.cork();
    this.socket.write(request.head);
    this.socket.write(`${ID_PREFIX}${ids++}`);
    this.socket.write(request.tail);
    this.socket.uncork();
  }

  #fail(error: Error): void {
    const done = this.#done;
    this.#done = null;
    this.busy = false;
    if (done) done(0);
    this.#failed(error);
  }

  #read(chunk: Buffer): void {
    this.#buffer = this.#buffer.length ? Buffer.concat([this.#buffer, chunk]) : chunk;
    const end = this.#buffer.indexOf('\r\n\r\n');
    if (end < 0) return;
    const head = this.#buffer.subarray(0, end).toString('latin1');
    const status = Number(head.slice(9, 12));
    const length = /\r\ncontent-length:\s*(\d+)/i.exec(head);
    let total: number;
    if (length) {
      total = end + 4 + Number(length[1]);
      if (this.#buffer.length < total) return;
    } else if (/\r\ntransfer-encoding:\s*chunked/i.test(head)) {
      const last = this.#buffer.indexOf('\r\n0\r\n\r\n', end);
      const first = this.#buffer.indexOf('0\r\n\r\n', end + 4);
      if (last < 0 && first !== end + 4) return;
      total = last >= 0 ? last + 7 : end + 9;
    } else {
      total = end + 4;
    }
    this.#buffer = this.#buffer.subarray(total);
    const done = this.#done;
    this.#done = null;
    this.busy = false;
    done?.(status);
  }

  close(): void {
    this.socket.removeAllListeners('close');
    this.socket.destroy();
  }
}

function summarise(latenciesUs: number[], seconds: number, non200: number, errors: number): LoadResult {
  const sorted = Float64Array.from(latenciesUs).sort();
  const at = (q: number) => (sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0) / 1000;
  return {
    rate: sorted.length / seconds,
    p50: at(0.5),
    p90: at(0.9),
    p99: at(0.99),
    max: (sorted[sorted.length - 1] ?? 0) / 1000,
    total: sorted.length,
    non200,
    errors,
  };
}

const nowUs = () => Number(process.hrtime.bigint() / 1000n);

async function open(port: number, count: number, onError: (e: Error) => void): Promise<Connection[]> {
  const connections = Array.from({ length: count }, () => new Connection(port, onError));
  await Promise.all(connections.map((c) => c.ready()));
  return connections;
}

/**
 * Closed loop: `connections` connections, each sending its next request as soon as the last was
 * answered, for `seconds` (after `warmupSeconds` not counted).
 */
export async function throughput(options: {
  port: number;
  requests: Prepared[];
  connections: number;
  seconds: number;
  warmupSeconds?: number;
}): Promise<LoadResult> {
  let errors = 0;
  let non200 = 0;
  const latencies: number[] = [];
  const connections = await open(options.port, options.connections, () => errors++);
  let next = 0;
  const warmupEnd = nowUs() + (options.warmupSeconds ?? 0) * 1e6;
  const end = warmupEnd + options.seconds * 1e6;
  let counting = false;
  await new Promise<void>((resolve) => {
    let open = connections.length;
    const loop = (c: Connection) => {
      const t = nowUs();
      if (t >= end || c.socket.destroyed) {
        if (--open === 0) resolve();
        return;
      }
      if (!counting && t >= warmupEnd) counting = true;
      const request = options.requests[next++ % options.requests.length] as Prepared;
      c.send(request, (status) => {
        if (counting) {
          latencies.push(nowUs() - t);
          if (status !== 200) non200++;
        }
        loop(c);
      });
    };
    for (const c of connections) loop(c);
  });
  for (const c of connections) c.close();
  return summarise(latencies, options.seconds, non200, errors);
}

/**
 * Open loop at `rate` requests per second, spread over a pool of `connections`: a request is due at
 * its scheduled time; its latency runs from when it was due (or, when the loop woke late, from when
 * it could first be sent) to the end of its answer, so waiting for a free connection counts.
 */
export async function fixedRate(options: {
  port: number;
  requests: Prepared[];
  rate: number;
  connections: number;
  seconds: number;
  warmupSeconds?: number;
}): Promise<LoadResult> {
  let errors = 0;
  let non200 = 0;
  const latencies: number[] = [];
  const connections = await open(options.port, options.connections, () => errors++);
  const intervalUs = 1e6 / options.rate;
  const start = nowUs();
  const warmupEnd = start + (options.warmupSeconds ?? 0) * 1e6;
  const end = warmupEnd + options.seconds * 1e6;
  const waiting: number[] = [];
  let scheduled = 0;
  let inFlight = 0;
  let next = 0;
  const free = () => connections.find((c) => !c.busy && !c.socket.destroyed);
  await new Promise<void>((resolve) => {
    const pump = () => {
      for (let c = free(); c && waiting.length; c = free()) {
        const due = waiting.shift() as number;
        const request = options.requests[next++ % options.requests.length] as Prepared;
        inFlight++;
        c.send(request, (status) => {
          inFlight--;
          if (due >= warmupEnd) {
            latencies.push(nowUs() - due);
            if (status !== 200) non200++;
          }
          pump();
        });
      }
    };
    const tick = () => {
      const t = nowUs();
      // Requests due by now; one the loop wakes late for counts from when it could be sent.
      while (start + scheduled * intervalUs <= t && start + scheduled * intervalUs < end) {
        waiting.push(Math.max(start + scheduled * intervalUs, t - 50));
        scheduled++;
      }
      pump();
      if (t < end) setTimeout(tick, Math.max(0, (start + scheduled * intervalUs - nowUs()) / 1000));
      else {
        const drain = () => (inFlight === 0 && waiting.length === 0 ? resolve() : setTimeout(drain, 5));
        drain();
      }
    };
    tick();
  });
  for (const c of connections) c.close();
  return summarise(latencies, options.seconds, non200, errors);
}
