import { type Api, GrammyError, HttpError } from 'grammy';
import type { InlineKeyboardMarkup } from 'grammy/types';
import type { DeploymentRecord } from '../core/deployment.ts';
import type { Notifier } from '../deploy/deploy-deps.ts';
import type { Store } from '../store/store.ts';
import { escapeHtml } from './html.ts';

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
  /** Gap between two messages or edits to one private chat (Telegram: about 1 per second). */
  privateIntervalMs?: number;
  /** Gap in groups (Telegram: 20 per minute). */
  groupIntervalMs?: number;
  onError?: (error: unknown, context: { chatId: number; deploymentId?: string }) => void;
};

type Send = {
  text: string;
  markup: InlineKeyboardMarkup | undefined;
  resolve: (messageId: number) => void;
  reject: (error: unknown) => void;
};

type ChatQueue = {
  sends: Send[];
  edits: Set<string>;
  nextAt: number;
  timer: NodeJS.Timeout | null;
  busy: boolean;
};

/**
 * Everything the bot says in a chat goes through here, paced per chat so Telegram's limits are not
 * hit, and deployment messages are edited in place with their latest state:
 *
 * - `touch(id)` after any change to a record; bursts coalesce into one edit that shows the newest
 *   version (the renderer reads the record when the edit is due, not when it was asked for);
 * - "message is not modified" counts as delivered; a 429 waits `retry_after` (auto-retry plugin);
 * - what was delivered is stored (`deliveredVersion`), so `resume()` after a restart sends what is owed.
 */
export class Outbox implements Notifier {
  readonly #o: Required<Omit<OutboxOptions, 'onError'>> & Pick<OutboxOptions, 'onError'>;
  readonly #chats = new Map<number, ChatQueue>();
  #closed = false;

  constructor(options: OutboxOptions) {
    this.#o = { now: Date.now, privateIntervalMs: 1050, groupIntervalMs: 3100, ...options };
  }

  /** Sends a message when the chat's turn comes; resolves with its message id. */
  send(chatId: number, text: string, markup?: InlineKeyboardMarkup): Promise<number> {
    return new Promise((resolve, reject) => {
      this.#queue(chatId).sends.push({ text, markup, resolve, reject });
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
    if (!record || record.chatId === null || !this.#owesMessage(record)) return;
    if (record.version <= record.deliveredVersion) return;
    this.#queue(record.chatId).edits.add(deploymentId);
    this.#schedule(record.chatId);
  }

  /** Queues every message and edit still owed (after a restart, and periodically as a safety net). */
  async resume(): Promise<void> {
    for (const record of await this.#o.store.listUndelivered(500)) {
      if (record.chatId === null || !this.#owesMessage(record)) continue;
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
      q = { sends: [], edits: new Set(), nextAt: 0, timer: null, busy: false };
      this.#chats.set(chatId, q);
    }
    return q;
  }

  #schedule(chatId: number): void {
    const q = this.#queue(chatId);
    if (this.#closed || q.busy || q.timer || (q.sends.length === 0 && q.edits.size === 0)) return;
    const delay = Math.max(0, q.nextAt - this.#o.now());
    q.timer = setTimeout(() => {
      q.timer = null;
      void this.#work(chatId);
    }, delay);
  }

  async #work(chatId: number): Promise<void> {
    const q = this.#queue(chatId);
    q.busy = true;
    let spoke = false;
    try {
      const send = q.sends.shift();
      if (send) {
        spoke = true;
        try {
          const message = await this.#o.api.sendMessage(chatId, send.text, {
            parse_mode: 'HTML',
            link_preview_options: { is_disabled: true },
            ...(send.markup ? { reply_markup: send.markup } : {}),
          });
          send.resolve(message.message_id);
        } catch (error) {
          send.reject(error);
        }
      } else {
        const [id] = q.edits;
        if (id !== undefined) {
          q.edits.delete(id);
          spoke = await this.#edit(chatId, id);
        }
      }
    } finally {
      q.busy = false;
      if (spoke)
        q.nextAt = this.#o.now() + (chatId < 0 ? this.#o.groupIntervalMs : this.#o.privateIntervalMs);
      this.#schedule(chatId);
    }
  }

  /**
   * Whether a record's message is owed: a first message when it has none (a request, a run started
   * outside Telegram), else an edit. Every deployment message goes through here, so the message id
   * is attached once and never sent twice.
   */
  #owesMessage(record: DeploymentRecord): boolean {
    return record.chatId !== null && record.version > record.deliveredVersion;
  }

  /** Edits one deployment's message to its newest version (or sends it first). Returns whether Telegram was called. */
  async #edit(chatId: number, deploymentId: string): Promise<boolean> {
    const record = await this.#o.store.getDeployment(deploymentId);
    if (!record || !this.#owesMessage(record)) return false;
    const { text, markup } = this.#o.render(record);
    if (record.messageId === null) return this.#sendFirst(chatId, record, text, markup);
    try {
      await this.#o.api.editMessageText(chatId, record.messageId, text, {
        parse_mode: 'HTML',
        link_preview_options: { is_disabled: true },
        ...(markup ? { reply_markup: markup } : {}),
      });
      await this.#o.store.markDelivered(record.id, record.version);
    } catch (error) {
      if (error instanceof GrammyError && /message is not modified/i.test(error.description)) {
        await this.#o.store.markDelivered(record.id, record.version);
      } else if (error instanceof GrammyError && error.error_code === 400) {
        // The message is gone or can no longer be edited: retrying would fail forever.
        await this.#o.store.markDelivered(record.id, record.version);
        this.#o.onError?.(error, { chatId, deploymentId });
      } else {
        // Network trouble or a 5xx: keep it owed; the next touch or resume() retries.
        this.#o.onError?.(error, { chatId, deploymentId });
        if (error instanceof HttpError || error instanceof GrammyError) {
          const q = this.#queue(chatId);
          q.nextAt = this.#o.now() + 5000;
          q.edits.add(deploymentId);
        }
      }
    }
    return true;
  }

  async #sendFirst(
    chatId: number,
    record: DeploymentRecord,
    text: string,
    markup: InlineKeyboardMarkup | undefined,
  ): Promise<boolean> {
    try {
      const message = await this.#o.api.sendMessage(chatId, text, {
        parse_mode: 'HTML',
        link_preview_options: { is_disabled: true },
        ...(markup ? { reply_markup: markup } : {}),
      });
      // Attach the message; versions that arrived meanwhile stay owed and become an edit.
      for (let attempt = 0; attempt < 8; attempt++) {
        const current = await this.#o.store.getDeployment(record.id);
        if (!current || current.messageId !== null) break;
        const attached = await this.#o.store.updateDeployment(
          record.id,
          current.version,
          { messageId: message.message_id },
          this.#o.now(),
        );
        if (attached) {
          if (current.version === record.version)
            await this.#o.store.markDelivered(record.id, attached.version);
          else this.#queue(chatId).edits.add(record.id);
          break;
        }
      }
    } catch (error) {
      this.#o.onError?.(error, { chatId, deploymentId: record.id });
      if (error instanceof GrammyError && (error.error_code === 400 || error.error_code === 403)) {
        // The chat is gone or the bot was blocked: retrying would fail forever.
        await this.#o.store.markDelivered(record.id, record.version);
      } else {
        const q = this.#queue(chatId);
        q.nextAt = this.#o.now() + 5000;
        q.edits.add(record.id);
      }
    }
    return true;
  }
}
