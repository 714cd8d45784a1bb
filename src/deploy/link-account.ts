import { setTimeout as sleep } from 'node:timers/promises';
import { hasAnyRole } from '../core/service.ts';
import {
  type DeviceCode,
  type DevicePoll,
  pollDeviceCode,
  requestDeviceCode,
  type UserTokens,
} from '../github/device-flow.ts';
import { GitHubError } from '../github/github-error.ts';
import { createUserClient, fetchViewer } from '../github/user-reviews.ts';
import { type Actor, auditAs, type DeployDeps } from './deploy-deps.ts';
import { type AccountsContext, accountsContext, sealAccount } from './linked-accounts.ts';

/** Stable codes for a `/link` that does not start. */
export type LinkRefusal = 'not_configured' | 'not_private' | 'forbidden' | 'github_unavailable';

/** How a device flow ended. */
export type LinkFinish =
  | { kind: 'linked'; login: string; previous: string | null }
  | { kind: 'expired' }
  | { kind: 'denied' }
  | { kind: 'failed'; message: string }
  /** The bot is shutting down, or the user started another `/link` or sent `/unlink`. */
  | { kind: 'stopped' };

/** What `/link` answers at once. */
export type LinkOutcome =
  | { kind: 'refused'; reason: LinkRefusal; message: string }
  /**
   * The code to show, and `finished`, which settles when the user entered it at GitHub (or the code
   * expired, or they declined). The caller shows the code first and the end later.
   */
  | {
      kind: 'started';
      userCode: string;
      verificationUri: string;
      expiresAt: number;
      finished: Promise<LinkFinish>;
    };

/** Who sent `/link`, from which chat, and whether that chat is their private chat with the bot. */
export type LinkRequest = { actor: Actor; chatId: number; privateChat: boolean };

/** Device flows waiting for their user, per Telegram user (this instance): a new /link replaces one. */
const waiting = new Map<number, AbortController>();

/** Stops a device flow the user started earlier (`/unlink`, or a second `/link`). */
export function stopLinking(telegramUserId: number): void {
  waiting.get(telegramUserId)?.abort();
  waiting.delete(telegramUserId);
}

/**
 * `/link`: starts GitHub's device flow for this Telegram user. Only in a private chat (the code is
 * theirs alone) and only for a user with a role. The user enters the code at GitHub; the bot polls
 * at GitHub's interval, then asks GitHub who the token belongs to, writes the audit line, and stores
 * the tokens sealed. A new link replaces the user's earlier one.
 */
export async function startLink(deps: DeployDeps, request: LinkRequest): Promise<LinkOutcome> {
  const ctx = accountsContext(deps);
  const refused = (reason: LinkRefusal, message: string): LinkOutcome => ({
    kind: 'refused',
    reason,
    message,
  });
  if (!ctx) {
    return refused(
      'not_configured',
      'Linking GitHub accounts is not set up on this bot (an admin sets GITHUB_OAUTH_CLIENT_ID and DEPLOYBOT_ENCRYPTION_KEY).',
    );
  }
  if (!request.privateChat) {
    return refused('not_private', 'Send /link to me in a private chat: the code it shows is for you alone.');
  }
  // A role in any service will do: reviewers approve runs of the services they hold a role in.
  if (!hasAnyRole(request.actor.id, deps.services.config.services, deps.services.config.access)) {
    await auditAs(deps, request.actor, { action: 'github_link', outcome: 'refused:forbidden' });
    return refused('forbidden', `Not authorised. Your Telegram id is ${request.actor.id}.`);
  }
  let code: DeviceCode;
  try {
    code = await requestDeviceCode(ctx.flow);
  } catch (error) {
    return refused('github_unavailable', error instanceof Error ? error.message : String(error));
  }
  stopLinking(request.actor.id);
  const controller = new AbortController();
  waiting.set(request.actor.id, controller);
  const signal = AbortSignal.any([controller.signal, ctx.deps.accounts?.signal ?? controller.signal]);
  const finished = waitForUser(ctx, request.actor, code, signal).finally(() => {
    if (waiting.get(request.actor.id) === controller) waiting.delete(request.actor.id);
  });
  return {
    kind: 'started',
    userCode: code.userCode,
    verificationUri: code.verificationUri,
    expiresAt: deps.now() + code.expiresInSeconds * 1000,
    finished,
  };
}

/** Polls until the user entered the code (then links), declined, or the code expired. */
async function waitForUser(
  ctx: AccountsContext,
  actor: Actor,
  code: DeviceCode,
  signal: AbortSignal,
): Promise<LinkFinish> {
  const poll = await pollUntilAnswered(ctx, code, signal);
  if (poll.kind === 'stopped') return poll;
  if (poll.kind === 'authorized') return finishLink(ctx, actor, poll.tokens);
  await auditAs(ctx.deps, actor, { action: 'github_link', outcome: `refused:${poll.kind}` });
  if (poll.kind === 'failed') return { kind: 'failed', message: poll.message };
  return { kind: poll.kind === 'denied' ? 'denied' : 'expired' };
}

/** GitHub's interval between polls, longer after each `slow_down`; the code's lifetime in real time. */
async function pollUntilAnswered(
  ctx: AccountsContext,
  code: DeviceCode,
  signal: AbortSignal,
): Promise<Exclude<DevicePoll, { kind: 'pending' | 'slow_down' }> | { kind: 'stopped' }> {
  let intervalSeconds = Math.max(0, code.intervalSeconds);
  const deadline = Date.now() + code.expiresInSeconds * 1000;
  while (Date.now() < deadline) {
    try {
      await sleep(intervalSeconds * 1000, undefined, { signal });
    } catch {
      return { kind: 'stopped' };
    }
    const poll = await pollDeviceCode(ctx.flow, code.deviceCode);
    if (signal.aborted) return { kind: 'stopped' };
    if (poll.kind === 'pending') continue;
    if (poll.kind === 'slow_down') {
      // RFC 8628: add 5 seconds; GitHub also says the interval it wants.
      intervalSeconds = Math.max(intervalSeconds + 5, poll.intervalSeconds);
      continue;
    }
    return poll;
  }
  return { kind: 'expired' };
}

/** The user authorised: who is it on GitHub; audit, then store (replacing an earlier link). */
async function finishLink(ctx: AccountsContext, actor: Actor, tokens: UserTokens): Promise<LinkFinish> {
  const deps = ctx.deps;
  const now = deps.now();
  let viewer: { login: string; id: number };
  try {
    // A token GitHub handed over a moment ago: asked as it is, never refreshed here.
    viewer = await fetchViewer(createUserClient(ctx.apiUrl, tokens.token));
  } catch (error) {
    const message = error instanceof GitHubError ? error.message : 'GitHub did not answer';
    return { kind: 'failed', message: `GitHub did not say who you are (${message}). Send /link again.` };
  }
  const previous = await deps.store.getLinkedAccount(actor.id);
  await auditAs(deps, actor, { action: 'github_link', outcome: `linked:${viewer.login}` });
  await deps.store.saveLinkedAccount(sealAccount(ctx, actor.id, viewer, tokens, now));
  return { kind: 'linked', login: viewer.login, previous: previous?.githubLogin ?? null };
}
