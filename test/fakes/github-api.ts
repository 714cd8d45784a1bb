import { createHmac, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { importSPKI, jwtVerify } from 'jose';
import {
  type MatchedOperation,
  matchOperation,
  openApiExample,
  validateRequest,
  validateResponse,
} from './github-openapi.ts';
import { type Delivery, type Plan, type SimulateOptions, Simulator } from './github-simulator.ts';
import { GitHubState, type RunRecord, type WorkflowInput } from './github-state.ts';
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

/** Options of {@link startFakeGitHub}. */
export interface FakeGitHubOptions {
  owner: string;
  repo: string;
  /** The PAT the bot must send. */
  token: string;
  app?: { appId: number; installationId: number; publicKeyPem: string };
  webhook?: { url: string; secret: string };
  /** false simulates GitHub Enterprise Server ≤ 3.20, which refuses `return_run_details`. */
  supportsReturnRunDetails?: boolean;
  now?: () => number;
  /** What the credentials may do; an absent key means write. */
  permissions?: Partial<
    Record<'actions' | 'deployments' | 'contents' | 'metadata', 'read' | 'write' | 'none'>
  >;
  /** The deploy workflow's declared inputs (default: the five dispatch inputs, required strings). */
  workflowInputs?: Record<string, WorkflowInput>;
  runNameTemplate?: string;
  /** Also check every response against the description's schema (slower: for self-tests). */
  validateResponses?: boolean;
  /** Play every dispatched run automatically (the demo). */
  autoSimulate?: { plan: Plan; options?: SimulateOptions };
  port?: number;
}

/** One request the fake received. */
export interface RecordedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  body: unknown;
  status: number;
  operationId: string | null;
}

/** A request GitHub would have refused, or a response not shaped like GitHub's. */
export interface Violation {
  kind: 'route' | 'request' | 'response';
  method: string;
  path: string;
  problems: string[];
}

