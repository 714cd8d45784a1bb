import { createHmac, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { importSPKI, jwtVerify } from 'jose';
import type { FiredFault, WireAnswer } from './fault-plan.ts';
import { type GitHubFaultRequest, GitHubFaults } from './github-faults.ts';
import { FakeOAuth, type FakeOAuthOptions } from './github-oauth.ts';
import {
  type MatchedOperation,
  matchOperation,
  validateRequest,
  validateResponse,
} from './github-openapi.ts';
import { errorBody, handleOperation } from './github-routes.ts';
import { type SeedOptions, seedDeployment } from './github-seed.ts';
import { type Delivery, type Plan, type SimulateOptions, Simulator } from './github-simulator.ts';
import { GitHubState, type RunRecord, type WorkflowInput } from './github-state.ts';

/** The client id the fake's device flow accepts unless `oauth.clientId` says otherwise (a GitHub App's). */
export const FAKE_OAUTH_CLIENT_ID = 'Iv23liFakeDeployBot01';

/** Options of {@link startFakeGitHub}. */
export interface FakeGitHubOptions {
  owner: string;
  repo: string;
  /**
   * More repositories served by the same fake, `owner/repo` each (services of one bot): each has its
   * own commits, runs, environments and deployments; ids are unique across them, like GitHub's. The
   * credentials reach every repository.
   */
  repositories?: string[];
  /** The PAT the bot must send. */
  token: string;
  /** Whose PAT it is: the login GitHub names as the actor of runs the bot dispatches (default deploy-bot-user). */
  patLogin?: string;
  /** The device flow (`/login/...` on this same server) and its user tokens. */
  oauth?: Partial<FakeOAuthOptions>;
  /**
   * A GitHub App: `installationId` is its installation on `owner`; `installations` adds the
   * installations on other owners (owner → id). An installation's tokens reach only its owner's
   * repositories, like GitHub's.
   */
  app?: {
    appId: number;
    installationId: number;
    publicKeyPem: string;
    installations?: Record<string, number>;
  };
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
  /** Set when a fault caught the request; `status` is then what the client got (0: no answer). */
  fault?: FiredFault<GitHubFaultRequest>;
}

/** A request GitHub would have refused, or a response not shaped like GitHub's. */
export interface Violation {
  kind: 'route' | 'request' | 'response';
  method: string;
  path: string;
  problems: string[];
}

export { errorBody, type RouteContext, type RouteResult } from './github-routes.ts';

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
    set: (
      name: string,
      opts?: { reviewers?: string[]; url?: string; waitTimer?: number; preventSelfReview?: boolean },
    ) => void;
  };
  /** The device flow and linked users' tokens: authorize a code, expire or revoke a user's tokens. */
  oauth: FakeOAuth;
  deployments: {
    /**
     * Adds a deployment with its statuses, made the way GitHub makes one: by a completed run of
     * the deploy workflow on the default branch (its statuses link the run), unless `via` says
     * otherwise: `'api'` for one created by hand through the REST API (no run), or a run of another
     * branch, event or workflow file, with its own title (a writer's forgery).
     */
    seed: (opts: SeedOptions) => number;
  };
  runs: { get: (id: number) => RunRecord | undefined; list: () => RunRecord[] };
  /** Resolves with the next dispatched run that matches `predicate`. */
  waitForRun: (predicate?: (run: RunRecord) => boolean, timeoutMs?: number) => Promise<RunRecord>;
  setWebhook: (webhook: { url: string; secret: string } | undefined) => void;
  simulate: (runId: number, plan: Plan, options?: SimulateOptions) => Promise<RunRecord>;
  advance: (runId: number) => Promise<boolean>;
  approve: (runId: number) => void;
  reject: (runId: number) => void;
  /** Fault injection: see fault-plan.ts and github-faults.ts. */
  faults: GitHubFaults;
  /**
   * One of the fake's repositories by `owner/repo` (the first, or one of `repositories`).
   * @throws {Error} for a repository the fake does not serve.
   */
  repository: (fullName: string) => FakeRepository;
  close: () => Promise<void>;
}

/** One repository of a fake GitHub: its model and what plays its runs. */
export type FakeRepository = Pick<
  FakeGitHub,
  'state' | 'repo' | 'environments' | 'deployments' | 'runs' | 'deliveries' | 'simulate' | 'advance'
