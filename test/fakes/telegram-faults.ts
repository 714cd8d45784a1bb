import { FaultPlan, type FaultSpec, type InjectedFault } from './fault-plan.ts';

/**
 * The fake Telegram's faults (`telegram.faults`): {@link FaultPlan} keyed by Bot API method (and
 * optionally chat), with helpers that answer exactly as api.telegram.org does when it fails. See
 * the top of fault-plan.ts.
 */

/** Telegram's texts for its failures, verbatim. */
export const TELEGRAM_TEXT = {
  blocked: 'Forbidden: bot was blocked by the user',
  conflictPolling:
    'Conflict: terminated by other getUpdates request; make sure that only one bot instance is running',
  conflictWebhook:
    "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first",
  editNotFound: 'Bad Request: message to edit not found',
  internal: 'Internal Server Error',
  /** nginx's own 502 page, as the Bot API's front end sends it (CRLF line ends). */
  badGatewayHtml: [
    '<html>',
    '<head><title>502 Bad Gateway</title></head>',
    '<body>',
    '<center><h1>502 Bad Gateway</h1></center>',
    '<hr><center>nginx/1.18.0</center>',
    '</body>',
    '</html>',
    '',
  ].join('\r\n'),
} as const;

/** The 429 description for `retryAfter` seconds. */
export const tooManyRequestsText = (retryAfter: number) => `Too Many Requests: retry after ${retryAfter}`;

/** What a Telegram fault matches: a Bot API method (case-insensitive) or `'*'`, and optionally one chat. */
export interface TelegramTarget {
  method: string;
  /** Only calls whose `chat_id` is this (compared as text, so `-100…` and `'@channel'` work). */
  chatId?: number | string;
}

/** A call as Telegram faults see it. */
export interface TelegramFaultRequest {
  method: string;
  chatId?: number | string;
}

/** Which calls, how often, and whether the work is done first. */
type Common = {
  method: string;
  chatId?: number | string;
  times?: number;
  after?: boolean;
  delayMs?: number;
  label?: string;
};

/** The fake Telegram's fault plan and its helpers. */
export class TelegramFaults extends FaultPlan<TelegramTarget, TelegramFaultRequest> {
  /**
   * `methods` are the methods the fake serves; `now` its clock (ms); `onRetryAfter` is told when a
   * fault hands a chat a `retry_after`, so flood control counts calls that come back too early.
   */
  constructor(
    methods: readonly string[],
    now: () => number,
    onRetryAfter?: (chatId: number, retryAfter: number) => void,
  ) {
    const canonical = new Map(methods.map((m) => [m.toLowerCase(), m]));
    super({
      now,
      matches: (target, request) =>
        (target.method === '*' || target.method.toLowerCase() === request.method.toLowerCase()) &&
        (target.chatId === undefined || String(target.chatId) === String(request.chatId)),
      check: (spec) => {
        if (spec.method === '*') return spec;
        const method = canonical.get(spec.method.toLowerCase());
        if (!method) throw new Error(`fault: the fake Telegram has no method ${spec.method}`);
        return { ...spec, method };
      },
      onFire: (spec, request) => {
        const retryAfter = (spec.body as { parameters?: { retry_after?: unknown } } | undefined)?.parameters
          ?.retry_after;
        const chatId = Number(request.chatId);
        if (typeof retryAfter === 'number' && Number.isInteger(chatId)) onRetryAfter?.(chatId, retryAfter);
      },
    });
  }

  /** A Bot API error: `{"ok":false,"error_code":code,"description":…}` (with `parameters.retry_after`). */
  error(
    opts: Common & { code: number; description: string; retryAfter?: number },
  ): InjectedFault<TelegramTarget> {
    const body: Record<string, unknown> = { ok: false, error_code: opts.code, description: opts.description };
    if (opts.retryAfter !== undefined) body.parameters = { retry_after: opts.retryAfter };
    return this.inject({ ...pick(opts), status: opts.code, body });
  }

  /** 429 `Too Many Requests: retry after N` with `parameters.retry_after` N (default 7). */
  tooManyRequests(opts: Common & { retryAfter?: number }): InjectedFault<TelegramTarget> {
    const retryAfter = opts.retryAfter ?? 7;
    return this.error({ ...opts, code: 429, description: tooManyRequestsText(retryAfter), retryAfter });
  }

  /** 502 with nginx's HTML page (not JSON). `after: true`: the call was carried out. */
  badGateway(opts: Common): InjectedFault<TelegramTarget> {
    return this.inject({
      ...pick(opts),
      status: 502,
      body: TELEGRAM_TEXT.badGatewayHtml,
      headers: { 'content-type': 'text/html', server: 'nginx/1.18.0' },
    });
  }

  /** 500 `Internal Server Error` (JSON, as the Bot API server answers it). */
  serverError(opts: Common): InjectedFault<TelegramTarget> {
    return this.error({ ...opts, code: 500, description: TELEGRAM_TEXT.internal });
  }

  /** 403 `Forbidden: bot was blocked by the user`. */
  blocked(opts: Common): InjectedFault<TelegramTarget> {
    return this.error({ ...opts, code: 403, description: TELEGRAM_TEXT.blocked });
  }

  /** 409 on getUpdates: another poller took over ('polling', default) or a webhook is set ('webhook'). */
  conflict(
    opts: Omit<Common, 'method'> & { kind?: 'polling' | 'webhook' } = {},
  ): InjectedFault<TelegramTarget> {
    const description =
      opts.kind === 'webhook' ? TELEGRAM_TEXT.conflictWebhook : TELEGRAM_TEXT.conflictPolling;
    return this.error({ ...opts, method: 'getUpdates', code: 409, description });
  }

  /** 400 `Bad Request: message to edit not found` (the message was deleted), on editMessageText by default. */
  messageToEditNotFound(
    opts: Omit<Common, 'method'> & { method?: string } = {},
  ): InjectedFault<TelegramTarget> {
    const method = opts.method ?? 'editMessageText';
    return this.error({ ...opts, method, code: 400, description: TELEGRAM_TEXT.editNotFound });
  }

  /** The connection is reset (ECONNRESET), before the call or, with `after`, once it is carried out. */
  connectionReset(opts: Common): InjectedFault<TelegramTarget> {
    return this.inject({ ...pick(opts), reset: true });
  }
}

function pick(opts: Common): FaultSpec<TelegramTarget> {
  const spec: FaultSpec<TelegramTarget> = { method: opts.method };
  if (opts.chatId !== undefined) spec.chatId = opts.chatId;
  if (opts.times !== undefined) spec.times = opts.times;
  if (opts.after !== undefined) spec.after = opts.after;
  if (opts.delayMs !== undefined) spec.delayMs = opts.delayMs;
  if (opts.label !== undefined) spec.label = opts.label;
  return spec;
}
