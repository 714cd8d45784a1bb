import { randomBytes } from 'node:crypto';
import type { Api } from 'grammy';
import type { InlineKeyboardMarkup } from 'grammy/types';
import type { DeploymentRecord } from '../core/deployment.ts';
import type { Notifier } from '../deploy/deploy-deps.ts';
import type { Store } from '../store/store.ts';
import { escapeHtml } from './html.ts';
import { backoffMs, classifyTelegramFailure, type TelegramFailure } from './telegram-failure.ts';

/** How the outbox turns a record into a message. */
export type RenderDeployment = (record: DeploymentRecord) => {
  text: string;
  markup: InlineKeyboardMarkup | undefined;
};

export type OutboxOptions = {
  api: Api;
  store: Store;
  render: RenderDeployment;
  now?: () => number;
  /**
   * This instance's name in the store's leases: while it shows a deployment's message, no other
   * instance edits it (default: random).
   */
  holder?: string;
  /** Telegram's clock for pacing (default Date.now): the pace is kept in real time whatever `now` says. */
  wallClock?: () => number;
  /** Gap between two messages or edits to one private chat (Telegram: about 1 per second). */
  privateIntervalMs?: number;
  /**
   * Gap in groups (Telegram: 20 per minute). 3.3 s is about 18 a minute: a call that starts late
   * (a slow store, a busy machine) still leaves the next minute within 20.
   */
  groupIntervalMs?: number;
  /** Tries of a plain message (a command's answer) while Telegram fails with 5xx or network errors. */
  sendAttempts?: number;
  onError?: (error: unknown, context: { chatId: number; deploymentId?: string }) => void;
};

type Send = {
  text: string;
  markup: InlineKeyboardMarkup | undefined;
  attempts: number;
  resolve: (messageId: number) => void;
  reject: (error: unknown) => void;
};

type ChatQueue = {
  sends: Send[];
  edits: Set<string>;
  nextAt: number;
  timer: NodeJS.Timeout | null;
  busy: boolean;
  /** Transient failures in a row (sets the backoff); 0 after any call that went through. */
  failures: number;
};

/** What one turn of a chat did: whether Telegram was called, and how it failed if it did. */
type Turn = { called: boolean; failure: TelegramFailure | null };

const MESSAGE_OPTIONS = { parse_mode: 'HTML', link_preview_options: { is_disabled: true } } as const;

/**
 * How long one instance may hold a deployment's message while it sends or edits it. Longer than a
 * Telegram call takes; if the instance dies holding it, another shows the message after this.
 */
const MESSAGE_CLAIM_MS = 30_000;

/**
 * Everything the bot says in a chat goes through here, paced per chat so Telegram's limits are not
 * hit, and deployment messages are edited in place with their latest state:
 *
 * - `touch(id)` after any change to a record; bursts coalesce into one edit that shows the newest
 *   version (the renderer reads the record when the edit is due, not when it was asked for);
 * - "message is not modified" counts as delivered;
 * - each chat has its own queue, so a chat whose calls fail never holds up another. A 429 waits its
 *   `retry_after` (short ones inside grammY's auto-retry, longer ones here); a 5xx or a network error
 *   keeps the message owed and tries again after 1 s, 2 s, 4 s, then every 5 s, so the newest state
 *   arrives within seconds of Telegram's recovery. Only a permanent refusal (message gone, bot
 *   blocked) gives up;
 * - what was delivered is stored (`deliveredVersion`), so `resume()` after a restart sends what is owed.
 *
 * Several instances on one database behave as one outbox: every call to Telegram first takes the
 * chat's next turn in the store (`takeChatTurn`), so the cluster keeps one pace per chat, and a 429
 * holds the chat for every instance. A deployment's message is sent or edited only under a claim in
 * the store, and the record is read under it, so two instances never race an older state over a
 * newer one; the claim's holder looks again after giving it back, so a change made meanwhile (whose
 * writer found the claim taken) is still shown.
 */
