import { type FaultEffect, FaultPlan, type FaultSpec, type InjectedFault } from './fault-plan.ts';
import { findOperation } from './github-openapi.ts';

/**
 * The fake GitHub's faults (`github.faults`): {@link FaultPlan} keyed by route, with helpers that
 * answer exactly as api.github.com does when it fails. See the top of fault-plan.ts.
 */

/** The routes the bot uses, as `faults.inject({ route })` takes them. */
export const GITHUB_ROUTE = {
  dispatch: 'POST /repos/{owner}/{repo}/actions/workflows/{workflow_id}/dispatches',
  listWorkflowRuns: 'GET /repos/{owner}/{repo}/actions/workflows/{workflow_id}/runs',
  listRepoRuns: 'GET /repos/{owner}/{repo}/actions/runs',
  getRun: 'GET /repos/{owner}/{repo}/actions/runs/{run_id}',
  cancelRun: 'POST /repos/{owner}/{repo}/actions/runs/{run_id}/cancel',
  listJobs: 'GET /repos/{owner}/{repo}/actions/runs/{run_id}/jobs',
  getJob: 'GET /repos/{owner}/{repo}/actions/jobs/{job_id}',
  jobLogs: 'GET /repos/{owner}/{repo}/actions/jobs/{job_id}/logs',
  /** The pre-signed log URL `jobLogs` redirects to. */
  logDownload: 'GET /_logs/{job_id}',
  pendingDeployments: 'GET /repos/{owner}/{repo}/actions/runs/{run_id}/pending_deployments',
  getRepo: 'GET /repos/{owner}/{repo}',
  getCommit: 'GET /repos/{owner}/{repo}/commits/{ref}',
  compare: 'GET /repos/{owner}/{repo}/compare/{basehead}',
  listDeployments: 'GET /repos/{owner}/{repo}/deployments',
  listDeploymentStatuses: 'GET /repos/{owner}/{repo}/deployments/{deployment_id}/statuses',
  environments: 'GET /repos/{owner}/{repo}/environments',
  installationToken: 'POST /app/installations/{installation_id}/access_tokens',
} as const;

/** GitHub's texts for its failures, verbatim. */
export const GITHUB_TEXT = {
  rateLimitDocs: 'https://docs.github.com/rest/overview/resources-in-the-rest-api#rate-limiting',
  secondaryRateLimit:
    'You have exceeded a secondary rate limit. Please wait a few minutes before you try again.',
  secondaryRateLimitDocs:
    'https://docs.github.com/free-pro-team@latest/rest/overview/resources-in-the-rest-api#secondary-rate-limits',
  serverError: 'Server Error',
  unavailable:
    'No server is currently available to service your request. Sorry about that. Please try resubmitting your request and contact us if the problem persists.',
  timeout:
    "We couldn't respond to your request in time. Sorry about that. Please try resubmitting your request and contact us if the problem persists.",
  badCredentials: 'Bad credentials',
} as const;

/** What a GitHub fault matches: a route of {@link GITHUB_ROUTE}, any `'METHOD /template'`, an operationId, or `'*'`. */
export interface GitHubTarget {
  route: string;
  /** The run this dispatch creates is listed only this many ms (fake clock) later; the dispatch succeeds. */
  runListedAfterMs?: number;
}

/** A request as GitHub faults see it. */
export interface GitHubFaultRequest {
  /** `'METHOD /template'` (or `'METHOD /path'` when GitHub has no such operation). */
  route: string;
  method: string;
  path: string;
}

/** Which of the fault's requests, how often, and whether the work is done first. */
type Common = { route?: string; times?: number; after?: boolean; delayMs?: number; label?: string };

const LOGS = 'GET /_logs/{job_id}';

/** The unicorn page GitHub's front end serves instead of JSON when it is in trouble. */
export function unicornPage(text: string): string {
  const [first, ...rest] = text.split('. ');
  return [
    '<!DOCTYPE html>',
    '<html>',
    '  <head>',
    '    <meta http-equiv="Content-Type" content="text/html; charset=utf-8">',
    '    <title>Unicorn! &middot; GitHub</title>',
    '  </head>',
    '  <body>',
    `    <p><strong>${first}.</strong></p>`,
    `    <p>${rest.join('. ')}</p>`,
    '  </body>',
    '</html>',
    '',
  ].join('\n');
}

/** The fake GitHub's fault plan and its helpers. */
export class GitHubFaults extends FaultPlan<GitHubTarget, GitHubFaultRequest> {
  readonly #installationId: number | undefined;

  /** `now` is the fake's clock (ms); `installationId` the App installation the fake serves, if any. */
  constructor(now: () => number, installationId?: number) {
    super({
      now,
      matches: (target, request) => target.route === '*' || target.route === request.route,
      check: (spec) => {
        if (spec.route === '*' || spec.route === LOGS) return spec;
        const op = findOperation(spec.route);
        if (!op) throw new Error(`fault: GitHub has no route ${spec.route}`);
        return { ...spec, route: `${op.method} ${op.template}` };
      },
    });
    this.#installationId = installationId;
  }

