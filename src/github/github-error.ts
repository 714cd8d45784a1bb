import { RequestError } from '@octokit/request-error';

/** Stable reason codes for what went wrong talking to GitHub. */
export type GitHubFailure =
  | 'bad_credentials'
  | 'forbidden'
  | 'not_found'
  | 'invalid'
  | 'rate_limited'
  | 'unreachable'
  | 'server_error';

/**
 * The GitHub layer's one error class: a reason code, the HTTP status when there was one, GitHub's
 * own message (never a token: Octokit keeps credentials out of it, and we never add them) and a
 * sentence a user in the chat can act on.
 */
export class GitHubError extends Error {
  readonly reason: GitHubFailure;
  readonly status: number | null;
  readonly userMessage: string;
  constructor(reason: GitHubFailure, status: number | null, message: string, userMessage: string) {
    super(message);
    this.name = 'GitHubError';
    this.reason = reason;
    this.status = status;
    this.userMessage = userMessage;
  }
}

/**
 * Turns whatever Octokit threw into a `GitHubError` with a message a user can act on.
 * `what` names the thing asked for ("workflow deploy.yml", "ref main") for the 404 text.
 */
export function toGitHubError(error: unknown, what: string): GitHubError {
  if (error instanceof GitHubError) return error;
  if (error instanceof RequestError) {
    const status = error.status;
    const ghMessage = messageOf(error);
    if (status === 401) {
      return new GitHubError(
        'bad_credentials',
        status,
        ghMessage,
        'GitHub refused the bot’s credentials. An admin should check GITHUB_TOKEN or the GitHub App settings.',
      );
    }
    if (status === 403 && /rate limit/i.test(ghMessage)) {
      return new GitHubError(
        'rate_limited',
        status,
        ghMessage,
        'GitHub’s rate limit is reached. Try again in a few minutes.',
      );
    }
    if (status === 403) {
      return new GitHubError(
        'forbidden',
        status,
        ghMessage,
        `GitHub says the bot may not access ${what} (${ghMessage}). The token needs Actions read/write, Deployments read and Contents read on the repository.`,
      );
    }
    if (status === 404) {
      return new GitHubError(
        'not_found',
        status,
        ghMessage,
        `GitHub does not know ${what}, or the bot cannot see it.`,
      );
    }
    if (status === 422) {
      return new GitHubError(
        'invalid',
        status,
        ghMessage,
        `GitHub refused the request for ${what}: ${ghMessage}`,
      );
    }
    if (status === 429) {
      return new GitHubError(
        'rate_limited',
        status,
        ghMessage,
        'GitHub’s rate limit is reached. Try again in a few minutes.',
      );
    }
    if (status >= 500) {
      return new GitHubError(
        'server_error',
        status,
        ghMessage,
        `GitHub answered with an error (${status}). Try again shortly.`,
      );
    }
    return new GitHubError(
      'invalid',
      status,
      ghMessage,
      `GitHub refused the request for ${what} (${status}): ${ghMessage}`,
    );
  }
  const message = error instanceof Error ? error.message : String(error);
  return new GitHubError(
    'unreachable',
    null,
    message,
    'GitHub cannot be reached right now. Try again shortly.',
  );
}

function messageOf(error: RequestError): string {
  const data = error.response?.data;
  if (data && typeof data === 'object' && 'message' in data && typeof data.message === 'string') {
    return data.message.replace(/\s+/g, ' ').trim();
  }
  return error.message;
}
