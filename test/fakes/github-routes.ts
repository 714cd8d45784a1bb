import { randomBytes } from 'node:crypto';
import type { FakeGitHubOptions } from './github-api.ts';
import type { FakeOAuth } from './github-oauth.ts';
import { type MatchedOperation, openApiExample } from './github-openapi.ts';
import { canApprove, reviewOperation } from './github-reviews.ts';
import type { Simulator } from './github-simulator.ts';
import type { GitHubState, RunRecord } from './github-state.ts';
import {
  rebrand,
  restCommit,
  restDeployment,
  restDeploymentStatus,
  restJob,
  restPendingDeployments,
  restRepository,
  restRun,
} from './github-webhooks.ts';

/**
 * The REST operations the fake GitHub serves, after github-api.ts has matched, validated and
 * authenticated the request: repository, commits, workflow runs and jobs, deployments, environments
 * and installation tokens, answered as GitHub does (permissions, 404/409/422, pagination).
 */

/** Everything a handler needs about the request being served. */
export interface RouteContext {
  state: GitHubState;
  simulator: Simulator;
  options: FakeGitHubOptions;
  match: MatchedOperation;
  query: URLSearchParams;
  body: unknown;
  actor: string;
  /** `user`: a linked reviewer's token from the device flow; `anonymous`: no credentials (only some routes). */
  tokenKind: 'pat' | 'installation' | 'jwt' | 'user' | 'anonymous';
  /** The device flow's user tokens (who a token belongs to, revocation). */
  oauth: FakeOAuth;
  logUrl: (jobId: number) => string;
  dispatched: (run: RunRecord) => void;
}

