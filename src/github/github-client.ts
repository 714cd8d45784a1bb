import { throttling } from '@octokit/plugin-throttling';
import { Octokit } from '@octokit/rest';
import type { Config } from '../config.ts';
import type { Repository as RepoRef } from '../core/service.ts';
import { appAuth, repositoryInstallationAuth } from './installation-auth.ts';
import { retryRequests } from './retry-requests.ts';
import { throttleQueues } from './throttle-queues.ts';

// retryRequests in plugin-retry's place (retry-requests.ts), throttling on our own queues (throttle-queues.ts).
const BotOctokit = Octokit.plugin(retryRequests, throttling);

/** The Octokit the bot uses: auth, GitHub Enterprise base URL, retries and rate limits handled by plugins. */
export type GitHubClient = InstanceType<typeof BotOctokit>;

/** A rate limit that lifts within this many seconds is waited out; a longer one is reported. */
export const RATE_LIMIT_WAIT_SECONDS = 30;
/** At most this much waiting for rate limits in all, per request (a limit can be hit again after a wait). */
const RATE_LIMIT_BUDGET_SECONDS = 45;

export type GitHubClientOptions = {
  /** Per-request time limit; a hung GitHub must not hang a chat command. */
  timeoutMs?: number;
  /** Retries of 5xx and network errors (retry-requests.ts), for idempotent requests only. */
  retries?: number;
  /** Wait out rate limits that lift within this many seconds (default {@link RATE_LIMIT_WAIT_SECONDS}). */
  rateLimitWaitSeconds?: number;
  onWarning?: (message: string) => void;
  /**
   * Octokit's request log ("GET /repos/… - 404 with id …"). Expected refusals (an unknown ref, a run
   * already completed) land here too, so it goes to debug, not to stderr.
   */
  onRequestLog?: (message: string) => void;
  /**
   * With a GitHub App: act as its installation on this repository's owner, found by asking GitHub,
   * instead of GITHUB_APP_INSTALLATION_ID (another owner's services). Ignored with a token.
   */
  installationOf?: RepoRef;
};

/**
 * Whether a request may be sent again after a 5xx or a network error. Not a POST: a
 * dispatch or a cancel that GitHub answered 502 may have been carried out, and sending it again blind
 * runs the workflow twice. Creating an installation token is the one POST that is safe to repeat.
 * (Rate limits are another matter: GitHub refuses a rate-limited request without acting on it, so the
 * throttling plugin may wait and send any request again.)
 */
export function mayRetryBlindly(method: string, url: string): boolean {
  if (method.toUpperCase() !== 'POST') return true;
  return /\/app\/installations\/[^/]+\/access_tokens$/.test(url);
}

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
    // The plugin's rate-limit handling on queues that do not cost 10+ ms a request (throttle-queues.ts).
    throttle: {
      ...rateLimitPolicy(options.rateLimitWaitSeconds ?? RATE_LIMIT_WAIT_SECONDS, warn),
      ...throttleQueues(),
    },
    retry: { retries: options.retries ?? 2, doNotRetry: [400, 401, 403, 404, 409, 410, 422, 429, 451] },
  };
  const { auth } = github;
  const client =
    auth.kind === 'token'
      ? new BotOctokit({ ...common, auth: auth.token })
      : options.installationOf
        ? new BotOctokit({
            ...common,
            authStrategy: repositoryInstallationAuth,
            auth: { appId: auth.appId, privateKey: auth.privateKey, repository: options.installationOf },
          })
        : new BotOctokit({
            ...common,
            authStrategy: appAuth,
            auth: { appId: auth.appId, privateKey: auth.privateKey, installationId: auth.installationId },
          });
  // Registered after the plugins, so it runs before them: retryRequests reads `request.retries`.
  client.hook.before('request', (request) => {
    if (!mayRetryBlindly(request.method, request.url)) request.request = { ...request.request, retries: 0 };
  });
  return client;
}

/**
 * The throttling plugin's handlers: a primary or secondary rate limit that lifts within
 * `waitSeconds` is waited out (again if GitHub reports it again, within a budget per request); a
 * longer one fails the request, and `toGitHubError` tells the user when it lifts. A secondary limit
 * without `retry-after` reaches here as 60 s (the plugin's fallback, GitHub's "at least a minute").
 */
function rateLimitPolicy(waitSeconds: number, warn: (message: string) => void) {
  const waited = new WeakMap<object, number>();
  const decide =
    (kind: string) => (retryAfter: number, request: object, _octokit: unknown, retryCount: number) => {
      const total = (waited.get(request) ?? 0) + retryAfter;
      const wait = retryAfter <= waitSeconds && total <= RATE_LIMIT_BUDGET_SECONDS && retryCount < 3;
      if (wait) waited.set(request, total);
      warn(
        `GitHub ${kind} rate limit reached: ${wait ? `waiting ${retryAfter}s` : `lifts in ${retryAfter}s, not waiting`}`,
      );
      return wait;
    };
  return { onRateLimit: decide('primary'), onSecondaryRateLimit: decide('secondary') };
}