>;

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
  const installationTokens = new Map<string, { expires: number; installationId: number }>();
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
  const served = new Map<string, { state: GitHubState; simulator: Simulator }>();
  served.set(`${options.owner}/${options.repo}`.toLowerCase(), { state, simulator });
  (options.repositories ?? []).forEach((fullName, index) => {
    const [owner = '', repo = ''] = fullName.split('/');
    const other = new GitHubState(
      {
        ...state.id,
        owner,
        repo,
        repoId: state.id.repoId + index + 1,
        workflowId: state.id.workflowId + index + 1,
      },
      options.now,
      { idBase: 50_000_000 * (index + 1), shaSalt: `${fullName} ` },
    );
    served.set(fullName.toLowerCase(), { state: other, simulator: new Simulator(other, options.webhook) });
  });
  /** The repository a request's path names; the first one for paths naming none (or another). */
  /** The App's installation on an owner, if it is installed there. */
  const installationOf = (owner: string): number | undefined => {
    const app = options.app;
    if (!app) return undefined;
    const all: Record<string, number> = { [options.owner]: app.installationId, ...app.installations };
    return Object.entries(all).find(([login]) => login.toLowerCase() === owner.toLowerCase())?.[1];
  };
  const servedFor = (params: Record<string, string>) =>
    served.get(`${params.owner}/${params.repo}`.toLowerCase()) ?? { state, simulator };
  const oauth = new FakeOAuth({ clientId: FAKE_OAUTH_CLIENT_ID, ...options.oauth });
  const faults = new GitHubFaults(() => state.clockMs(), options.app?.installationId);
  const sign = (jobId: number) => createHmac('sha256', logKey).update(String(jobId)).digest('hex');

  const dispatched = (run: RunRecord, player: Simulator = simulator) => {
    for (const waiter of waiters.splice(0)) {
      if (waiter.predicate(run)) waiter.resolve(run);
      else waiters.push(waiter);
    }
    if (options.autoSimulate)
      void player.simulate(run.id, options.autoSimulate.plan, options.autoSimulate.options);
  };

  async function authenticate(req: IncomingMessage, match: MatchedOperation) {
    const header = req.headers.authorization ?? '';
    const token = /^(?:token|bearer)\s+(\S+)$/i.exec(header)?.[1];
    if (
      match.operationId === 'apps/create-installation-access-token' ||
      match.operationId === 'apps/get-repo-installation'
    ) {
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
    if (!header && match.operationId === 'credentials/revoke')
      return { actor: '', kind: 'anonymous' as const };
    if (token && token === options.token)
      return { actor: options.patLogin ?? 'deploy-bot-user', kind: 'pat' as const };
    const owner = token ? oauth.ownerOf(token) : null;
    if (owner) return { actor: owner, kind: 'user' as const };
    const installed = token ? installationTokens.get(token) : undefined;
    if (installed && installed.expires > Date.now())
      return {
        actor: 'deploybot[bot]',
        kind: 'installation' as const,
        installationId: installed.installationId,
      };
    return null;
  }

  const githubHeaders = (): Record<string, string> => ({
    'x-github-request-id': `${randomBytes(2).toString('hex').toUpperCase()}:${randomBytes(3).toString('hex').toUpperCase()}:${randomBytes(4).toString('hex').toUpperCase()}`,
    'x-github-api-version-selected': '2022-11-28',
    'x-github-media-type': 'github.v3; format=json',
    'x-ratelimit-limit': '5000',
    'x-ratelimit-remaining': String(remaining),
    'x-ratelimit-reset': String(Math.floor(Date.now() / 1000) + 3600),
    'x-ratelimit-used': String(5000 - remaining),
    'x-ratelimit-resource': 'core',
  });
  /** A JSON answer with GitHub's headers. */
  const json = (status: number, body?: unknown, headers: Record<string, string> = {}): WireAnswer => {
    const text = body === undefined ? '' : JSON.stringify(body);
    const type: Record<string, string> = text ? { 'content-type': 'application/json; charset=utf-8' } : {};
    return { status, headers: { ...githubHeaders(), ...type, ...headers }, text };
  };

  /**
   * The normal answer to a request (the work done, nothing sent yet). With `checkOnly` it only
   * records the violations GitHub would refuse the request for (a fault answers instead).
   */
  async function answer(
    req: IncomingMessage,
    url: URL,
    raw: string,
    record: RecordedRequest,
    extra: { checkOnly?: boolean; listedAfterMs?: number | undefined } = {},
  ): Promise<WireAnswer> {
    const method = record.method;
    // The pre-signed log URL: served without auth, like GitHub's blob storage link.
    const logPath = /^\/_logs\/(\d+)$/.exec(url.pathname);
    if (logPath && method === 'GET') {
      const jobId = Number(logPath[1]);
      const job = [...served.values()].map((r) => r.state.job(jobId)).find((j) => j !== undefined);
      if (!job || url.searchParams.get('sig') !== sign(job.id)) {
        const xml = '<?xml version="1.0" encoding="utf-8"?><Error><Code>AuthenticationFailed</Code></Error>';
        return { status: 403, headers: { 'content-type': 'application/xml' }, text: xml };
      }
      const text = `${job.log.join('\n')}\n`;
      return { status: 200, headers: { 'content-type': 'text/plain; charset=utf-8' }, text };
    }

    // The device flow lives on the web host (here the same server): not part of the REST description.
    const deviceFlow = oauth.serve(method, url.pathname, raw);
    if (deviceFlow) return deviceFlow;

    const match = matchOperation(method, url.pathname);
    if (!match) {
      violations.push({
        kind: 'route',
        method,
        path: url.pathname,
        problems: ['no such operation on GitHub'],
      });
      return json(404, errorBody(404, 'Not Found'));
    }
    record.operationId = match.operationId;
    let body: unknown;
    if (raw.length > 0) {
      try {
        body = JSON.parse(raw);
        record.body = body;
      } catch {
        violations.push({ kind: 'request', method, path: url.pathname, problems: ['body is not JSON'] });
        return json(400, errorBody(400, 'Problems parsing JSON'));
      }
    }
    const who = extra.checkOnly ? null : await authenticate(req, match);
    if (!who && !extra.checkOnly) {
      const jwtRoute = match.operationId === 'apps/create-installation-access-token';
      return json(
        401,
        errorBody(401, jwtRoute ? 'A JSON web token could not be decoded' : 'Bad credentials'),
      );
    }
    const problems = validateRequest(match, url.searchParams, body);
    if (problems.length > 0) {
      violations.push({ kind: 'request', method, path: url.pathname, problems });
      const pathProblem = problems.some((p) => p.startsWith('path'));
      if (pathProblem) return json(404, errorBody(404, 'Not Found'));
      return json(422, errorBody(422, `Invalid request.\n\n${problems.join('\n')}`));
    }
    if (!who) return json(204);
    const target = servedFor(match.pathParams);
    // An installation token reaches only the repositories of its installation's owner.
    const owner = match.pathParams.owner;
    if ('installationId' in who && owner !== undefined && installationOf(owner) !== who.installationId)
      return json(404, errorBody(404, 'Not Found'));
    const result = await handleOperation({
      state: target.state,
      simulator: target.simulator,
      options,
      match,
      query: url.searchParams,
      body,
      actor: who.actor,
      tokenKind: who.kind,
      oauth,
      logUrl: (jobId) => `${baseUrl}/_logs/${jobId}?sig=${sign(jobId)}`,
      dispatched: (run) => {
        if (extra.listedAfterMs !== undefined) run.listedFrom = state.clockMs() + extra.listedAfterMs;
        dispatched(run, target.simulator);
      },
    });
    if (result.status === 201 && match.operationId === 'apps/create-installation-access-token') {
      const token = (result.body as { token: string }).token;
      const installationId = Number(match.pathParams.installation_id);
      installationTokens.set(token, { expires: Date.now() + 3_600_000, installationId });
    }
    if (options.validateResponses && result.status < 300) {
      const responseProblems = validateResponse(match, result.status, result.body);
      if (responseProblems.length > 0) {
        violations.push({ kind: 'response', method, path: url.pathname, problems: responseProblems });
      }
    }
    return json(result.status, result.body, result.headers);
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
    const write = (out: WireAnswer) => {
      record.status = out.status;
      res.writeHead(out.status, out.headers);
      res.end(out.text);
    };
    const logs = method === 'GET' && /^\/_logs\/\d+$/.test(url.pathname);
    const template = logs
      ? '/_logs/{job_id}'
      : (matchOperation(method, url.pathname)?.template ?? url.pathname);
    const caught = faults.take({ route: `${method.toUpperCase()} ${template}`, method, path: url.pathname });
    if (!caught) return write(await answer(req, url, raw, record));
    record.fault = caught.fired;
    const { spec, fired } = caught;
    // A request answered by a fault instead of the work is still checked against the description.
    if (!spec.after && fired.outcome !== 'passed') await answer(req, url, raw, record, { checkOnly: true });
    const out = await faults.play(caught, res, () =>
      answer(req, url, raw, record, { listedAfterMs: spec.runListedAfterMs }),
    );
    if (!out) {
      record.status = 0;
      return;
    }
    write(fired.outcome === 'answered' ? { ...out, headers: { ...githubHeaders(), ...out.headers } } : out);
  }

  const server = createServer((req, res) => {
    if (faults.hold(res)) return;
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
  faults.attach(server);
  for (const r of served.values()) r.state.id.apiUrl = baseUrl;

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
    oauth,
    deployments: {
      seed: (opts) => seedDeployment(state, opts),
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
      for (const r of served.values()) r.simulator.webhook = webhook;
    },
    simulate: (runId, plan, opts) => simulator.simulate(runId, plan, opts),
    advance: (runId) => simulator.advance(runId),
    approve: (runId) => simulator.approve(runId),
    reject: (runId) => simulator.reject(runId),
    faults,
    repository: (fullName) => {
      const r = served.get(fullName.toLowerCase());
      if (!r) throw new Error(`the fake does not serve ${fullName}`);
      return fakeRepository(r.state, r.simulator);
    },
    close: () =>
      new Promise<void>((resolve) => {
        faults.close();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function fakeRepository(state: GitHubState, simulator: Simulator): FakeRepository {
  return {
    state,
    repo: {
      commit: (opts) => state.commit(opts),
      branch: (name, sha) => state.branch(name, sha),
      tag: (name, sha) => state.tag(name, sha),
    },
    environments: { set: (name, opts) => state.setEnvironment(name, opts) },
    deployments: { seed: (opts) => seedDeployment(state, opts) },
    runs: { get: (id) => state.runs.get(id), list: () => [...state.runs.values()] },
    deliveries: simulator.deliveries,
    simulate: (runId, plan, opts) => simulator.simulate(runId, plan, opts),
    advance: (runId) => simulator.advance(runId),
  };
}
