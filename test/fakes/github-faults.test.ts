import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type FakeGitHub, startFakeGitHub } from './github-api.ts';
import { GITHUB_ROUTE, GITHUB_TEXT, unicornPage } from './github-faults.ts';

const TOKEN = 'ghp_faults_0123456789abcdef';
const T0 = Date.parse('2025-03-04T10:00:00Z');
let gh: FakeGitHub;

beforeEach(async () => {
  // A fixed clock: x-ratelimit-reset and the run listing lag are computed from it.
  gh = await startFakeGitHub({
    owner: 'acme',
    repo: 'shop',
    token: TOKEN,
    now: () => T0,
    workflowInputs: {},
  });
});

afterEach(async () => {
  await gh.close();
});

type Answer = { status: number; headers: Headers; text: string };

async function call(method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<Answer> {
  const res = await fetch(`${gh.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    ...(signal ? { signal } : {}),
  });
  return { status: res.status, headers: res.headers, text: await res.text() };
}

const dispatch = () =>
  call('POST', '/repos/acme/shop/actions/workflows/deploy.yml/dispatches', { ref: 'main' });
const listRuns = async () =>
  JSON.parse((await call('GET', '/repos/acme/shop/actions/workflows/deploy.yml/runs')).text) as {
    total_count: number;
  };

/** The error a fetch failed with: its cause's code (ECONNRESET, ECONNREFUSED) or its name. */
async function failure(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    const e = error as Error & { cause?: { code?: string } };
    return e.cause?.code ?? e.name;
  }
  throw new Error('the request succeeded');
}

describe('GitHub faults over HTTP', () => {
  it('primary rate limit: 403, remaining 0, reset 60 s ahead of the fake clock, the message verbatim', async () => {
    gh.faults.primaryRateLimit({ route: GITHUB_ROUTE.getRepo });
    const limited = await call('GET', '/repos/acme/shop');
    expect(limited.status).toBe(403);
    expect(limited.headers.get('x-ratelimit-remaining')).toBe('0');
    expect(limited.headers.get('x-ratelimit-reset')).toBe(String(T0 / 1000 + 60));
    expect(limited.headers.get('x-github-request-id')).toMatch(/^[0-9A-F]+:[0-9A-F]+:[0-9A-F]+$/);
    expect(JSON.parse(limited.text)).toEqual({
      message: 'API rate limit exceeded for installation ID 4711.',
      documentation_url: 'https://docs.github.com/rest/overview/resources-in-the-rest-api#rate-limiting',
    });
    expect((await call('GET', '/repos/acme/shop')).status).toBe(200);

    gh.faults.primaryRateLimit({ status: 429, userId: 583231, resetInSeconds: 120 });
    gh.state.advanceClock(5000);
    const user = await call('GET', '/repos/acme/shop');
    expect(user.status).toBe(429);
    expect(user.headers.get('x-ratelimit-reset')).toBe(String(T0 / 1000 + 5 + 120));
    expect(JSON.parse(user.text).message).toBe('API rate limit exceeded for user ID 583231.');
  });

  it('secondary rate limit: 403 without retry-after, or 429 with it; the quota is not at 0', async () => {
    gh.faults.secondaryRateLimit();
    gh.faults.secondaryRateLimit({ status: 429, retryAfter: 30 });
    const first = await call('GET', '/repos/acme/shop');
    expect(first.status).toBe(403);
    expect(first.headers.get('retry-after')).toBeNull();
    expect(Number(first.headers.get('x-ratelimit-remaining'))).toBeGreaterThan(0);
    expect(JSON.parse(first.text).message).toBe(
      'You have exceeded a secondary rate limit. Please wait a few minutes before you try again.',
    );
    const second = await call('GET', '/repos/acme/shop');
    expect(second.status).toBe(429);
    expect(second.headers.get('retry-after')).toBe('30');
    expect(JSON.parse(second.text).message).toBe(GITHUB_TEXT.secondaryRateLimit);
  });

  it('a 502 after the work: the run exists although the dispatch answered Server Error', async () => {
    gh.faults.serverError({ route: GITHUB_ROUTE.dispatch, status: 502, after: true });
    const answer = await dispatch();
    expect(answer.status).toBe(502);
    expect(answer.text).toBe('{"message":"Server Error"}');
    expect(gh.runs.list()).toHaveLength(1);
    expect((await listRuns()).total_count).toBe(1);
    expect(gh.faults.fired).toMatchObject([
      { id: 1, status: 502, outcome: 'answered', performed: true, workStatus: 204 },
    ]);
    expect(gh.requests.at(-2)).toMatchObject({ status: 502, fault: { performed: true } });
  });

  it('a 502 before the work creates no run', async () => {
    gh.faults.inject({ route: GITHUB_ROUTE.dispatch, status: 502, body: { message: 'Server Error' } });
    expect((await dispatch()).status).toBe(502);
    expect(gh.runs.list()).toHaveLength(0);
    expect(gh.faults.fired[0]).toMatchObject({ performed: false, request: { route: GITHUB_ROUTE.dispatch } });
  });

  it('500, 503 and 504 with their texts; 504 waits 10 s by default; html sends the unicorn page', async () => {
    expect(gh.faults.serverError({ status: 504 }).spec.delayMs).toBe(10_000);
    gh.faults.clear();
    gh.faults.serverError({ status: 500 });
    gh.faults.serverError({ status: 503, html: true });
    gh.faults.serverError({ status: 504, delayMs: 300 });
    const e500 = await call('GET', '/repos/acme/shop');
    expect([e500.status, JSON.parse(e500.text)]).toEqual([500, { message: 'Server Error' }]);
    const e503 = await call('GET', '/repos/acme/shop');
    expect(e503.status).toBe(503);
    expect(e503.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(e503.text).toBe(unicornPage(GITHUB_TEXT.unavailable));
    expect(e503.text).toContain('<strong>No server is currently available to service your request.</strong>');
    const started = Date.now();
    const e504 = await call('GET', '/repos/acme/shop');
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    expect([e504.status, JSON.parse(e504.text).message]).toEqual([
      504,
      "We couldn't respond to your request in time. Sorry about that. Please try resubmitting your request and contact us if the problem persists.",
    ]);
  });

  it('401 Bad credentials', async () => {
    gh.faults.badCredentials({ route: 'repos/get' });
    const answer = await call('GET', '/repos/acme/shop');
    expect(answer.status).toBe(401);
    expect(JSON.parse(answer.text).message).toBe('Bad credentials');
  });

  it('a reset gives the client ECONNRESET, before the work (no run) or after it (a run)', async () => {
    gh.faults.connectionReset({ route: GITHUB_ROUTE.dispatch });
    expect(await failure(dispatch())).toBe('ECONNRESET');
    expect(gh.runs.list()).toHaveLength(0);
    gh.faults.inject({ route: GITHUB_ROUTE.dispatch, reset: true, after: true });
    expect(await failure(dispatch())).toBe('ECONNRESET');
    expect(gh.runs.list()).toHaveLength(1);
    expect(gh.faults.fired.map((f) => [f.outcome, f.status, f.performed])).toEqual([
      ['reset', null, false],
      ['reset', null, true],
    ]);
    expect(gh.requests.filter((r) => r.fault).map((r) => r.status)).toEqual([0, 0]);
  });

  it('hang: no answer until the client gives up', async () => {
    gh.faults.inject({ route: GITHUB_ROUTE.getRepo, hang: true });
    expect(await failure(call('GET', '/repos/acme/shop', undefined, AbortSignal.timeout(300)))).toBe(
      'TimeoutError',
    );
    expect(gh.faults.fired[0]?.outcome).toBe('hung');
    expect((await call('GET', '/repos/acme/shop')).status).toBe(200);
  });

  it('times counts down, faults fire in the order injected, then the route works again', async () => {
    gh.faults.serverError({ route: GITHUB_ROUTE.getRepo, times: 2 });
    gh.faults.secondaryRateLimit({ route: '*', status: 429 });
    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push((await call('GET', '/repos/acme/shop')).status);
    expect(statuses).toEqual([502, 502, 429, 200]);
    expect(gh.faults.pending()).toHaveLength(0);
    expect(gh.faults.fired.map((f) => f.id)).toEqual([1, 1, 2]);
  });

  it('a fault on another route does not fire and stays pending', async () => {
    gh.faults.serverError({ route: GITHUB_ROUTE.dispatch, times: 3 });
    expect((await call('GET', '/repos/acme/shop')).status).toBe(200);
    expect((await listRuns()).total_count).toBe(0);
    expect(gh.faults.fired).toHaveLength(0);
    expect(gh.faults.pending()[0]?.remaining).toBe(3);
  });

  it('routes are checked when injected; an operationId is the same route', () => {
    for (const route of Object.values(GITHUB_ROUTE)) gh.faults.inject({ route, status: 500 });
    expect(gh.faults.inject({ route: 'actions/create-workflow-dispatch', status: 500 }).spec.route).toBe(
      GITHUB_ROUTE.dispatch,
    );
    expect(() => gh.faults.inject({ route: 'POST /repos/{owner}/{repo}/dispatch', status: 500 })).toThrow(
      /no route/,
    );
    expect(() => gh.faults.inject({ route: '*', reset: true, status: 500 })).toThrow();
    expect(() => gh.faults.inject({ route: '*', status: 500, times: 0 })).toThrow();
  });

  it('a faulted request is still checked against the OpenAPI description', async () => {
    gh.faults.serverError({ route: GITHUB_ROUTE.dispatch });
    const answer = await call('POST', '/repos/acme/shop/actions/workflows/deploy.yml/dispatches', {
      inputs: {},
    });
    expect(answer.status).toBe(502);
    expect(gh.violations).toMatchObject([{ kind: 'request', problems: [expect.stringContaining('ref')] }]);
  });

  it('a delay alone lets the normal answer out late', async () => {
    gh.faults.inject({ route: GITHUB_ROUTE.getRepo, delayMs: 250 });
    const started = Date.now();
    const answer = await call('GET', '/repos/acme/shop');
    expect(Date.now() - started).toBeGreaterThanOrEqual(240);
    expect(JSON.parse(answer.text).full_name).toBe('acme/shop');
    expect(gh.faults.fired[0]).toMatchObject({ outcome: 'passed', status: null, performed: true });
  });

  it('runListedAfter: the dispatched run shows in the runs list only 5 s later (fake clock)', async () => {
    gh.faults.runListedAfter(5);
    expect((await dispatch()).status).toBe(204);
    const [run] = gh.runs.list();
    expect((await listRuns()).total_count).toBe(0);
    expect((await call('GET', `/repos/acme/shop/actions/runs/${run?.id}`)).status).toBe(200);
    gh.state.advanceClock(4999);
    expect((await listRuns()).total_count).toBe(0);
    gh.state.advanceClock(1);
    expect((await listRuns()).total_count).toBe(1);
    expect((await dispatch()).status).toBe(204);
    expect((await listRuns()).total_count).toBe(2);
  });
});

describe('an unreachable fake GitHub', () => {
  it("'refuse': connections are refused until restore(), then the same URL answers", async () => {
    await gh.faults.unreachable('refuse');
    expect(await failure(call('GET', '/repos/acme/shop'))).toBe('ECONNREFUSED');
    await gh.faults.restore();
    expect((await call('GET', '/repos/acme/shop')).status).toBe(200);
  });

  it("'hang': connections are accepted and nothing answers; restore() cuts the held ones", async () => {
    await gh.faults.unreachable('hang');
    const held = call('GET', '/repos/acme/shop');
    expect(await failure(call('GET', '/repos/acme/shop', undefined, AbortSignal.timeout(300)))).toBe(
      'TimeoutError',
    );
    await gh.faults.restore();
    expect(await failure(held)).toMatch(/^(UND_ERR_SOCKET|ECONNRESET)$/);
    expect((await call('GET', '/repos/acme/shop')).status).toBe(200);
    expect(gh.requests.map((r) => r.status)).toEqual([200]);
  });
});
