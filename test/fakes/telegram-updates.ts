import type { Chat, Message, MessageEntity, Update, User } from 'grammy/types';

/** A person (or a bot) as tests describe it; becomes a Telegram `User`. */
export type Person = { id: number; first_name: string; username?: string; is_bot?: boolean };

export type ChatType = 'private' | 'group' | 'supergroup' | 'channel';

/**
 * Hands out update ids that only grow, shared by every builder of one fake, because grammY (like any
 * Bot API client) confirms updates by offset and would silently drop an update whose id went backwards.
 */
export class UpdateIds {
  #last: number;
  constructor(start = 100_000) {
    this.#last = start - 1;
  }
  /** The next id, one more than the last one handed out. */
  next(): number {
    this.#last += 1;
    return this.#last;
  }
}

/** A Telegram `User` for a person. */
export function toUser(person: Person): User {
  const user: User = { id: person.id, is_bot: person.is_bot ?? false, first_name: person.first_name };
  if (person.username !== undefined) user.username = person.username;
  return user;
}

/**
 * The `Chat` object Telegram puts in messages: positive ids are private chats with that user, negative
 * ids groups, and ids of the -100… form (below -10^12) supergroups; channels only when asked.
 */
export function buildChat(chatId: number, type?: ChatType, person?: Person): Chat {
  const kind = type ?? (chatId > 0 ? 'private' : chatId <= -1_000_000_000_000 ? 'supergroup' : 'group');
  if (kind === 'private') {
    const chat: Chat.PrivateChat = {
      id: chatId,
      type: 'private',
      first_name: person?.first_name ?? `User ${chatId}`,
    };
    if (person?.username !== undefined) chat.username = person.username;
    return chat;
  }
  if (kind === 'channel') return { id: chatId, type: 'channel', title: `Channel ${chatId}` };
  if (kind === 'supergroup') return { id: chatId, type: 'supergroup', title: `Group ${chatId}` };
  return { id: chatId, type: 'group', title: `Group ${chatId}` };
}

/**
 * The entities Telegram's clients attach to typed text: a `bot_command` for a leading `/command`
 * (including an `@botname` suffix), as grammY's `bot.command()` relies on it.
 */
export function commandEntities(text: string): MessageEntity[] {
  const match = /^\/[A-Za-z0-9_]{1,32}(?:@[A-Za-z0-9_]{3,32})?/.exec(text);
  return match ? [{ type: 'bot_command', offset: 0, length: match[0].length }] : [];
}

export type TextMessageInput = {
  messageId: number;
  chat: Chat;
  /** Omitted for anonymous group admins and channel posts, which carry no `from`. */
  from?: Person;
  text: string;
  /** Unix seconds. */
  date: number;
};

/** A text `Message` as a user's client sends it, with command entities. */
export function buildTextMessage(input: TextMessageInput): Message {
  const message: Message.TextMessage = {
    message_id: input.messageId,
    date: input.date,
    chat: input.chat,
    text: input.text,
  } as Message.TextMessage;
  if (input.from) message.from = toUser(input.from);
  const entities = commandEntities(input.text);
  if (entities.length > 0) message.entities = entities;
  return message;
}

/** `{ update_id, message }`: a new message in a private chat or a group. */
export function messageUpdate(updateId: number, message: Message): Update {
  return { update_id: updateId, message } as Update;
}

/** `{ update_id, edited_message }`: a user edited an earlier message (bots usually ignore these). */
export function editedMessageUpdate(updateId: number, message: Message, editDate: number): Update {
  return { update_id: updateId, edited_message: { ...message, edit_date: editDate } } as Update;
}

/** `{ update_id, channel_post }`: a post in a channel, which has a `sender_chat` and no `from`. */
export function channelPostUpdate(updateId: number, input: Omit<TextMessageInput, 'from'>): Update {
  const post = buildTextMessage(input);
  return { update_id: updateId, channel_post: { ...post, sender_chat: input.chat } } as Update;
}

/** A sticker message: a message with no `text` at all, which command handlers must not trip on. */
export function stickerMessageUpdate(
  updateId: number,
  input: { messageId: number; chat: Chat; from: Person; date: number; emoji?: string },
): Update {
  const message = {
    message_id: input.messageId,
    date: input.date,
    chat: input.chat,
    from: toUser(input.from),
    sticker: {
      file_id: `sticker-${input.messageId}`,
      file_unique_id: `u-sticker-${input.messageId}`,
      type: 'regular',
      width: 512,
      height: 512,
      is_animated: false,
      is_video: false,
      emoji: input.emoji ?? '👍',
    },
  };
  return { update_id: updateId, message } as Update;
}

export type CallbackInput = {
  queryId: string;
  from: Person;
  data: string;
  /** The message the button is on; omitted for buttons on inline-mode messages. */
  message?: Message;
  /** Set instead of `message` for buttons on messages sent in inline mode. */
  inlineMessageId?: string;
  chatInstance?: string;
};

/** `{ update_id, callback_query }`: someone pressed an inline button. */
export function callbackQueryUpdate(updateId: number, input: CallbackInput): Update {
  const query: Record<string, unknown> = {
    id: input.queryId,
    from: toUser(input.from),
    chat_instance: input.chatInstance ?? `ci-${input.message?.chat.id ?? 'inline'}`,
    data: input.data,
  };
  if (input.message) query.message = input.message;
  if (input.inlineMessageId !== undefined) query.inline_message_id = input.inlineMessageId;
  return { update_id: updateId, callback_query: query } as unknown as Update;
}

/** The kind of an update: the one field besides `update_id` (`message`, `callback_query`, …). */
export function updateType(update: Update): string {
  return Object.keys(update).find((key) => key !== 'update_id') ?? 'unknown';
}
