import type { Dialect, StatementRunner } from './account-store.ts';
import { checkInt, storableText } from './rows.ts';
import type { Store } from './store.ts';

type ClusterMethods = Pick<Store, 'takeChatTurn' | 'holdChat' | 'releaseLease'>;

/**
 * What several instances sharing one database coordinate beyond claims: the pace of each Telegram
 * chat, so the whole cluster stays within Telegram's limits, and giving a lease back at shutdown.
 * Written once for both drivers; each method is one atomic statement.
 */
export function clusterStatements(run: StatementRunner, dialect: Dialect): ClusterMethods {
  const { param: p, table } = dialect;
  const pace = table('chat_pace');
  const leases = table('leases');
  return {
    async takeChatTurn(chatId, gapMs, now) {
      checkInt('chatId', chatId);
      if (checkInt('gapMs', gapMs) < 0) throw new RangeError(`gapMs must not be negative, got ${gapMs}`);
      // The turn starts when the chat is free (now, or the end of the last turn taken by anyone);
      // the next one starts gapMs later. CASE rather than GREATEST/MAX: the same SQL on both drivers.
      const [row] = await run(
        'take chat turn',
        `INSERT INTO ${pace} AS c (chat_id, next_at) VALUES (${p(1)}, ${p(4)})
         ON CONFLICT (chat_id) DO UPDATE
           SET next_at = (CASE WHEN c.next_at > ${p(2)} THEN c.next_at ELSE ${p(2)} END) + ${p(3)}
         RETURNING next_at`,
        [chatId, checkInt('now', now), gapMs, now + gapMs],
      );
      return Number(row?.next_at) - gapMs;
    },
    async holdChat(chatId, until) {
      await run(
        'hold chat',
        `INSERT INTO ${pace} AS c (chat_id, next_at) VALUES (${p(1)}, ${p(2)})
         ON CONFLICT (chat_id) DO UPDATE SET next_at = excluded.next_at WHERE c.next_at < excluded.next_at`,
        [checkInt('chatId', chatId), checkInt('until', until)],
      );
    },
    async releaseLease(name, holder) {
      const rows = await run(
        `release lease ${name}`,
        `DELETE FROM ${leases} WHERE name = ${p(1)} AND holder = ${p(2)} RETURNING 1 AS ok`,
        [storableText(name), storableText(holder)],
      );
      return rows.length === 1;
    },
  };
}