export class Outbox implements Notifier {
  readonly #o: Required<Omit<OutboxOptions, 'onError'>> & Pick<OutboxOptions, 'onError'>;
  readonly #chats = new Map<number, ChatQueue>();
  #closed = false;

  constructor(options: OutboxOptions) {
    this.#o = {
      now: Date.now,
      wallClock: Date.now,
      holder: randomBytes(8).toString('hex'),
      privateIntervalMs: 1050,
      groupIntervalMs: 3300,
      sendAttempts: 8,
      ...options,
    };
  }

  /** Sends a message when the chat's turn comes; resolves with its message id. */
  send(chatId: number, text: string, markup?: InlineKeyboardMarkup): Promise<number> {
    return new Promise((resolve, reject) => {
      this.#queue(chatId).sends.push({ text, markup, attempts: 0, resolve, reject });
      this.#schedule(chatId);
    });
  }

  /** {@link Notifier.changed}: `touch` whose failure (the store) is reported to `onError`, not thrown. */
  changed(deploymentId: string): void {
    this.touch(deploymentId).catch((error) => this.#o.onError?.(error, { chatId: 0, deploymentId }));
  }

  /** {@link Notifier.tell}: plain text, escaped; rejects when Telegram refuses it. */
  async tell(chatId: number, text: string): Promise<void> {
    await this.send(chatId, escapeHtml(text));
  }

  /**
   * A record changed: its message will show the new state (coalesced with other changes), or is sent
   * first when it has none yet.
   */
  async touch(deploymentId: string): Promise<void> {
    const record = await this.#o.store.getDeployment(deploymentId);
    if (!record || record.chatId === null || !owesMessage(record)) return;
    this.#queue(record.chatId).edits.add(deploymentId);
    this.#schedule(record.chatId);
  }

  /** Queues every message and edit still owed (after a restart, and periodically as a safety net). */
  async resume(): Promise<void> {
    for (const record of await this.#o.store.listUndelivered(500)) {
      if (record.chatId === null || !owesMessage(record)) continue;
      this.#queue(record.chatId).edits.add(record.id);
      this.#schedule(record.chatId);
    }
  }

  /** Whether anything is queued or in flight (tests and shutdown wait for this). */
  idle(): boolean {
    for (const q of this.#chats.values())
      if (q.busy || q.timer || q.sends.length || q.edits.size) return false;
    return true;
  }

  /** Waits (at most `timeoutMs`) until nothing is queued or in flight; true when it got there. */
  async drain(timeoutMs: number): Promise<boolean> {
    const deadline = this.#o.wallClock() + timeoutMs;
    while (!this.idle()) {
      if (this.#o.wallClock() >= deadline) return false;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    return true;
  }

  close(): void {
    this.#closed = true;
    for (const q of this.#chats.values()) {
      if (q.timer) clearTimeout(q.timer);
      q.timer = null;
      for (const s of q.sends.splice(0)) s.reject(new Error('outbox closed'));
    }
  }

  #queue(chatId: number): ChatQueue {
    let q = this.#chats.get(chatId);
    if (!q) {
      q = { sends: [], edits: new Set(), nextAt: 0, timer: null, busy: false, failures: 0 };
      this.#chats.set(chatId, q);
    }
    return q;
  }

  #schedule(chatId: number): void {
    const q = this.#queue(chatId);
    if (this.#closed || q.busy || q.timer || (q.sends.length === 0 && q.edits.size === 0)) return;
    const delay = Math.max(0, q.nextAt - this.#o.wallClock());
    q.timer = setTimeout(() => {
      q.timer = null;
      void this.#work(chatId);
    }, delay);
  }

  /** One turn of a chat: its oldest plain message, else one owed deployment message; then the pace. */
  async #work(chatId: number): Promise<void> {
    const q = this.#queue(chatId);
    q.busy = true;
    let turn: Turn = { called: false, failure: null };
    try {
      const send = q.sends.shift();
      if (send) turn = await this.#sendPlainInTurn(chatId, q, send);
      else {
        const [id] = q.edits;
        if (id !== undefined) {
          q.edits.delete(id);
          turn = await this.#deliver(chatId, id);
        }
      }
    } finally {
      q.busy = false;
      this.#pace(chatId, q, turn);
      this.#schedule(chatId);
    }
  }

  /** When the chat's next call may go: the pace after a call, `retry_after` after a 429, backoff after a 5xx. */
  #pace(chatId: number, q: ChatQueue, turn: Turn): void {
    const now = this.#o.wallClock();
    const failure = turn.failure;
    if (turn.called && failure?.kind !== 'transient') q.failures = 0;
    let next = turn.called ? now + (chatId < 0 ? this.#o.groupIntervalMs : this.#o.privateIntervalMs) : now;
    if (failure?.kind === 'flood') {
      next = Math.max(next, now + failure.retryAfterMs);
      // Every instance waits it out: Telegram counts the bot's calls, not one process's.
      this.#o.store.holdChat(chatId, Math.round(next)).catch((error) => this.#o.onError?.(error, { chatId }));
    }
    if (failure?.kind === 'transient') {
      q.failures += 1;
      next = Math.max(next, now + backoffMs(q.failures));
    }
    q.nextAt = Math.max(q.nextAt, next);
  }

  /**
   * Waits for the chat's next turn, shared by every instance through the store. When the store does
   * not answer, this instance's own pace (`#pace`) still holds: degraded, not stopped.
   * A deployment's `claim`, held by the caller, is stretched to last through the wait.
   * @returns false when the outbox was closed while waiting (nothing may be sent then).
   */
  async #takeTurn(chatId: number, claim?: string): Promise<boolean> {
    const { store, holder } = this.#o;
    const gap = chatId < 0 ? this.#o.groupIntervalMs : this.#o.privateIntervalMs;
    try {
      const at = await store.takeChatTurn(chatId, gap, Math.round(this.#o.wallClock()));
      const wait = at - this.#o.wallClock();
      if (wait <= 0) return !this.#closed;
      if (claim !== undefined) {
        const ttl = Math.ceil(wait) + MESSAGE_CLAIM_MS;
        await store.tryLease(claim, holder, ttl, Math.round(this.#o.wallClock()));
      }
      await new Promise((resolve) => setTimeout(resolve, wait));
    } catch (error) {
      this.#o.onError?.(error, { chatId });
    }
    return !this.#closed;
  }

  async #sendPlainInTurn(chatId: number, q: ChatQueue, send: Send): Promise<Turn> {
    if (await this.#takeTurn(chatId)) return this.#sendPlain(chatId, q, send);
    send.reject(new Error('outbox closed'));
    return { called: false, failure: null };
  }

  async #sendPlain(chatId: number, q: ChatQueue, send: Send): Promise<Turn> {
    try {
      const message = await this.#o.api.sendMessage(chatId, send.text, {
        ...MESSAGE_OPTIONS,
        ...(send.markup ? { reply_markup: send.markup } : {}),
      });
      send.resolve(message.message_id);
      return { called: true, failure: null };
    } catch (error) {
      const failure = classifyTelegramFailure(error);
      send.attempts += 1;
      const again =
        failure.kind === 'flood' || (failure.kind === 'transient' && send.attempts < this.#o.sendAttempts);
      if (again) {
        q.sends.unshift(send);
        this.#o.onError?.(error, { chatId });
      } else send.reject(error);
      return { called: true, failure };
    }
  }

  /**
   * Sends or edits one deployment's message to its newest version, in the chat's turn and under the
   * deployment's claim; on a failure it stays owed. Another instance holding the claim shows it.
   */
  async #deliver(chatId: number, deploymentId: string): Promise<Turn> {
    const { store, holder } = this.#o;
    const notCalled: Turn = { called: false, failure: null };
    const claim = `message:${deploymentId}`;
    try {
      const owed = await store.getDeployment(deploymentId);
      if (!owed || !owesMessage(owed)) return notCalled;
      // Held by another instance: it shows the newest version, and looks again when it is done. The
      // claim comes before the chat's turn, so instances never spend turns on the same message.
      if (!(await store.tryLease(claim, holder, MESSAGE_CLAIM_MS, Math.round(this.#o.wallClock()))))
        return notCalled;
    } catch (error) {
      // The store did not answer: still owed; tried again after the chat's backoff.
      this.#o.onError?.(error, { chatId, deploymentId });
      this.#queue(chatId).edits.add(deploymentId);
      return { called: false, failure: { kind: 'transient' } };
    }
    try {
      if (!(await this.#takeTurn(chatId, claim))) return notCalled;
      return await this.#deliverClaimed(chatId, deploymentId);
    } finally {
      // Given back first, then looked at again: a version written while the claim was held is shown.
      await store.releaseLease(claim, holder).catch((error) => this.#o.onError?.(error, { chatId }));
      const after = await store.getDeployment(deploymentId).catch(() => null);
      if (after && owesMessage(after)) this.#queue(chatId).edits.add(deploymentId);
    }
  }

  async #deliverClaimed(chatId: number, deploymentId: string): Promise<Turn> {
    try {
      const record = await this.#o.store.getDeployment(deploymentId);
      if (!record || !owesMessage(record)) return { called: false, failure: null };
      const { text, markup } = this.#o.render(record);
      const extra = { ...MESSAGE_OPTIONS, ...(markup ? { reply_markup: markup } : {}) };
      if (record.messageId === null) {
        const message = await this.#o.api.sendMessage(chatId, text, extra);
        await this.#attach(chatId, record, message.message_id);
      } else {
        await this.#o.api.editMessageText(chatId, record.messageId, text, extra).catch((error: unknown) => {
          if (classifyTelegramFailure(error).kind !== 'not_modified') throw error;
        });
        await this.#o.store.markDelivered(record.id, record.version);
      }
      return { called: true, failure: null };
    } catch (error) {
      return this.#deliveryFailed(chatId, deploymentId, error);
    }
  }

  async #deliveryFailed(chatId: number, deploymentId: string, error: unknown): Promise<Turn> {
    this.#o.onError?.(error, { chatId, deploymentId });
    const failure = classifyTelegramFailure(error);
    if (failure.kind === 'permanent') {
      // The message is gone, or the chat (the bot was blocked): retrying would fail forever.
      const record = await this.#o.store.getDeployment(deploymentId);
      if (record) await this.#o.store.markDelivered(record.id, record.version);
    } else {
      this.#queue(chatId).edits.add(deploymentId);
    }
    return { called: true, failure };
  }

  /**
   * Attaches a first message to its record; versions that arrived meanwhile stay owed and become an
   * edit. Every deployment message goes through here, so the message id is attached once.
   */
  async #attach(chatId: number, record: DeploymentRecord, messageId: number): Promise<void> {
    for (let attempt = 0; attempt < 8; attempt++) {
      const current = await this.#o.store.getDeployment(record.id);
      if (!current || current.messageId !== null) return;
      const attached = await this.#o.store.updateDeployment(
        record.id,
        current.version,
        { messageId },
        this.#o.now(),
      );
      if (!attached) continue;
      if (current.version === record.version) await this.#o.store.markDelivered(record.id, attached.version);
      else this.#queue(chatId).edits.add(record.id);
      return;
    }
  }
}

/**
 * Whether a record's message is owed: a first message when it has none (a request, a run started
 * outside Telegram), else an edit.
 */
function owesMessage(record: DeploymentRecord): boolean {
  return record.chatId !== null && record.version > record.deliveredVersion;
}
