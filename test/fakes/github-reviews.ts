import { openApiExample } from './github-openapi.ts';
import type { RouteContext, RouteResult } from './github-routes.ts';
import type { GitHubState, RunRecord } from './github-state.ts';
import { rebrand, restDeployment, user } from './github-webhooks.ts';

/**
 * The fake's side of reviewing deployments as a user: `GET /user`, the review of a run's pending
 * deployments (`POST …/pending_deployments`, GitHub's rules: only a required reviewer, never the
 * user who started the run when the environment prevents self-review, only environments that wait),
 * its review log (`GET …/approvals`) and the credential revocation API. The 422 texts are modelled on
 * GitHub's answers (their wording is GitHub's to change; the bot passes them on as they come).
 */

const error = (status: number, message: string): RouteResult => ({
  status,
  body: { message, documentation_url: 'https://docs.github.com/rest', status: String(status) },
});

/** Whether `login` may approve the run's waiting deployment: a required reviewer, not self-reviewing. */
export function canApprove(state: GitHubState, run: RunRecord, login: string): boolean {
  if (!run.pending) return false;
  const env = state.environment(run.pending.environment);
  if (!env.reviewers.some((r) => r.toLowerCase() === login.toLowerCase())) return false;
  return !(env.preventSelfReview && run.actor.toLowerCase() === login.toLowerCase());
}

function sameRepo(ctx: RouteContext): boolean {
  const p = ctx.match.pathParams;
  return (
    p.owner?.toLowerCase() === ctx.state.id.owner.toLowerCase() &&
    p.repo?.toLowerCase() === ctx.state.id.repo.toLowerCase()
  );
}

/** The routes of this file, or null for every other operation. */
export function reviewOperation(ctx: RouteContext): RouteResult | null {
  switch (ctx.match.operationId) {
    case 'users/get-authenticated':
      return authenticatedUser(ctx);
    case 'credentials/revoke':
      return revokeCredentials(ctx);
    case 'actions/review-pending-deployments-for-run':
      return sameRepo(ctx) ? reviewPending(ctx) : error(404, 'Not Found');
    case 'actions/get-reviews-for-run':
      return sameRepo(ctx) ? reviewLog(ctx) : error(404, 'Not Found');
    default:
      return null;
  }
}

function authenticatedUser(ctx: RouteContext): RouteResult {
  if (ctx.tokenKind === 'installation' || ctx.tokenKind === 'jwt') {
    return error(403, 'Resource not accessible by integration');
  }
  const example = rebrand(openApiExample('public-user-default-response'), ctx.state.id);
  return {
    status: 200,
    body: {
      ...example,
      ...user(ctx.state.id, ctx.actor),
      id: ctx.oauth.userId(ctx.actor),
      user_view_type: 'public',
    },
  };
}

/** Unauthenticated only: GitHub answers an authenticated request with 403. */
function revokeCredentials(ctx: RouteContext): RouteResult {
  if (ctx.tokenKind !== 'anonymous') return error(403, 'Must not be authenticated');
  const { credentials } = ctx.body as { credentials: string[] };
  ctx.oauth.revokeCredentials(credentials);
  return { status: 202, body: {} };
}

function reviewPending(ctx: RouteContext): RouteResult {
  const { state } = ctx;
  const run = state.runs.get(Number(ctx.match.pathParams.run_id));
  if (!run) return error(404, 'Not Found');
  const body = ctx.body as { environment_ids: number[]; state: 'approved' | 'rejected'; comment: string };
  const login = ctx.actor;
  if (!run.pending) return error(422, 'There are no pending deployments for this workflow run to review.');
  const env = state.environment(run.pending.environment);
  const unknown = body.environment_ids.filter((id) => id !== env.id);
  if (unknown.length > 0 || body.environment_ids.length === 0) {
    return error(
      422,
      `No pending deployment for environment id(s) ${unknown.join(', ') || 'none'} on this run.`,
    );
  }
  if (!env.reviewers.some((r) => r.toLowerCase() === login.toLowerCase())) {
    return error(422, `${login} is not a required reviewer for the environment ${env.name}.`);
  }
  if (env.preventSelfReview && run.actor.toLowerCase() === login.toLowerCase()) {
    return error(
      422,
      `Self-review is not allowed on the environment ${env.name}: ${login} started this run and cannot review it.`,
    );
  }
  run.reviews = [
    ...(run.reviews ?? []),
    { environment: env.name, state: body.state, login, comment: body.comment, at: state.time() },
  ];
  // GitHub moves the run on: the job starts (approved) or fails (rejected); nothing waits any more.
  try {
    if (body.state === 'approved') ctx.simulator.approve(run.id);
    else ctx.simulator.reject(run.id);
  } catch {
    // Nobody plays this run (a test drives it by hand): the decision is recorded all the same.
  }
  run.pending = null;
  const deployments = [...state.deployments.values()].filter(
    (d) => d.runId === run.id && d.environment === env.name,
  );
  return { status: 200, body: deployments.map((d) => restDeployment(state, d)) };
}

function reviewLog(ctx: RouteContext): RouteResult {
  const { state } = ctx;
  const run = state.runs.get(Number(ctx.match.pathParams.run_id));
  if (!run) return error(404, 'Not Found');
  const { apiUrl, owner, repo } = state.id;
  return {
    status: 200,
    body: (run.reviews ?? []).map((r) => {
      const env = state.environment(r.environment);
      return {
        environments: [
          {
            id: env.id,
            node_id: Buffer.from(`EN_${env.id}`).toString('base64'),
            name: env.name,
            url: `${apiUrl}/repos/${owner}/${repo}/environments/${env.name}`,
            html_url: `https://github.com/${owner}/${repo}/deployments/activity_log?environments_filter=${env.name}`,
            created_at: env.createdAt,
            updated_at: env.createdAt,
          },
        ],
        state: r.state,
        user: user(state.id, r.login),
        comment: r.comment,
      };
    }),
  };
}