/** Everything a handler needs about the request being served. */
export interface RouteContext {
  state: GitHubState;
  simulator: Simulator;
  options: FakeGitHubOptions;
  match: MatchedOperation;
  query: URLSearchParams;
  body: unknown;
  actor: string;
  tokenKind: 'pat' | 'installation' | 'jwt';
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

/** A running fake GitHub, see {@link startFakeGitHub}. */
export interface FakeGitHub {
  url: string;
  state: GitHubState;
  requests: RecordedRequest[];
  violations: Violation[];
  deliveries: Delivery[];
  repo: {
    commit: GitHubState['commit'];
    branch: (name: string, sha?: string) => void;
    tag: (name: string, sha: string) => void;
  };
  environments: {
    set: (name: string, opts?: { reviewers?: string[]; url?: string; waitTimer?: number }) => void;
  };
  deployments: {
    seed: (opts: {
      environment: string;
      sha: string;
      statuses: string[];
      creator?: string;
      createdAt?: string;
    }) => number;
  };
  runs: { get: (id: number) => RunRecord | undefined; list: () => RunRecord[] };
  /** Resolves with the next dispatched run that matches `predicate`. */
  waitForRun: (predicate?: (run: RunRecord) => boolean, timeoutMs?: number) => Promise<RunRecord>;
  setWebhook: (webhook: { url: string; secret: string } | undefined) => void;
  simulate: (runId: number, plan: Plan, options?: SimulateOptions) => Promise<RunRecord>;
  advance: (runId: number) => Promise<boolean>;
  approve: (runId: number) => void;
  reject: (runId: number) => void;
  close: () => Promise<void>;
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * Starts a fake api.github.com on 127.0.0.1 that checks every request against GitHub's OpenAPI
 * description, serves the repository/runs/deployments model and plays deploy runs.
 * @throws {Error} when the port cannot be bound.
 */
export async function startFakeGitHub(options: FakeGitHubOptions): Promise<FakeGitHub> {
  const requests: RecordedRequest[] = [];
  const violations: Violation[] = [];
  const logKey = randomBytes(16);
  const installationTokens = new Map<string, number>();
  const waiters: { predicate: (run: RunRecord) => boolean; resolve: (run: RunRecord) => void }[] = [];
  let remaining = 5000;
  let baseUrl = '';
  const state = new GitHubState(
    {
      owner: options.owner,
      repo: options.repo,
      repoId: 708_812_345,
      ownerId: 91_234_567,
      apiUrl: '',
      htmlUrl: 'https://github.com',
      workflowId: 73_418_225,
      workflowFile: 'deploy.yml',
    },
    options.now,
  );
  if (options.workflowInputs) state.workflowInputs = { ...options.workflowInputs };
  if (options.runNameTemplate) state.runNameTemplate = options.runNameTemplate;
  const simulator = new Simulator(state, options.webhook);
  const sign = (jobId: number) => createHmac('sha256', logKey).update(String(jobId)).digest('hex');

  const dispatched = (run: RunRecord) => {
    for (const waiter of waiters.splice(0)) {
      if (waiter.predicate(run)) waiter.resolve(run);
      else waiters.push(waiter);
    }
    if (options.autoSimulate)
      void simulator.simulate(run.id, options.autoSimulate.plan, options.autoSimulate.options);
  };

  async function authenticate(req: IncomingMessage, match: MatchedOperation) {
    const header = req.headers.authorization ?? '';
    const token = /^(?:token|bearer)\s+(\S+)$/i.exec(header)?.[1];
    if (match.operationId === 'apps/create-installation-access-token') {
      if (!options.app || !token) return null;
      try {
        const key = await importSPKI(options.app.publicKeyPem, 'RS256');
        const { payload } = await jwtVerify(token, key, { algorithms: ['RS256'], clockTolerance: 60 });
        const ok = String(payload.iss) === String(options.app.appId);
        // GitHub refuses a JWT that expires more than 10 minutes from now.
        const tooLong = (payload.exp ?? 0) - Math.floor(Date.now() / 1000) > 600;
        return ok && !tooLong ? { actor: `app-${options.app.appId}`, kind: 'jwt' as const } : null;
      } catch {
        return null;
      }
    }
    if (token && token === options.token) return { actor: 'deploy-bot-user', kind: 'pat' as const };
    const expires = token ? installationTokens.get(token) : undefined;
    if (expires && expires > Date.now()) return { actor: 'deploybot[bot]', kind: 'installation' as const };
    return null;
  }

  async function serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const raw = await readBody(req);
    const method = req.method ?? 'GET';
    const record: RecordedRequest = {
      method,
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      body: undefined,
      status: 0,
      operationId: null,
    };
    requests.push(record);
    remaining = Math.max(0, remaining - 1);
    const send = (status: number, body?: unknown, headers: Record<string, string> = {}) => {
      record.status = status;
      const text = body === undefined ? '' : JSON.stringify(body);
      res.writeHead(status, {
        'x-github-request-id': `${randomBytes(2).toString('hex').toUpperCase()}:${randomBytes(3).toString('hex').toUpperCase()}:${randomBytes(4).toString('hex').toUpperCase()}`,
        'x-github-api-version-selected': '2022-11-28',
        'x-github-media-type': 'github.v3; format=json',
        'x-ratelimit-limit': '5000',
        'x-ratelimit-remaining': String(remaining),
        'x-ratelimit-reset': String(Math.floor(Date.now() / 1000) + 3600),
        'x-ratelimit-used': String(5000 - remaining),
        'x-ratelimit-resource': 'core',
        ...(text ? { 'content-type': 'application/json; charset=utf-8' } : {}),
        ...headers,
      });
      res.end(text);
    };

    // The pre-signed log URL: served without auth, like GitHub's blob storage link.
    const logPath = /^\/_logs\/(\d+)$/.exec(url.pathname);
    if (logPath && method === 'GET') {
      const job = state.job(Number(logPath[1]));
      if (!job || url.searchParams.get('sig') !== sign(job.id)) {
        record.status = 403;
        res.writeHead(403, { 'content-type': 'application/xml' });
        res.end('<?xml version="1.0" encoding="utf-8"?><Error><Code>AuthenticationFailed</Code></Error>');
        return;
      }
      record.status = 200;
      res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
      res.end(`${job.log.join('\n')}\n`);
      return;
    }

    const match = matchOperation(method, url.pathname);
    if (!match) {
      violations.push({
        kind: 'route',
        method,
        path: url.pathname,
        problems: ['no such operation on GitHub'],
      });
      return send(404, errorBody(404, 'Not Found'));
    }
    record.operationId = match.operationId;
    let body: unknown;
    if (raw.length > 0) {
      try {
        body = JSON.parse(raw);
        record.body = body;
      } catch {
        violations.push({ kind: 'request', method, path: url.pathname, problems: ['body is not JSON'] });
        return send(400, errorBody(400, 'Problems parsing JSON'));
      }
    }
    const who = await authenticate(req, match);
    if (!who) {
      const jwtRoute = match.operationId === 'apps/create-installation-access-token';
      return send(
        401,
        errorBody(401, jwtRoute ? 'A JSON web token could not be decoded' : 'Bad credentials'),
      );
    }
    const problems = validateRequest(match, url.searchParams, body);
    if (problems.length > 0) {
      violations.push({ kind: 'request', method, path: url.pathname, problems });
      const pathProblem = problems.some((p) => p.startsWith('path'));
      if (pathProblem) return send(404, errorBody(404, 'Not Found'));
      return send(422, errorBody(422, `Invalid request.\n\n${problems.join('\n')}`));
    }
    const result = await handleOperation({
      state,
      simulator,
      options,
      match,
      query: url.searchParams,
      body,
      actor: who.actor,
      tokenKind: who.kind,
      logUrl: (jobId) => `${baseUrl}/_logs/${jobId}?sig=${sign(jobId)}`,
      dispatched,
    });
    if (result.status === 201 && match.operationId === 'apps/create-installation-access-token') {
      const token = (result.body as { token: string }).token;
      installationTokens.set(token, Date.now() + 3_600_000);
    }
    if (options.validateResponses && result.status < 300) {
      const responseProblems = validateResponse(match, result.status, result.body);
      if (responseProblems.length > 0) {
        violations.push({ kind: 'response', method, path: url.pathname, problems: responseProblems });
      }
    }
    send(result.status, result.body, result.headers);
  }

