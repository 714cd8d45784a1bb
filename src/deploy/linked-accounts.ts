import { seal, unseal } from '../core/sealed-secret.ts';
import { type DeviceFlowSettings, refreshUserToken, type UserTokens } from '../github/device-flow.ts';
import { GitHubError } from '../github/github-error.ts';
import { createUserClient, type UserClient } from '../github/user-reviews.ts';
import type { LinkedAccount, Store } from '../store/store.ts';
import type { DeployDeps } from './deploy-deps.ts';

/**
 * The tokens of linked GitHub accounts: sealed before they are stored (AES-256-GCM, bound to the
 * Telegram user and to the slot, token or refresh token), opened only to make one call, refreshed
 * shortly before they expire, and once more when GitHub answers 401 to a token the bot thought valid.
 * A token never leaves this module except inside the client that makes the call.
 */

/** A token is refreshed when it expires within this long (ms). */
export const REFRESH_MARGIN_MS = 5 * 60_000;

/** Everything the token handling needs, when linking is configured. */
export type AccountsContext = {
  deps: DeployDeps;
  key: Buffer;
  flow: DeviceFlowSettings;
  apiUrl: string;
};

/** Why no usable token: stable codes, and a sentence for the user. */
export type TokenFailure = {
  ok: false;
  reason: 'link_expired' | 'token_rejected' | 'github_unavailable';
  message: string;
};

/** The sentence that tells a user how to link (again). */
export const RELINK_TEXT = 'Send /link to me in a private chat to link your GitHub account again.';
const EXPIRED_TEXT = `Your GitHub link has expired. ${RELINK_TEXT}`;
const REJECTED_TEXT = `GitHub no longer accepts your linked account (the token was revoked or has expired). ${RELINK_TEXT}`;

const tokenContext = (telegramUserId: number) => `github-token:${telegramUserId}`;
const refreshContext = (telegramUserId: number) => `github-refresh:${telegramUserId}`;

/** The accounts context, or null when GITHUB_OAUTH_CLIENT_ID is not set. */
export function accountsContext(deps: DeployDeps): AccountsContext | null {
  const settings = deps.config.accounts;
  if (!settings || !deps.accounts) return null;
  return {
    deps,
    key: deps.accounts.key,
    flow: { webUrl: settings.webUrl, clientId: settings.clientId },
    apiUrl: deps.config.github.apiUrl,
  };
}

/** A linked account with these tokens sealed for this Telegram user. */
export function sealAccount(
  ctx: AccountsContext,
  telegramUserId: number,
  viewer: { login: string; id: number },
  tokens: UserTokens,
  linkedAt: number,
): LinkedAccount {
  return {
    telegramUserId,
    githubLogin: viewer.login,
    githubUserId: viewer.id,
    tokenSealed: seal(ctx.key, tokens.token, tokenContext(telegramUserId)),
    tokenExpiresAt: tokens.expiresAt,
    refreshSealed: tokens.refreshToken
      ? seal(ctx.key, tokens.refreshToken, refreshContext(telegramUserId))
      : null,
    refreshExpiresAt: tokens.refreshExpiresAt,
    linkedAt,
    updatedAt: ctx.deps.now(),
  };
}

/** The account's tokens in the clear, for revocation at `/unlink`; unreadable ones are left out. */
export function openTokens(key: Buffer, account: LinkedAccount): string[] {
  const id = account.telegramUserId;
  const token = unseal(key, account.tokenSealed, tokenContext(id));
  const refresh = account.refreshSealed ? unseal(key, account.refreshSealed, refreshContext(id)) : null;
  return [token, refresh].filter((t): t is string => t !== null);
}

/** Refreshes in flight, per store and Telegram user: two presses at once spend the refresh token once. */
const refreshing = new WeakMap<Store, Map<number, Promise<LinkedAccount | TokenFailure>>>();