/** What a handler answers. */
export interface RouteResult {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

/** GitHub's error body: `message`, `documentation_url` and the status as a string. */
export function errorBody(status: number, message: string): Record<string, string> {
  return { message, documentation_url: 'https://docs.github.com/rest', status: String(status) };
}

const REQUIRED_PERMISSION: Record<
  string,
  ['actions' | 'deployments' | 'contents' | 'metadata', 'read' | 'write']
> = {
  'actions/create-workflow-dispatch': ['actions', 'write'],
  'actions/cancel-workflow-run': ['actions', 'write'],
  'actions/get-workflow-run': ['actions', 'read'],
  'actions/list-workflow-runs': ['actions', 'read'],
  'actions/list-workflow-runs-for-repo': ['actions', 'read'],
  'actions/list-jobs-for-workflow-run': ['actions', 'read'],
  'actions/get-job-for-workflow-run': ['actions', 'read'],
  'actions/download-job-logs-for-workflow-run': ['actions', 'read'],
  'actions/get-pending-deployments-for-run': ['actions', 'read'],
  'repos/list-deployments': ['deployments', 'read'],
  'repos/list-deployment-statuses': ['deployments', 'read'],
  'repos/get-commit': ['contents', 'read'],
  'repos/compare-commits-with-basehead': ['contents', 'read'],
};

const notFound: RouteResult = { status: 404, body: errorBody(404, 'Not Found') };
const unprocessable = (message: string): RouteResult => ({ status: 422, body: errorBody(422, message) });

/** Pages a newest-first list like GitHub: `per_page` (≤ 100, default 30), `page`, and a Link header. */
function paginate<T>(ctx: RouteContext, items: T[]): { page: T[]; headers: Record<string, string> } {
  const perPage = Math.min(100, Number(ctx.query.get('per_page') ?? 30) || 30);
  const page = Math.max(1, Number(ctx.query.get('page') ?? 1) || 1);
  const last = Math.max(1, Math.ceil(items.length / perPage));
  const link = (n: number, rel: string) => {
    const params = new URLSearchParams(ctx.query);
    params.set('page', String(n));
    const path = ctx.match.template.replace(/\{(\w+)\}/g, (_, k: string) => ctx.match.pathParams[k] ?? '');
    return `<${ctx.state.id.apiUrl}${path}?${params}>; rel="${rel}"`;
  };
  const links: string[] = [];
  if (page < last) links.push(link(page + 1, 'next'), link(last, 'last'));
  if (page > 1) links.push(link(1, 'first'), link(page - 1, 'prev'));
  return {
    page: items.slice((page - 1) * perPage, page * perPage),
    headers: links.length > 0 ? { link: links.join(', ') } : {},
  };
}

/** GitHub's `created` filter: `2024-01-01`, `>=…`, `<…`, `a..b` (a `*` is open-ended). */
function createdFilter(value: string | null): (iso: string) => boolean {
  if (!value) return () => true;
  const t = (s: string) => (s === '*' ? Number.NaN : Date.parse(s));
  const range = /^(.+)\.\.(.+)$/.exec(value);
  if (range) {
    const [from, to] = [t(range[1] ?? '*'), t(range[2] ?? '*')];
    return (iso) =>
      (Number.isNaN(from) || Date.parse(iso) >= from) && (Number.isNaN(to) || Date.parse(iso) <= to);
  }
  const cmp = /^(>=|<=|>|<)?(.+)$/.exec(value);
  const at = t(cmp?.[2] ?? value);
  const op = cmp?.[1];
  return (iso) => {
    const v = Date.parse(iso);
    if (op === '>=') return v >= at;
    if (op === '<=') return v <= at;
    if (op === '>') return v > at;
    if (op === '<') return v < at;
    return new Date(v).toISOString().slice(0, 10) === new Date(at).toISOString().slice(0, 10);
  };
}

function listRuns(ctx: RouteContext): RouteResult {
  const { query, state } = ctx;
  const created = createdFilter(query.get('created'));
  const runs = [...state.runs.values()]
    .filter(
      (r) => !query.get('status') || r.status === query.get('status') || r.conclusion === query.get('status'),
    )
    .filter((r) => !query.get('event') || r.event === query.get('event'))
    .filter((r) => !query.get('branch') || r.headBranch === query.get('branch'))
    .filter((r) => !query.get('head_sha') || r.headSha === query.get('head_sha'))
    .filter((r) => created(r.createdAt))
    .filter((r) => r.listedFrom === undefined || r.listedFrom <= state.clockMs())
    .sort((a, b) => b.id - a.id);
  const { page, headers } = paginate(ctx, runs);
  return {
    status: 200,
    headers,
    body: { total_count: runs.length, workflow_runs: page.map((r) => restRun(state, r)) },
  };
}

function dispatch(ctx: RouteContext): RouteResult {
  const { state, options, match } = ctx;
  const body = ctx.body as { ref: string; inputs?: Record<string, unknown>; return_run_details?: boolean };
  const workflowId = match.pathParams.workflow_id;
  if (workflowId !== state.id.workflowFile && workflowId !== String(state.id.workflowId)) return notFound;
  if (body.return_run_details !== undefined && options.supportsReturnRunDetails === false) {
    return unprocessable('Invalid request.\n\n"return_run_details" is not a permitted key.');
  }
  const sha = state.refSha(body.ref);
  if (!sha) return unprocessable(`No ref found for: ${body.ref}`);
  const inputs = body.inputs ?? {};
  const unexpected = Object.keys(inputs).filter((k) => !(k in state.workflowInputs));
  if (unexpected.length > 0)
    return unprocessable(`Unexpected inputs provided: ${JSON.stringify(unexpected)}`);
  for (const [name, declared] of Object.entries(state.workflowInputs)) {
    if (declared.required && (inputs[name] === undefined || inputs[name] === '')) {
      return unprocessable(`Required input '${name}' not provided`);
    }
  }
  for (const [name, value] of Object.entries(inputs)) {
    if (typeof value !== 'string')
      return unprocessable(`Provided value for input '${name}' must be a string`);
  }
  const run = state.createRun(body.ref, sha, inputs as Record<string, string>, ctx.actor);
  ctx.dispatched(run);
  if (body.return_run_details !== true) return { status: 204 };
  const rest = restRun(state, run);
  return { status: 200, body: { workflow_run_id: run.id, run_url: rest.url, html_url: rest.html_url } };
}

function compare(ctx: RouteContext): RouteResult {
  const { state } = ctx;
  const [baseRef, headRef] = (ctx.match.pathParams.basehead ?? '').split('...');
  const base = baseRef ? state.resolve(baseRef) : null;
  const head = headRef ? state.resolve(headRef) : null;
  if (!base || !head) return notFound;
  const { ahead, behindBy, mergeBase } = state.compare(base, head);
  const status =
    ahead.length === 0 ? (behindBy === 0 ? 'identical' : 'behind') : behindBy === 0 ? 'ahead' : 'diverged';
  const { owner, repo, apiUrl } = state.id;
  const html = `https://github.com/${owner}/${repo}/compare/${baseRef}...${headRef}`;
  const example = rebrand(openApiExample('commit-comparison'), state.id);
  return {
    status: 200,
    body: {
      ...example,
      url: `${apiUrl}/repos/${owner}/${repo}/compare/${baseRef}...${headRef}`,
      html_url: html,
      permalink_url: `https://github.com/${owner}/${repo}/compare/${base.sha}...${head.sha}`,
      diff_url: `${html}.diff`,
      patch_url: `${html}.patch`,
      base_commit: restCommit(state, base, false),
      merge_base_commit: restCommit(state, mergeBase, false),
      status,
      ahead_by: ahead.length,
      behind_by: behindBy,
      total_commits: ahead.length,
      commits: ahead.map((c) => restCommit(state, c, false)),
      files: [],
    },
  };
}

/** The App's installation ids: on the fake's owner, and on the owners `installations` adds. */
function installationIds(app: NonNullable<FakeGitHubOptions['app']>, owner: string): Map<string, number> {
  return new Map(
    Object.entries({ [owner]: app.installationId, ...app.installations }).map(([login, id]) => [
      login.toLowerCase(),
      id,
    ]),
  );
}

/** `GET /repos/{owner}/{repo}/installation` with the App's JWT: the installation on that owner. */
function repoInstallation(ctx: RouteContext): RouteResult {
  const app = ctx.options.app;
  const { owner = '', repo = '' } = ctx.match.pathParams;
  const id = app ? installationIds(app, ctx.options.owner).get(owner.toLowerCase()) : undefined;
  const served =
    ctx.state.id.repo.toLowerCase() === repo.toLowerCase() &&
    ctx.state.id.owner.toLowerCase() === owner.toLowerCase();
  if (!app || id === undefined || !served) return notFound;
  const { apiUrl } = ctx.state.id;
  return {
    status: 200,
    body: {
      id,
      account: { login: ctx.state.id.owner, id: ctx.state.id.ownerId, type: 'Organization' },
      app_id: app.appId,
      app_slug: 'deploybot',
      target_id: ctx.state.id.ownerId,
      target_type: 'Organization',
      repository_selection: 'selected',
      access_tokens_url: `${apiUrl}/app/installations/${id}/access_tokens`,
      repositories_url: `${apiUrl}/installation/repositories`,
      html_url: `https://github.com/organizations/${ctx.state.id.owner}/settings/installations/${id}`,
      permissions: { actions: 'write', deployments: 'read', contents: 'read', metadata: 'read' },
      events: ['workflow_run', 'workflow_job', 'deployment_status'],
      created_at: '2024-01-01T00:00:00Z',
      updated_at: '2024-01-01T00:00:00Z',
      single_file_name: null,
    },
  };
}

function installationToken(ctx: RouteContext): RouteResult {
  const app = ctx.options.app;
  const wanted = Number(ctx.match.pathParams.installation_id);
  if (!app || ![...installationIds(app, ctx.options.owner).values()].includes(wanted)) return notFound;
  const permissions = {
    actions: ctx.options.permissions?.actions ?? 'write',
    deployments: ctx.options.permissions?.deployments ?? 'read',
    contents: ctx.options.permissions?.contents ?? 'read',
    metadata: 'read',
  };
  return {
    status: 201,
    body: {
      token: `ghs_${randomBytes(18).toString('base64url')}`,
      expires_at: `${new Date(Date.now() + 3_600_000).toISOString().slice(0, 19)}Z`,
      permissions,
      repository_selection: 'selected',
    },
  };
}

/**
 * Serves one validated, authenticated request: 404 for another repository, 403 without the
 * permission the operation needs (default: granted), otherwise the operation's answer.
 */
export async function handleOperation(ctx: RouteContext): Promise<RouteResult> {
  const { state, match, query } = ctx;
  const op = match.operationId;
  if (op === 'apps/create-installation-access-token') return installationToken(ctx);
  if (op === 'apps/get-repo-installation') return repoInstallation(ctx);
  const reviewed = reviewOperation(ctx);
  if (reviewed) return reviewed;
  const p = match.pathParams;
  const sameRepo =
    p.owner?.toLowerCase() === state.id.owner.toLowerCase() &&
    p.repo?.toLowerCase() === state.id.repo.toLowerCase();
  if (!sameRepo) return notFound;
  const needed = REQUIRED_PERMISSION[op];
  const granted = needed ? (ctx.options.permissions?.[needed[0]] ?? 'write') : 'write';
  if (needed && (granted === 'none' || (needed[1] === 'write' && granted === 'read'))) {
    const who = ctx.tokenKind === 'installation' ? 'integration' : 'personal access token';
    return { status: 403, body: errorBody(403, `Resource not accessible by ${who}`) };
  }
  const run = p.run_id ? state.runs.get(Number(p.run_id)) : undefined;
  switch (op) {
    case 'repos/get':
      return { status: 200, body: restRepository(state) };
    case 'actions/get-workflow': {
      const { workflowFile, workflowId, owner, repo, apiUrl } = state.id;
      if (p.workflow_id !== workflowFile && p.workflow_id !== String(workflowId)) return notFound;
      const path = `.github/workflows/${workflowFile}`;
      return {
        status: 200,
        body: {
          id: workflowId,
          node_id: Buffer.from(`W_${workflowId}`).toString('base64'),
          name: 'Deploy',
          path,
          state: 'active',
          created_at: '2026-01-01T00:00:00Z',
          updated_at: '2026-01-01T00:00:00Z',
          url: `${apiUrl}/repos/${owner}/${repo}/actions/workflows/${workflowId}`,
          html_url: `https://github.com/${owner}/${repo}/blob/main/${path}`,
          badge_url: `https://github.com/${owner}/${repo}/workflows/Deploy/badge.svg`,
        },
      };
    }
    case 'actions/get-custom-oidc-sub-claim-for-repo':
      return { status: 200, body: state.oidcSubject };
    case 'repos/get-commit': {
      const commit = state.resolve(p.ref ?? '');
      return commit
        ? { status: 200, body: restCommit(state, commit) }
        : unprocessable(`No commit found for SHA: ${p.ref}`);
    }
    case 'repos/compare-commits-with-basehead':
      return compare(ctx);
    case 'repos/list-branches':
    case 'repos/list-tags':
      return listRefs(ctx, op === 'repos/list-tags' ? 'tags' : 'branches');
    case 'actions/create-workflow-dispatch':
      return dispatch(ctx);
    case 'actions/get-workflow-run':
      return run ? { status: 200, body: restRun(state, run) } : notFound;
    case 'actions/list-workflow-runs': {
      const id = p.workflow_id;
      return id === state.id.workflowFile || id === String(state.id.workflowId) ? listRuns(ctx) : notFound;
    }
    case 'actions/list-workflow-runs-for-repo':
      return listRuns(ctx);
    case 'actions/list-jobs-for-workflow-run': {
      if (!run) return notFound;
      const { page, headers } = paginate(ctx, run.jobs);
      return {
        status: 200,
        headers,
        body: { total_count: run.jobs.length, jobs: page.map((j) => restJob(state, j, run)) },
      };
    }
    case 'actions/get-job-for-workflow-run':
    case 'actions/download-job-logs-for-workflow-run': {
      const job = state.job(Number(p.job_id));
      const jobRun = job ? state.runs.get(job.runId) : undefined;
      if (!job || !jobRun) return notFound;
      if (op === 'actions/get-job-for-workflow-run')
        return { status: 200, body: restJob(state, job, jobRun) };
      if (job.status !== 'completed' || job.log.length === 0) return notFound;
      return { status: 302, headers: { location: ctx.logUrl(job.id) } };
    }
    case 'actions/cancel-workflow-run':
      if (!run) return notFound;
      if (run.status === 'completed') {
        return { status: 409, body: errorBody(409, 'Cannot cancel a workflow run that is completed.') };
      }
      ctx.simulator.cancel(run.id);
      return { status: 202, body: {} };
    case 'actions/get-pending-deployments-for-run':
      return run
        ? { status: 200, body: restPendingDeployments(state, run, canApprove(state, run, ctx.actor)) }
        : notFound;
    case 'repos/list-deployments': {
      const list = [...state.deployments.values()]
        .filter((d) => !query.get('environment') || d.environment === query.get('environment'))
        .filter((d) => !query.get('sha') || d.sha === query.get('sha'))
        .filter((d) => !query.get('ref') || d.ref === query.get('ref'))
        .filter((d) => !query.get('task') || d.task === query.get('task'))
        .sort((a, b) => b.createdAt.localeCompare(a.createdAt) || b.id - a.id);
      const { page, headers } = paginate(ctx, list);
      return { status: 200, headers, body: page.map((d) => restDeployment(state, d)) };
    }
    case 'repos/list-deployment-statuses': {
      const d = state.deployments.get(Number(p.deployment_id));
      if (!d) return notFound;
      const { page, headers } = paginate(ctx, [...d.statuses].reverse());
      return { status: 200, headers, body: page.map((s) => restDeploymentStatus(state, d, s)) };
    }
    case 'repos/get-all-environments': {
      const envs = [...state.environments.values()];
      const example = rebrand(openApiExample('environments'), state.id);
      const shape = (Array.isArray(example.environments) ? example.environments[0] : {}) as Record<
        string,
        unknown
      >;
      return {
        status: 200,
        body: {
          total_count: envs.length,
          environments: envs.map((e) => ({
            ...shape,
            id: e.id,
            node_id: Buffer.from(`EN_${e.id}`).toString('base64'),
            name: e.name,
            url: `${state.id.apiUrl}/repos/${state.id.owner}/${state.id.repo}/environments/${e.name}`,
            html_url: `https://github.com/${state.id.owner}/${state.id.repo}/deployments/activity_log?environments_filter=${e.name}`,
            created_at: e.createdAt,
            updated_at: e.createdAt,
            protection_rules: e.reviewers.length
              ? [
                  {
                    id: e.id + 1,
                    node_id: 'GA_kwDO',
                    prevent_self_review: e.preventSelfReview ?? false,
                    type: 'required_reviewers',
                    reviewers: [],
                  },
                ]
              : [],
          })),
        },
      };
    }
    default:
      return notFound;
  }
}

/** Branches or tags, by name like GitHub, paginated; each with its commit's sha and API URL. */
function listRefs(ctx: RouteContext, kind: 'branches' | 'tags'): RouteResult {
  const { state } = ctx;
  const { owner, repo, apiUrl } = state.id;
  const refs = [...(kind === 'tags' ? state.tags : state.branches).entries()].sort(([a], [b]) =>
    a < b ? -1 : a > b ? 1 : 0,
  );
  const items = refs.map(([name, sha]) => {
    const commit = { sha, url: `${apiUrl}/repos/${owner}/${repo}/commits/${sha}` };
    return kind === 'branches'
      ? { name, commit, protected: name === state.defaultBranch }
      : {
          name,
          commit,
          zipball_url: `${apiUrl}/repos/${owner}/${repo}/zipball/refs/tags/${name}`,
          tarball_url: `${apiUrl}/repos/${owner}/${repo}/tarball/refs/tags/${name}`,
          node_id: `MDM6UmVm${Buffer.from(name).toString('base64url')}`,
        };
  });
  const { page, headers } = paginate(ctx, items);
  return { status: 200, body: page, headers };
}
