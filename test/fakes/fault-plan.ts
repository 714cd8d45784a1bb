import type { Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Fault injection shared by the fake GitHub (`github.faults`, see github-faults.ts) and the fake
 * Telegram (`telegram.faults`, see telegram-faults.ts): make a fake answer exactly as the real
 * service does when it fails, over real HTTP.
 *
 * A fault matches a GitHub route (`'POST /repos/{owner}/{repo}/actions/workflows/{workflow_id}/dispatches'`,
 * or its operationId `'actions/create-workflow-dispatch'`, or `'*'`) or a Telegram method
 * (`'editMessageText'`, case-insensitive, or `'*'`; optionally one `chatId`). It catches the next
 * `times` matching requests (default 1), then is spent. When several match, the one injected first
 * fires first. Injecting a route or method the fake does not know throws (a typo would never fire).
 *
 *   github.faults.inject({ route: GITHUB_ROUTE.dispatch, status: 502, body: { message: 'Server Error' }, after: true });
 *   github.faults.serverError({ route: GITHUB_ROUTE.dispatch, status: 502, after: true }); // the same
 *   github.faults.primaryRateLimit({ route: '*', resetInSeconds: 60 });     // 403, x-ratelimit-remaining: 0
 *   github.faults.secondaryRateLimit({ status: 429, retryAfter: 30 });
 *   github.faults.serverError({ status: 504 });                           // answers after 10 s
 *   github.faults.inject({ route: GITHUB_ROUTE.dispatch, reset: true, after: true }); // run created, ECONNRESET
 *   github.faults.runListedAfter(5);          // the next dispatched run is listed 5 s (fake clock) later
 *   telegram.faults.inject({ method: 'editMessageText', chatId: 1001, times: 5, status: 502 });
 *   telegram.faults.badGateway({ method: 'editMessageText', after: true });  // edited, client sees 502
 *   telegram.faults.tooManyRequests({ method: 'sendMessage', retryAfter: 7 });
 *   telegram.faults.error({ method: 'sendMessage', code: 403, description: TELEGRAM_TEXT.blocked });
 *   await github.faults.unreachable('refuse'); … await github.faults.restore();
 *
 * What a fault does ({@link FaultEffect}): answer `status` with `body` (object → JSON, string as is)
 * and `headers`; or `reset` (TCP reset: the client gets ECONNRESET, `fetch failed`); or `hang` (no
 * answer until `clear()` or close); after waiting `delayMs` (real time). With `after: true` the fake
 * first does the work (creates the run, edits the message), then answers the fault. With none of
 * status/reset/hang the normal answer goes out, after `delayMs`. The fakes' own checks (OpenAPI
 * validation, authentication, Telegram's flood control) still apply to the work done.
 *
 * Where it applies: GitHub faults are checked first (before authentication; a request a fault
 * answers is still validated against the OpenAPI description and lands in `violations`). Telegram
 * faults are checked after the token and the parameters were read (a 401/400 of the fake comes first).
 *
 * `faults.fired` records each catch in order ({@link FiredFault}: id, label, request, status,
 * outcome, performed); `github.requests[i].fault` / `telegram.calls[i].fault` carry it too, with
 * `status` 0 when nothing was answered. `faults.pending()` lists what will still fire; `clear()`
 * drops it and cuts hung requests. `unreachable('refuse')` closes the listening socket
 * (ECONNREFUSED) and `unreachable('hang')` accepts connections but answers nothing; `restore()`
 * listens again on the same port (requests held while hanging are cut).
 */

/** Headers to send, or a function of the fake's clock (ms) when the fault fires. */
export type FaultHeaders = Record<string, string> | ((nowMs: number) => Record<string, string>);

/** What a fault does to each request it catches. */
export interface FaultEffect {
  /** How many matching requests it catches before it is spent (default 1; `Infinity`: until `clear()`). */
  times?: number;
  /** The status to answer instead of the normal answer. */
  status?: number;
  /** The body with `status`: an object or array is sent as JSON, a string as it is. */
  body?: unknown;
  /** Headers with `status` (over the fake's usual ones). */
  headers?: FaultHeaders;
  /** Do the work first (the fake's state changes as on success), then answer the fault. */
  after?: boolean;
  /** Cut the connection with a TCP reset instead of answering. */
  reset?: boolean;
  /** Never answer (the client's own timeout has to fire); cut on `clear()` or when the fake closes. */
  hang?: boolean;
  /** Wait this long (real ms) before answering, resetting or hanging. */
  delayMs?: number;
  /** A name to find the fault by in `fired`. */
  label?: string;
}

/** A fault as injected: the target fields of one fake (route or method) plus its effect. */
export type FaultSpec<T> = T & FaultEffect;

/** An injected fault: how many more requests it will catch. */
export interface InjectedFault<T> {
  readonly id: number;
  readonly spec: FaultSpec<T>;
  remaining: number;
}

/** What happened to a request a fault caught. */
export type FaultOutcome = 'answered' | 'reset' | 'hung' | 'passed';

/** One request a fault caught. */
export interface FiredFault<R> {
  /** The injected fault's id (the order of injection, from 1). */
  id: number;
  label?: string;
  /** The request caught, as the fake describes it (route and path, or method and chat). */
  request: R;
  /** The fake's clock (ms) when it was caught. */
  at: number;
  /** The status the client got from the fault; null after a reset, a hang, or when the normal answer went out. */
  status: number | null;
  outcome: FaultOutcome;
  /** True once the work was done (`after`, or a delay that let the normal answer out). */
  performed: boolean;
  /** The normal answer the work produced (status), when it was done. */
  workStatus?: number;
}

/** An answer on the wire. */
export interface WireAnswer {
  status: number;
  headers: Record<string, string>;
  text: string;
}

/** How one fake plugs into its {@link FaultPlan}. */
export interface FaultPlanOptions<T, R> {
  /** Whether a fault's target catches a request. */
  matches: (target: FaultSpec<T>, request: R) => boolean;
  /** Checks (and may normalise) a target when it is injected; throws on one the fake does not know. */
  check: (spec: FaultSpec<T>) => FaultSpec<T>;
  /** The fake's clock, ms. */
  now: () => number;
  /** Called when a fault catches a request, before anything is answered. */
  onFire?: (spec: FaultSpec<T>, request: R) => void;
}

/** The injected faults of one fake, what fired, and the fake's reachability. See the top of this file. */
export class FaultPlan<T, R> {
  /** Every caught request, in order. */
  readonly fired: Array<FiredFault<R>> = [];
  readonly #options: FaultPlanOptions<T, R>;
  readonly #faults: Array<InjectedFault<T>> = [];
  #nextId = 1;
  #cut = new AbortController();
  #server: Server | undefined;
  #port = 0;
  #mode: 'refuse' | 'hang' | null = null;
  readonly #held = new Set<ServerResponse>();

  constructor(options: FaultPlanOptions<T, R>) {
    this.#options = options;
  }

  /**
   * Adds a fault; it fires after the faults injected before it that match the same request.
   * @throws {Error} on an unknown route or method, or contradictory effects.
   */
  inject(spec: FaultSpec<T>): InjectedFault<T> {
    const times = spec.times ?? 1;
    if (!(times === Number.POSITIVE_INFINITY || (Number.isInteger(times) && times >= 1)))
      throw new Error(`fault: times must be a positive integer or Infinity, not ${times}`);
    if (spec.reset && spec.hang) throw new Error('fault: reset and hang exclude each other');
    if ((spec.reset || spec.hang) && (spec.status !== undefined || spec.body !== undefined))
      throw new Error('fault: a reset or a hang sends no status or body');
    if (spec.status === undefined && (spec.body !== undefined || spec.headers !== undefined))
      throw new Error('fault: a body or headers need a status');
    if (spec.delayMs !== undefined && !(spec.delayMs >= 0)) throw new Error('fault: delayMs must be ≥ 0');
    const fault: InjectedFault<T> = { id: this.#nextId++, spec: this.#options.check(spec), remaining: times };
    this.#faults.push(fault);
    return fault;
  }

  /** The faults that will still fire. */
  pending(): Array<InjectedFault<T>> {
    return this.#faults.filter((f) => f.remaining > 0);
  }

  /** Drops every pending fault and cuts requests held by `hang` or waiting out a delay. `fired` stays. */
  clear(): void {
    this.#faults.length = 0;
    this.#cut.abort();
    this.#cut = new AbortController();
  }

  /**
   * For the fake: the first pending fault that catches `request`, counted down and recorded in
   * `fired`; undefined when none does.
   */
  take(request: R): { spec: FaultSpec<T>; fired: FiredFault<R> } | undefined {
    const fault = this.#faults.find((f) => f.remaining > 0 && this.#options.matches(f.spec, request));
    if (!fault) return undefined;
    fault.remaining -= 1;
    const { spec } = fault;
    const answers = !spec.reset && !spec.hang && spec.status !== undefined;
    const fired: FiredFault<R> = {
      id: fault.id,
      request,
      at: this.#options.now(),
      status: answers ? (spec.status ?? null) : null,
      outcome: spec.reset ? 'reset' : spec.hang ? 'hung' : answers ? 'answered' : 'passed',
      performed: false,
    };
    if (spec.label !== undefined) fired.label = spec.label;
    this.fired.push(fired);
    this.#options.onFire?.(spec, request);
    return { spec, fired };
  }

  /**
   * For the fake: plays a caught fault on one exchange. `perform` does the work and returns the
   * normal answer (not yet sent). Resolves with the answer to send, or null when the connection was
   * reset or cut (nothing more to send).
   */
  async play(
    caught: { spec: FaultSpec<T>; fired: FiredFault<R> },
    res: ServerResponse,
    perform: () => Promise<WireAnswer>,
  ): Promise<WireAnswer | null> {
    const { spec, fired } = caught;
    let work: WireAnswer | undefined;
    if (spec.after || fired.outcome === 'passed') {
      work = await perform();
      fired.performed = true;
      fired.workStatus = work.status;
    }
    const signal = this.#cut.signal;
    if (spec.delayMs) {
      const waited = await sleep(spec.delayMs, true, { signal }).catch(() => false);
      if (!waited) return cutOff(res);
    }
    if (spec.reset) {
      res.socket?.resetAndDestroy();
      return null;
    }
    if (spec.hang) {
      await new Promise((resolve) => {
        if (signal.aborted) resolve(null);
        signal.addEventListener('abort', resolve, { once: true });
        res.once('close', resolve);
      });
      return cutOff(res);
    }
    if (work && fired.outcome === 'passed') return work;
    const headers = typeof spec.headers === 'function' ? spec.headers(this.#options.now()) : spec.headers;
    const json = typeof spec.body !== 'string' && spec.body !== undefined;
    return {
      status: spec.status ?? 500,
      headers: { ...(json ? { 'content-type': 'application/json; charset=utf-8' } : {}), ...headers },
      text: json ? JSON.stringify(spec.body) : String(spec.body ?? ''),
    };
  }

  // --- reachability of the whole fake ---

  /** For the fake: the server whose reachability `unreachable()`/`restore()` control. */
  attach(server: Server): void {
    this.#server = server;
    this.#port = (server.address() as AddressInfo).port;
  }

  /**
   * For the fake, first thing for every request: true when the fake plays unreachable ('hang') and
   * holds the request unanswered.
   */
  hold(res: ServerResponse): boolean {
    if (this.#mode !== 'hang') return false;
    this.#held.add(res);
    res.once('close', () => this.#held.delete(res));
    return true;
  }

  /**
   * Makes the whole fake unreachable: 'refuse' stops listening and cuts open connections (new
   * ones get ECONNREFUSED); 'hang' accepts connections and answers nothing.
   */
  async unreachable(mode: 'refuse' | 'hang' = 'refuse'): Promise<void> {
    const server = this.#server;
    if (!server) throw new Error('fault plan: no server attached');
    if (this.#mode) await this.restore();
    this.#mode = mode;
    if (mode === 'refuse') {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    }
  }

  /** Reachable again at the same URL; requests held while hanging are cut. */
  async restore(): Promise<void> {
    const server = this.#server;
    const mode = this.#mode;
    this.#mode = null;
    for (const res of this.#held) res.socket?.destroy();
    this.#held.clear();
    if (mode !== 'refuse' || !server) return;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.#port, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
  }

  /** For the fake's close(): cuts delayed, hung and held requests so the server can close. */
  close(): void {
    this.#faults.length = 0;
    this.#cut.abort();
    this.#mode = null;
    for (const res of this.#held) res.socket?.destroy();
    this.#held.clear();
  }
}

function cutOff(res: ServerResponse): null {
  res.socket?.destroy();
  return null;
}
