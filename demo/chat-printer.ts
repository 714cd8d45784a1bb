import type { ChatMessage, FakeTelegram } from '../test/fakes/telegram-api.ts';

type Service = { outbox: { idle(): boolean } };

/**
 * Prints chats as they change: each new message, and each edit of a message, once, as the person
 * holding the phone would see it at that moment.
 */
export class ChatPrinter {
  readonly #telegram: FakeTelegram;
  readonly #names: Record<number, string>;
  readonly #out: (line?: string) => void;
  readonly #render: (message: ChatMessage) => string;
  readonly #shown = new Map<string, string>();
  #timer: NodeJS.Timeout | null = null;

  constructor(
    telegram: FakeTelegram,
    names: Record<number, string>,
    out: (line?: string) => void,
    render: (m: ChatMessage) => string,
  ) {
    this.#telegram = telegram;
    this.#names = names;
    this.#out = out;
    this.#render = render;
  }

  start(): void {
    this.#timer = setInterval(() => this.flush(), 100);
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.flush();
  }

  section(title: string): void {
    this.flush();
    this.#out();
    this.#out(`━━ ${title}`);
  }

  note(text: string): void {
    this.flush();
    this.#out(`   · ${text}`);
  }

  /** Waits until the bot has nothing left to send, then prints what changed. */
  async settle(service: Service): Promise<void> {
    const deadline = Date.now() + 15_000;
    while (!service.outbox.idle() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    this.flush();
  }

  flush(): void {
    for (const [id, name] of Object.entries(this.#names)) {
      for (const message of this.#telegram.messages(Number(id))) {
        const key = `${id}:${message.message_id}`;
        const text = this.#render(message);
        if (this.#shown.get(key) === text) continue;
        const edited = this.#shown.has(key);
        this.#shown.set(key, text);
        this.#out();
        this.#out(`┌ ${name}’s chat${edited ? ' — the same message, edited' : ''}`);
        for (const line of text.split('\n')) this.#out(`│ ${line}`);
      }
    }
  }
}
