import { createAppAuth } from '@octokit/auth-app';
import { retry } from '@octokit/plugin-retry';
import { throttling } from '@octokit/plugin-throttling';
import { Octokit } from '@octokit/rest';
import type { Config } from '../config.ts';

const BotOctokit = Octokit.plugin(retry, throttling);

/** The Octokit the bot uses: auth, GitHub Enterprise base URL, retries and rate limits handled by plugins. */
export type GitHubClient = InstanceType<typeof BotOctokit>;

export type GitHubClientOptions = {
  /** Per-request time limit; a hung GitHub must not hang a chat command. */
  timeoutMs?: number;
  /** Retries of 5xx and network errors (plugin-retry). */
  retries?: number;
  onWarning?: (message: string) => void;
  /**
   * Octokit's request log ("GET /repos/… - 404 with id …"). Expected refusals (an unknown ref, a run
   * already completed) land here too, so it goes to debug, not to stderr.
   */
  onRequestLog?: (message: string) => void;
};

/**
 * Creates the GitHub client for a fine-grained token or a GitHub App installation.
 * Never throws for bad credentials: GitHub answers 401 on the first call, turned into a
 * `GitHubError('bad_credentials')` by the caller.
 */
export function createGitHubClient(
  github: Config['github'],
  options: GitHubClientOptions = {},
): GitHubClient {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const warn = options.onWarning ?? (() => {});
  const requestLog = options.onRequestLog ?? (() => {});
  const common = {
    baseUrl: github.apiUrl,
    log: { debug: requestLog, info: requestLog, warn: warn, error: requestLog },
    userAgent: 'telegram-deploy-bot',
    request: {
      fetch: (url: string | URL | Request, init?: RequestInit) =>
        fetch(url, { ...init, signal: init?.signal ?? AbortSignal.timeout(timeoutMs) }),
    },
    throttle: {
      // Wait out a primary or secondary rate limit once; a user waiting in the chat gets an answer after that.
      onRateLimit: (retryAfter: number, _options: unknown, _octokit: unknown, retryCount: number) => {
        warn(`GitHub rate limit reached, retrying after ${retryAfter}s`);
        return retryCount < 1 && retryAfter <= 60;
      },
      onSecondaryRateLimit: (
        retryAfter: number,
        _options: unknown,
        _octokit: unknown,
        retryCount: number,
      ) => {
        warn(`GitHub secondary rate limit reached, retrying after ${retryAfter}s`);
        return retryCount < 1 && retryAfter <= 60;
      },
    },
    retry: { retries: options.retries ?? 2, doNotRetry: [400, 401, 403, 404, 409, 410, 422, 429, 451] },
  };
  if (github.auth.kind === 'token') {
    return new BotOctokit({ ...common, auth: github.auth.token });
  }
  return new BotOctokit({
    ...common,
    authStrategy: createAppAuth,
    auth: {
      appId: github.auth.appId,
      privateKey: github.auth.privateKey,
      installationId: github.auth.installationId,
    },
  });
}