  /**
   * The primary rate limit: 403 (or 429) with `x-ratelimit-remaining: 0` and `x-ratelimit-reset`
   * `resetInSeconds` (default 60) ahead of the fake's clock when it fires; the message names the
   * installation (default: the fake's App installation, else 4711) or, with `userId`, the user.
   */
  primaryRateLimit(
    opts: Common & {
      status?: 403 | 429;
      resetInSeconds?: number;
      installationId?: number;
      userId?: number;
    } = {},
  ): InjectedFault<GitHubTarget> {
    const who =
      opts.userId !== undefined
        ? `user ID ${opts.userId}`
        : `installation ID ${opts.installationId ?? this.#installationId ?? 4711}`;
    const resetIn = opts.resetInSeconds ?? 60;
    return this.inject({
      ...pick(opts),
      status: opts.status ?? 403,
      body: { message: `API rate limit exceeded for ${who}.`, documentation_url: GITHUB_TEXT.rateLimitDocs },
      headers: (now) => ({
        'x-ratelimit-limit': '5000',
        'x-ratelimit-remaining': '0',
        'x-ratelimit-used': '5000',
        'x-ratelimit-reset': String(Math.floor(now / 1000) + resetIn),
        'x-ratelimit-resource': 'core',
      }),
    });
  }

  /**
   * A secondary rate limit: 403 (or 429), `retry-after` only when `retryAfter` is given, and the
   * fake's usual `x-ratelimit-remaining` (not 0).
   */
  secondaryRateLimit(
    opts: Common & { status?: 403 | 429; retryAfter?: number } = {},
  ): InjectedFault<GitHubTarget> {
    return this.inject({
      ...pick(opts),
      status: opts.status ?? 403,
      body: {
        message: GITHUB_TEXT.secondaryRateLimit,
        documentation_url: GITHUB_TEXT.secondaryRateLimitDocs,
      },
      headers: opts.retryAfter === undefined ? {} : { 'retry-after': String(opts.retryAfter) },
    });
  }

  /**
   * A server error: 500/502 `{"message":"Server Error"}`, 503 "No server is currently available…",
   * 504 "We couldn't respond to your request in time…" after `delayMs` (default 10 s for a 504, else
   * 0). `html` sends GitHub's unicorn page instead of JSON. `after: true`: the work was done.
   */
  serverError(
    opts: Common & { status?: 500 | 502 | 503 | 504; html?: boolean } = {},
  ): InjectedFault<GitHubTarget> {
    const status = opts.status ?? 502;
    const message =
      status === 503
        ? GITHUB_TEXT.unavailable
        : status === 504
          ? GITHUB_TEXT.timeout
          : GITHUB_TEXT.serverError;
    return this.inject({
      ...pick(opts),
      delayMs: opts.delayMs ?? (status === 504 ? 10_000 : 0),
      status,
      body: opts.html ? unicornPage(message) : { message },
      headers: opts.html ? { 'content-type': 'text/html; charset=utf-8' } : {},
    });
  }

  /** 401 Bad credentials (a revoked or expired token), as the fake answers a wrong token. */
  badCredentials(opts: Common = {}): InjectedFault<GitHubTarget> {
    return this.inject({
      ...pick(opts),
      status: 401,
      body: {
        message: GITHUB_TEXT.badCredentials,
        documentation_url: 'https://docs.github.com/rest',
        status: '401',
      },
    });
  }

  /** The connection is reset (ECONNRESET), before the work or, with `after`, once it is done. */
  connectionReset(opts: Common = {}): InjectedFault<GitHubTarget> {
    return this.inject({ ...pick(opts), reset: true });
  }

  /**
   * The next `times` dispatches succeed, but each run they create shows in the runs lists only
   * `seconds` later on the fake's clock (GET of the run by id finds it at once).
   */
  runListedAfter(
    seconds: number,
    opts: { times?: number; label?: string } = {},
  ): InjectedFault<GitHubTarget> {
    return this.inject({
      ...pick({ ...opts, route: GITHUB_ROUTE.dispatch }),
      runListedAfterMs: seconds * 1000,
    });
  }
}

function pick(opts: Common): FaultSpec<GitHubTarget> {
  const spec: GitHubTarget & FaultEffect = { route: opts.route ?? '*' };
  if (opts.times !== undefined) spec.times = opts.times;
  if (opts.after !== undefined) spec.after = opts.after;
  if (opts.delayMs !== undefined) spec.delayMs = opts.delayMs;
  if (opts.label !== undefined) spec.label = opts.label;
  return spec;
}
