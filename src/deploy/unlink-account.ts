import { revokeTokens } from '../github/user-reviews.ts';
import { type Actor, auditAs, type DeployDeps } from './deploy-deps.ts';
import { stopLinking } from './link-account.ts';
import { openTokens } from './linked-accounts.ts';

/** What `/unlink` did. */
export type UnlinkOutcome =
  | { kind: 'not_linked' }
  /** `revoked`: GitHub took the tokens back; false: the bot only forgot them (see `revokeTokens`). */
  | { kind: 'unlinked'; login: string; revoked: boolean };

/**
 * `/unlink`, for anyone who has a link (also after their role was taken away): stops a device flow
 * still waiting, writes the audit line, forgets the account, then asks GitHub to revoke its tokens
 * where it can. Works even when linking is no longer configured: the row is forgotten, nothing revoked.
 */
export async function unlinkAccount(deps: DeployDeps, actor: Actor): Promise<UnlinkOutcome> {
  stopLinking(actor.id);
  const account = await deps.store.getLinkedAccount(actor.id);
  if (!account) return { kind: 'not_linked' };
  await auditAs(deps, actor, { action: 'github_unlink', outcome: `unlinked:${account.githubLogin}` });
  const removed = await deps.store.deleteLinkedAccount(actor.id);
  if (!removed) return { kind: 'not_linked' };
  const tokens = deps.accounts ? openTokens(deps.accounts.key, removed) : [];
  const revoked = tokens.length > 0 && (await revokeTokens(deps.config.github.apiUrl, tokens));
  return { kind: 'unlinked', login: removed.githubLogin, revoked };
}
