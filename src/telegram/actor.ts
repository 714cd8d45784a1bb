import type { User } from 'grammy/types';
import type { Actor } from '../deploy/deploy-deps.ts';

/** The name shown for a Telegram user: "First Last (@username)", trimmed and without control characters. */
export function actorOf(user: User): Actor {
  const full = [user.first_name, user.last_name].filter(Boolean).join(' ');
  const handle = user.username ? `@${user.username}` : '';
  const name = (full && handle ? `${full} (${handle})` : full || handle || `user ${user.id}`)
    .replace(/\p{Cc}/gu, ' ')
    .slice(0, 100);
  return { id: user.id, name };
}