  const server = createServer((req, res) => {
    serve(req, res).catch((error: unknown) => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
      res.end(JSON.stringify(errorBody(500, error instanceof Error ? error.message : 'error')));
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  state.id.apiUrl = baseUrl;

  return {
    url: baseUrl,
    state,
    requests,
    violations,
    deliveries: simulator.deliveries,
    repo: {
      commit: (opts) => state.commit(opts),
      branch: (name, sha) => state.branch(name, sha),
      tag: (name, sha) => state.tag(name, sha),
    },
    environments: { set: (name, opts) => state.setEnvironment(name, opts) },
    deployments: {
      seed: (opts) => {
        const d = state.createDeployment({ ...opts, creator: opts.creator ?? 'github-actions[bot]' });
        for (const status of opts.statuses) {
          const url = state.environment(opts.environment).url ?? '';
          state.addStatus(d, status as Parameters<GitHubState['addStatus']>[1], {
            createdAt: opts.createdAt,
            environmentUrl: status === 'success' ? url : '',
          });
        }
        return d.id;
      },
    },
    runs: { get: (id) => state.runs.get(id), list: () => [...state.runs.values()] },
    waitForRun: (predicate = () => true, timeoutMs = 10_000) =>
      new Promise<RunRecord>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('no run was dispatched in time')), timeoutMs);
        waiters.push({
          predicate,
          resolve: (run) => {
            clearTimeout(timer);
            resolve(run);
          },
        });
      }),
    setWebhook: (webhook) => {
      simulator.webhook = webhook;
    },
    simulate: (runId, plan, opts) => simulator.simulate(runId, plan, opts),
    advance: (runId) => simulator.advance(runId),
    approve: (runId) => simulator.approve(runId),
    reject: (runId) => simulator.reject(runId),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

// ---- the operations ---------------------------------------------------------------------------

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

function installationToken(ctx: RouteContext): RouteResult {
  const app = ctx.options.app;
  if (!app || ctx.match.pathParams.installation_id !== String(app.installationId)) return notFound;
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

/** Serves one validated, authenticated request. */
async function handleOperation(ctx: RouteContext): Promise<RouteResult> {
  const { state, match, query } = ctx;
  const op = match.operationId;
  if (op === 'apps/create-installation-access-token') return installationToken(ctx);
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
    case 'repos/get-commit': {
      const commit = state.resolve(p.ref ?? '');
      return commit
        ? { status: 200, body: restCommit(state, commit) }
        : unprocessable(`No commit found for SHA: ${p.ref}`);
    }
    case 'repos/compare-commits-with-basehead':
      return compare(ctx);
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
      return run ? { status: 200, body: restPendingDeployments(state, run) } : notFound;
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
                    prevent_self_review: false,
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