/** The account with fresh tokens (saved), or why there are none. */
function refreshAccount(ctx: AccountsContext, account: LinkedAccount): Promise<LinkedAccount | TokenFailure> {
  const store = ctx.deps.store;
  const inFlight = refreshing.get(store) ?? new Map<number, Promise<LinkedAccount | TokenFailure>>();
  refreshing.set(store, inFlight);
  const running = inFlight.get(account.telegramUserId);
  if (running) return running;
  const started = doRefresh(ctx, account).finally(() => inFlight.delete(account.telegramUserId));
  inFlight.set(account.telegramUserId, started);
  return started;
}

async function doRefresh(
  ctx: AccountsContext,
  account: LinkedAccount,
): Promise<LinkedAccount | TokenFailure> {
  const now = ctx.deps.now();
  const expired = (): TokenFailure => ({ ok: false, reason: 'link_expired', message: EXPIRED_TEXT });
  if (!account.refreshSealed || (account.refreshExpiresAt !== null && account.refreshExpiresAt <= now)) {
    return expired();
  }
  const refresh = unseal(ctx.key, account.refreshSealed, refreshContext(account.telegramUserId));
  if (refresh === null) return expired();
  const result = await refreshUserToken(ctx.flow, refresh);
  if (!result.ok) {
    // Another instance may have spent the refresh token first: its new tokens are in the store.
    const stored = await ctx.deps.store.getLinkedAccount(account.telegramUserId);
    if (stored && stored.tokenSealed !== account.tokenSealed && stored.githubLogin === account.githubLogin) {
      return stored;
    }
    return result.reason === 'rejected'
      ? { ok: false, reason: 'token_rejected', message: REJECTED_TEXT }
      : {
          ok: false,
          reason: 'github_unavailable',
          message: `GitHub did not answer (${result.message}). Try again shortly.`,
        };
  }
  const next = sealAccount(
    ctx,
    account.telegramUserId,
    { login: account.githubLogin, id: account.githubUserId },
    result.tokens,
    account.linkedAt,
  );
  await ctx.deps.store.saveLinkedAccount(next);
  return next;
}

function isFailure(value: LinkedAccount | TokenFailure): value is TokenFailure {
  return 'ok' in value;
}

/**
 * Runs `call` as the linked user. The token is refreshed first when it expires within
 * {@link REFRESH_MARGIN_MS}, and once more (then `call` repeated) when GitHub answers 401. Other
 * GitHub errors from `call` are thrown as they are (`GitHubError`), for the caller to word.
 * @throws {GitHubError} from `call`, except a 401 (a {@link TokenFailure} then).
 */
export async function asLinkedUser<T>(
  ctx: AccountsContext,
  account: LinkedAccount,
  call: (client: UserClient) => Promise<T>,
): Promise<{ ok: true; value: T; account: LinkedAccount } | TokenFailure> {
  let current = account;
  let refreshed = false;
  const expiresSoon =
    current.tokenExpiresAt !== null && current.tokenExpiresAt - ctx.deps.now() < REFRESH_MARGIN_MS;
  if (expiresSoon) {
    const next = await refreshAccount(ctx, current);
    if (isFailure(next)) return next;
    current = next;
    refreshed = true;
  }
  for (;;) {
    const token = unseal(ctx.key, current.tokenSealed, tokenContext(current.telegramUserId));
    if (token === null) return { ok: false, reason: 'link_expired', message: EXPIRED_TEXT };
    try {
      return { ok: true, value: await call(createUserClient(ctx.apiUrl, token)), account: current };
    } catch (error) {
      if (!(error instanceof GitHubError) || error.reason !== 'bad_credentials') throw error;
      if (refreshed || !current.refreshSealed)
        return { ok: false, reason: 'token_rejected', message: REJECTED_TEXT };
      const next = await refreshAccount(ctx, current);
      if (isFailure(next)) return next;
      current = next;
      refreshed = true;
    }
  }
}
