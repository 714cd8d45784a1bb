import type { Update } from 'grammy/types';
import type { WebhookRegistration } from './telegram-api.ts';
import {
  badRequest,
  boolOf,
  checkWebhookUrl,
  intOf,
  objOf,
  type Params,
  sameJson,
  strOf,
  TelegramError,
} from './telegram-api-params.ts';
import type { Exchange, Reply } from './telegram-http.ts';
import { updateType } from './telegram-updates.ts';

const NOT_DEFAULT_UPDATES = new Set(['chat_member', 'message_reaction', 'message_reaction_count']);

/**
 * The updates waiting for the bot and how it takes them, as the real server does: a webhook
 * registration, or long polling with `getUpdates` (one poller at a time; a webhook and polling
 * exclude each other with the server's 409s), filtered by `allowed_updates`.
 */
export class UpdateQueue {
  #queue: Update[] = [];
  #allowedUpdates: string[] = [];
  #webhook: (WebhookRegistration & { max_connections: number }) | null = null;
  #poll: { limit: number; settle: (outcome: Reply | TelegramError) => void } | undefined;
  readonly #allowHttpWebhook: boolean;

  /** `allowHttpWebhook` accepts http:// webhook URLs on any port, which the real API refuses. */
  constructor(allowHttpWebhook: boolean) {
    this.#allowHttpWebhook = allowHttpWebhook;
  }

  /** The webhook as registered, or null when the bot polls. */
  get webhook(): WebhookRegistration | null {
    if (!this.#webhook) return null;
    const { max_connections: _, ...registration } = this.#webhook;
    return registration;
  }

  /** Queues an update; a waiting long poll gets it at once if it is allowed. */
  push(update: Update): void {
    this.#queue.push(update);
    if (this.#poll) {
      const ready = this.#take(this.#poll.limit);
      if (ready.length > 0) this.#poll.settle({ result: ready });
    }
  }

  /** Answers a waiting long poll with no updates (a server shutting down does, rather than cut it off). */
  endPoll(): void {
    this.#poll?.settle({ result: [] });
  }

  #take(limit: number): Update[] {
    const allowed = (u: Update) =>
      this.#allowedUpdates.length === 0
        ? !NOT_DEFAULT_UPDATES.has(updateType(u))
        : this.#allowedUpdates.includes(updateType(u));
    this.#queue = this.#queue.filter(allowed);
    return this.#queue.slice(0, limit);
  }

  /**
   * `setWebhook`; an empty URL removes the webhook. A waiting poll ends with a 409.
   * @throws {TelegramError} 400 on a URL or secret token the server refuses.
   */
  setWebhook(p: Params): Reply {
    const url = strOf(p, 'url') ?? '';
    // An empty URL removes the webhook, as on the real server.
    if (url === '') return this.deleteWebhook(p);
    checkWebhookUrl(url, this.#allowHttpWebhook);
    const secret = strOf(p, 'secret_token') ?? '';
    if (secret.length > 256) throw badRequest('secret token is too long');
    if (!/^[A-Za-z0-9_-]*$/.test(secret)) throw badRequest('secret token contains unallowed characters');
    const maxConnections = intOf(p, 'max_connections') ?? this.#webhook?.max_connections ?? 40;
    const next: WebhookRegistration & { max_connections: number } = {
      url,
      max_connections: maxConnections,
    };
    if (secret !== '') next.secret_token = secret;
    const allowed = objOf(p, 'allowed_updates');
    if (Array.isArray(allowed)) this.#allowedUpdates = allowed.map(String);
    if (this.#allowedUpdates.length > 0) next.allowed_updates = [...this.#allowedUpdates];
    if (boolOf(p, 'drop_pending_updates')) this.#queue = [];
    const already = sameJson(next, this.#webhook);
    this.#webhook = next;
    this.#poll?.settle(new TelegramError(409, 'Conflict: terminated by setWebhook request'));
    return { result: true, description: already ? 'Webhook is already set' : 'Webhook was set' };
  }

  /** `deleteWebhook`, optionally dropping the pending updates. */
  deleteWebhook(p: Params): Reply {
    if (boolOf(p, 'drop_pending_updates')) this.#queue = [];
    const was = this.#webhook !== null;
    this.#webhook = null;
    return { result: true, description: was ? 'Webhook was deleted' : 'Webhook is already deleted' };
  }

  /** `getWebhookInfo`. */
  webhookInfo(): Reply {
    const webhook = this.#webhook;
    const info: Record<string, unknown> = {
      url: webhook?.url ?? '',
      has_custom_certificate: false,
      pending_update_count: this.#queue.length,
    };
    if (webhook) info.max_connections = webhook.max_connections;
    if (webhook?.allowed_updates) info.allowed_updates = webhook.allowed_updates;
    return { result: info };
  }

  /**
   * `getUpdates`: confirms updates below `offset`, then answers at once or waits up to `timeout`
   * seconds. A newer poll ends an older one with a 409; a client that hangs up ends its own.
   * @throws {TelegramError} 409 while a webhook is set.
   */
  async getUpdates(p: Params, exchange: Exchange): Promise<Reply> {
    if (this.#webhook) {
      throw new TelegramError(
        409,
        "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first",
      );
    }
    if (this.#poll) {
      // Let a client that aborted its poll (grammY's bot.stop() does, then polls once more) be noticed
      // first: only a poller that is still connected is told it was terminated.
      await new Promise((resolve) => setTimeout(resolve, 50));
      this.#poll?.settle(
        new TelegramError(
          409,
          'Conflict: terminated by other getUpdates request; make sure that only one bot instance is running',
        ),
      );
    }
    const offset = intOf(p, 'offset') ?? 0;
    if (offset > 0) this.#queue = this.#queue.filter((u) => u.update_id >= offset);
    if (offset < 0) this.#queue = this.#queue.slice(offset);
    const allowed = objOf(p, 'allowed_updates');
    if (Array.isArray(allowed)) this.#allowedUpdates = allowed.map(String);
    const limit = Math.min(100, Math.max(1, intOf(p, 'limit') ?? 100));
    const timeout = Math.min(50, Math.max(0, intOf(p, 'timeout') ?? 0));
    const ready = this.#take(limit);
    if (ready.length > 0 || timeout === 0) return { result: ready };
    return new Promise<Reply>((resolve, reject) => {
      const timer = setTimeout(() => current.settle({ result: [] }), timeout * 1000);
      const current = {
        limit,
        settle: (outcome: Reply | TelegramError) => {
          clearTimeout(timer);
          if (this.#poll === current) this.#poll = undefined;
          if (outcome instanceof TelegramError) reject(outcome);
          else resolve(outcome);
        },
      };
      this.#poll = current;
      exchange.onClientGone(() => current.settle({ result: [] }));
    });
  }
}
