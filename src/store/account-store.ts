import {
  checkInt,
  checkIntOrNull,
  int,
  intOrNull,
  type Row,
  storableText,
  text,
  textOrNull,
} from './rows.ts';
import type { ClaimVoteResult, LinkedAccount, ReviewVote, Store } from './store.ts';
import { StoreError } from './store.ts';
import type { BindValue } from './store-params.ts';

/**
 * Linked GitHub accounts and review votes, written once for both drivers: the SQL is the same but
 * for placeholders (`?1` in SQLite, `$1` in PostgreSQL) and the schema prefix. Each driver hands over
 * how it runs one statement (with its own error mapping) and its dialect.
 */

/** How a driver runs one statement: the rows it returns (`RETURNING` included). */
export type StatementRunner = (what: string, sql: string, params: readonly BindValue[]) => Promise<Row[]>;

/** The tables statements written once for both drivers address. */
export type TableName =
  | 'deployments'
  | 'linked_accounts'
  | 'review_votes'
  | 'deliveries'
  | 'locks'
  | 'leases'
  | 'audit_anchors'
  | 'audit_entries'
  | 'chat_pace';

/** The few ways the two SQL dialects differ here. */
export type Dialect = {
  /** A table name as the driver addresses it (`"public".linked_accounts` on PostgreSQL). */
  table: (name: TableName) => string;
  /** The n-th (1-based) statement parameter. */
  param: (n: number) => string;
};

/** SQLite: tables by name, numbered `?N` parameters. */
export const SQLITE_DIALECT: Dialect = { table: (name) => name, param: (n) => `?${n}` };

/** PostgreSQL, tables in the already quoted schema `s`. */
export function postgresDialect(s: string): Dialect {
  return { table: (name) => `${s}.${name}`, param: (n) => `$${n}` };
}

type AccountMethods = Pick<
  Store,
  | 'saveLinkedAccount'
  | 'getLinkedAccount'
  | 'deleteLinkedAccount'
  | 'claimReviewVote'
  | 'releaseReviewVote'
  | 'listReviewVotes'
  | 'forgetReviewVotes'
>;

const ACCOUNT_COLUMNS = `telegram_user_id, github_login, github_user_id, token_sealed, token_expires_at,
  refresh_sealed, refresh_expires_at, linked_at, updated_at`;

function accountParams(a: LinkedAccount): BindValue[] {
  return [
    checkInt('telegramUserId', a.telegramUserId),
    storableText(a.githubLogin),
    checkInt('githubUserId', a.githubUserId),
    a.tokenSealed,
    checkIntOrNull('tokenExpiresAt', a.tokenExpiresAt),
    a.refreshSealed,
    checkIntOrNull('refreshExpiresAt', a.refreshExpiresAt),
    checkInt('linkedAt', a.linkedAt),
    checkInt('updatedAt', a.updatedAt),
  ];
}

/**
 * A linked_accounts row as a LinkedAccount.
 * @throws {StoreError} code `corrupt`.
 */
function accountFromRow(row: Row): LinkedAccount {
  const t = 'linked_accounts';
  return {
    telegramUserId: int(t, row, 'telegram_user_id'),
    githubLogin: text(t, row, 'github_login'),
    githubUserId: int(t, row, 'github_user_id'),
    tokenSealed: text(t, row, 'token_sealed'),
    tokenExpiresAt: intOrNull(t, row, 'token_expires_at'),
    refreshSealed: textOrNull(t, row, 'refresh_sealed'),
    refreshExpiresAt: intOrNull(t, row, 'refresh_expires_at'),
    linkedAt: int(t, row, 'linked_at'),
    updatedAt: int(t, row, 'updated_at'),
  };
}

/**
 * A review_votes row as a ReviewVote.
 * @throws {StoreError} code `corrupt`.
 */
function voteFromRow(row: Row): ReviewVote {
  const t = 'review_votes';
  const decision = row.decision;
  if (decision !== 'approved' && decision !== 'rejected') {
    throw new StoreError('corrupt', `${t} row: unknown decision`);
  }
  return {
    runId: int(t, row, 'run_id'),
    telegramUserId: int(t, row, 'telegram_user_id'),
    githubLogin: text(t, row, 'github_login'),
    decision,
    createdAt: int(t, row, 'created_at'),
  };
}

