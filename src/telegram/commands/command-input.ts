import type { Context } from 'grammy';
import type { Actor } from '../../deploy/deploy-deps.ts';
import { actorOf } from '../actor.ts';
import type { BotDeps } from '../bot-deps.ts';

/** A command as the handlers see it: who, where, and the words after the command. */
export type CommandInput = {
  actor: Actor;
  chatId: number;
  /** `/lock production 2h freeze` → production, 2h, freeze. */
  words: string[];
};

/** A command handler: calls one use case and renders its outcome into the chat. */
export type CommandHandler = (input: CommandInput, deps: BotDeps) => Promise<void>;

/** The command in an update, or null when it has no sender or chat (channel posts, anonymous admins). */
export function commandInput(ctx: Context): CommandInput | null {
  const user = ctx.from;
  const chatId = ctx.chat?.id;
  if (!user || chatId === undefined) return null;
  const words = (typeof ctx.match === 'string' ? ctx.match : '').trim().split(/\s+/).filter(Boolean);
  return { actor: actorOf(user), chatId, words };
}
