import { RequestError } from '@octokit/request-error';
import { rateLimitOf } from './rate-limit.ts';

/** Stable reason codes for what went wrong talking to GitHub. */
export type GitHubFailure =
  | 'bad_credentials'
  | 'forbidden'
  | 'not_found'
  | 'invalid'
  | 'rate_limited'
  /** The request never reached GitHub (connection refused, no such host): GitHub did nothing. */
  | 'unreachable'
  /** The request was sent but no answer came (timeout, connection reset): GitHub may have acted. */
  | 'no_answer'
  | 'server_error';

/**
 * The GitHub layer's one error class: a reason code, the HTTP status when there was one, GitHub's
 * own message (never a token: Octokit keeps credentials out of it, and we never add them) and a
 * sentence a user in the chat can act on. `retryAt` (ms) is when a rate limit lifts.
 */
export class GitHubError extends Error {
  readonly reason: GitHubFailure;
  readonly status: number | null;
  readonly userMessage: string;
  readonly retryAt: number | null;
  constructor(
    reason: GitHubFailure,
    status: number | null,
    message: string,
    userMessage: string,
    retryAt: number | null = null,
  ) {
    super(message);
    this.name = 'GitHubError';
    this.reason = reason;
    this.status = status;
    this.userMessage = userMessage;
    this.retryAt = retryAt;
  }
}

/**
 * Whether GitHub may have carried out a request that failed this way: a 5xx or a request sent but
 * never answered. A non-idempotent request (a dispatch, a cancel) must then be checked on GitHub
 * before it is sent again; every other failure says GitHub did nothing.
 */
export function mayHaveActed(error: GitHubError): boolean {
  return error.reason === 'server_error' || error.reason === 'no_answer';
}

/** Network error codes that mean the request never left: nothing reached GitHub. */
const NOT_SENT = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);

/**
 * Turns whatever Octokit threw into a `GitHubError` with a message a user can act on.
 * `what` names the thing asked for ("workflow deploy.yml", "ref main") for the 404 text; `now` (ms)
 * dates a rate limit's "in 12 min".
 */
export function toGitHubError(error: unknown, what: string, now: number = Date.now()): GitHubError {
  if (error instanceof GitHubError) return error;
  if (error instanceof RequestError && error.response) return fromResponse(error, what, now);
  const message = error instanceof Error ? error.message : String(error);
  if (NOT_SENT.has(networkCode(error) ?? '')) {
    return new GitHubError(
      'unreachable',
      null,
      message,
      'GitHub cannot be reached right now. Try again shortly.',
    );
  }
  return new GitHubError('no_answer', null, message, 'GitHub did not answer in time. Try again shortly.');
}

function fromResponse(error: RequestError, what: string, now: number): GitHubError {
  const status = error.status;
  const ghMessage = messageOf(error);
  const limit = rateLimitOf(status, error.response?.headers ?? {}, ghMessage, now);
  if (limit) return new GitHubError('rate_limited', status, ghMessage, limit.userMessage, limit.retryAt);
  const fail = (reason: GitHubFailure, userMessage: string) =>
    new GitHubError(reason, status, ghMessage, userMessage);
  if (status === 401) {
    return fail(
      'bad_credentials',
      'GitHub refused the bot’s credentials. An admin should check GITHUB_TOKEN or the GitHub App settings.',
    );
  }
  if (status === 403) {
    return fail(
      'forbidden',
      `GitHub says the bot may not access ${what} (${ghMessage}). The token needs Actions read/write, Deployments read and Contents read on the repository.`,
    );
  }
  if (status === 404) return fail('not_found', `GitHub does not know ${what}, or the bot cannot see it.`);
  if (status === 422) return fail('invalid', `GitHub refused the request for ${what}: ${ghMessage}`);
  if (status >= 500)
    return fail('server_error', `GitHub answered with an error (${status}). Try again shortly.`);
  return fail('invalid', `GitHub refused the request for ${what} (${status}): ${ghMessage}`);
}

/** The system error code somewhere in a fetch failure's `cause` chain (`ECONNRESET`, …). */
function networkCode(error: unknown): string | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 5 && typeof current === 'object' && current !== null; depth++) {
    if ('code' in current && typeof current.code === 'string') return current.code;
    current = 'cause' in current ? current.cause : undefined;
  }
  return undefined;
}

function messageOf(error: RequestError): string {
  const data = error.response?.data;
  if (data && typeof data === 'object' && 'message' in data && typeof data.message === 'string') {
    return data.message.replace(/\s+/g, ' ').trim();
  }
  if (typeof data === 'string' && /<title>/i.test(data)) {
    // GitHub's unicorn page: its title says enough.
    return (/<title>([^<]*)<\/title>/i.exec(data)?.[1] ?? '').replace(/\s+/g, ' ').trim() || error.message;
  }
  return error.message;
}