/** The Store methods for linked accounts and review votes, over one driver's statement runner. */
export function accountStore(run: StatementRunner, dialect: Dialect): AccountMethods {
  const accounts = dialect.table('linked_accounts');
  const votes = dialect.table('review_votes');
  const p = dialect.param;
  const placeholders = (n: number) => Array.from({ length: n }, (_, i) => p(i + 1)).join(', ');
  return {
    async saveLinkedAccount(account) {
      await run(
        'save linked account',
        `INSERT INTO ${accounts} (${ACCOUNT_COLUMNS}) VALUES (${placeholders(9)})
         ON CONFLICT (telegram_user_id) DO UPDATE SET github_login = excluded.github_login,
           github_user_id = excluded.github_user_id, token_sealed = excluded.token_sealed,
           token_expires_at = excluded.token_expires_at, refresh_sealed = excluded.refresh_sealed,
           refresh_expires_at = excluded.refresh_expires_at, linked_at = excluded.linked_at,
           updated_at = excluded.updated_at`,
        accountParams(account),
      );
    },
    async getLinkedAccount(telegramUserId) {
      const rows = await run(
        'get linked account',
        `SELECT * FROM ${accounts} WHERE telegram_user_id = ${p(1)}`,
        [checkInt('telegramUserId', telegramUserId)],
      );
      return rows[0] ? accountFromRow(rows[0]) : null;
    },
    async deleteLinkedAccount(telegramUserId) {
      const rows = await run(
        'delete linked account',
        `DELETE FROM ${accounts} WHERE telegram_user_id = ${p(1)} RETURNING *`,
        [checkInt('telegramUserId', telegramUserId)],
      );
      return rows[0] ? accountFromRow(rows[0]) : null;
    },
    async claimReviewVote(vote): Promise<ClaimVoteResult> {
      const params = [
        checkInt('runId', vote.runId),
        checkInt('telegramUserId', vote.telegramUserId),
        storableText(vote.githubLogin),
        vote.decision,
        checkInt('createdAt', vote.createdAt),
      ];
      // Either unique constraint (the Telegram user, or the GitHub login) stops a second vote. When
      // the vote in the way is taken back between the two statements, try again.
      for (let attempt = 0; attempt < 3; attempt++) {
        const claimed = await run(
          'claim review vote',
          `INSERT INTO ${votes} (run_id, telegram_user_id, github_login, decision, created_at)
           VALUES (${placeholders(5)}) ON CONFLICT DO NOTHING RETURNING run_id`,
          params,
        );
        if (claimed.length > 0) return { ok: true };
        const held = await run(
          'read review vote',
          `SELECT * FROM ${votes} WHERE run_id = ${p(1)}
             AND (telegram_user_id = ${p(2)} OR lower(github_login) = lower(${p(3)}))
           ORDER BY created_at LIMIT 1`,
          params.slice(0, 3),
        );
        if (held[0]) return { ok: false, existing: voteFromRow(held[0]) };
      }
      throw new StoreError('unavailable', `review vote on run ${vote.runId} keeps changing; gave up`);
    },
    async releaseReviewVote(runId, telegramUserId) {
      await run(
        'release review vote',
        `DELETE FROM ${votes} WHERE run_id = ${p(1)} AND telegram_user_id = ${p(2)} RETURNING run_id`,
        [checkInt('runId', runId), checkInt('telegramUserId', telegramUserId)],
      );
    },
    async listReviewVotes(runId) {
      const rows = await run(
        'list review votes',
        `SELECT * FROM ${votes} WHERE run_id = ${p(1)} ORDER BY created_at, telegram_user_id`,
        [checkInt('runId', runId)],
      );
      return rows.map(voteFromRow);
    },
    async forgetReviewVotes(before) {
      const rows = await run(
        'forget review votes',
        `DELETE FROM ${votes} WHERE created_at < ${p(1)} RETURNING run_id`,
        [checkInt('before', before)],
      );
      return rows.length;
    },
  };
}
