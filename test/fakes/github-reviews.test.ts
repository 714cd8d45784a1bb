import { createDeviceCode, exchangeDeviceCode, refreshToken } from '@octokit/oauth-methods';
import { Octokit } from '@octokit/rest';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FAKE_OAUTH_CLIENT_ID, type FakeGitHub, startFakeGitHub } from './github-api.ts';

const TOKEN = 'ghp_test_0123456789abcdef';
const repo = { owner: 'acme', repo: 'shop' };
let gh: FakeGitHub;

beforeEach(async () => {
  gh = await startFakeGitHub({
    ...repo,
    token: TOKEN,
    validateResponses: true,
    patLogin: 'octo-ops',
    oauth: { intervalSeconds: 0.05 },
  });
});
afterEach(async () => {
  await gh.close();
});

const quiet = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };
/** An Octokit against the fake, as `auth` (none: anonymous), without Octokit's request log on stderr. */
const client = (auth?: string) => new Octokit({ baseUrl: gh.url, log: quiet, ...(auth ? { auth } : {}) });
const web = () => client().request;

async function failure(promise: Promise<unknown>): Promise<{ status: number; message: string }> {
  try {
    await promise;
  } catch (error) {
    const e = error as { status: number; response?: { data?: { message?: string } }; message: string };
    return { status: e.status, message: e.response?.data?.message ?? e.message };
  }
  throw new Error('the request succeeded');
}

/** The device flow as @octokit/oauth-methods runs it, authorized as `login`; the user's token. */
async function userToken(login: string): Promise<{ token: string; refresh: string }> {
  const { data } = await createDeviceCode({
    clientType: 'github-app',
    clientId: FAKE_OAUTH_CLIENT_ID,
    request: web(),
  });
  const pending = await failure(
    exchangeDeviceCode({
      clientType: 'github-app',
      clientId: FAKE_OAUTH_CLIENT_ID,
      code: data.device_code,
      request: web(),
    }),
  );
  expect(pending.message).toContain('authorization_pending');
  gh.oauth.authorize(data.user_code, login);
  await new Promise((resolve) => setTimeout(resolve, 60));
  const { authentication } = await exchangeDeviceCode({
    clientType: 'github-app',
    clientId: FAKE_OAUTH_CLIENT_ID,
    code: data.device_code,
    request: web(),
  });
  const withRefresh = authentication as { token: string; refreshToken?: string };
  return { token: withRefresh.token, refresh: withRefresh.refreshToken ?? '' };
}

/** Dispatches production and plays the run until its deploy job waits for the reviewers. */
async function waitingRun(): Promise<{ runId: number; done: Promise<unknown> }> {
  const octokit = client(TOKEN);
  const sha = gh.repo.commit({ branch: 'main', message: 'Ship it' });
  const { data } = await octokit.rest.actions.createWorkflowDispatch({
    ...repo,
    workflow_id: 'deploy.yml',
    ref: 'main',
    inputs: { environment: 'production', sha, action: 'deploy', request_id: 'req-1', requested_by: 'Ada' },
    return_run_details: true,
  } as Parameters<typeof octokit.rest.actions.createWorkflowDispatch>[0]);
  const runId = (data as unknown as { workflow_run_id: number }).workflow_run_id;
  const done = gh.simulate(runId, 'success', { manual: true });
  while (await gh.advance(runId)) {
    // until the deploy job waits
  }
  return { runId, done };
}

describe('fake GitHub: device flow and user tokens', () => {
  it('issues a user token and a refresh token, as GitHub does; GET /user names the user', async () => {
    const { token, refresh } = await userToken('octo-sam');
    expect(token).toMatch(/^ghu_/);
    expect(refresh).toMatch(/^ghr_/);
    const { data } = await client(token).rest.users.getAuthenticated();
    expect(data.login).toBe('octo-sam');
    expect(gh.violations).toEqual([]);
  });

  it('refreshes with the client id alone, spends the refresh token, and 401s expired or revoked tokens', async () => {
    const { token, refresh } = await userToken('octo-sam');
    gh.oauth.expire('octo-sam');
    expect((await failure(client(token).rest.users.getAuthenticated())).status).toBe(401);
    const refreshed = await refreshToken({
      clientType: 'github-app',
      clientId: FAKE_OAUTH_CLIENT_ID,
      clientSecret: undefined as unknown as string,
      refreshToken: refresh,
      request: web(),
    });
    const fresh = refreshed.authentication.token;
    expect((await client(fresh).rest.users.getAuthenticated()).data.login).toBe('octo-sam');
    const again = await failure(
      refreshToken({
        clientType: 'github-app',
        clientId: FAKE_OAUTH_CLIENT_ID,
        clientSecret: '',
        refreshToken: refresh,
        request: web(),
      }),
    );
    expect(again.message).toContain('bad_refresh_token');
    gh.oauth.revoke('octo-sam');
    expect((await failure(client(fresh).rest.users.getAuthenticated())).status).toBe(401);
    expect(gh.oauth.refreshRequests.map((r) => r.ok)).toEqual([true, false]);
  });

  it('slows down a client that polls faster than the interval, and refuses another client id', async () => {
    const { data } = await createDeviceCode({
      clientType: 'github-app',
      clientId: FAKE_OAUTH_CLIENT_ID,
      request: web(),
    });
    const poll = () =>
      failure(
        exchangeDeviceCode({
          clientType: 'github-app',
          clientId: FAKE_OAUTH_CLIENT_ID,
          code: data.device_code,
          request: web(),
        }),
      );
    await poll();
    expect((await poll()).message).toContain('slow_down');
    expect(
      (
        await failure(
          createDeviceCode({ clientType: 'github-app', clientId: 'Iv23liSomeoneElse', request: web() }),
        )
      ).message,
    ).toContain('incorrect_client_credentials');
  });

  it('revokes credentials only for an unauthenticated caller (POST /credentials/revoke)', async () => {
    const { token } = await userToken('octo-sam');
    const authed = client(TOKEN);
    expect((await failure(authed.rest.credentials.revoke({ credentials: [token] }))).status).toBe(403);
    const { status } = await client().rest.credentials.revoke({
      credentials: [token],
    });
    expect(status).toBe(202);
    expect(gh.oauth.liveTokens('octo-sam')).toEqual([]);
    expect(gh.violations).toEqual([]);
  });
});

describe('fake GitHub: reviewing pending deployments as a user', () => {
  it('answers current_user_can_approve per user, refuses non-reviewers and self-review with 422, records the reviewer', async () => {
    gh.environments.set('production', { reviewers: ['octo-sam', 'octo-ops'], preventSelfReview: true });
    const { runId, done } = await waitingRun();
    const as = async (login: string) => client((await userToken(login)).token);
    const sam = await as('octo-sam');
    const bob = await as('octo-bob');
    const ops = client(TOKEN);
    const { data: pending } = await sam.rest.actions.getPendingDeploymentsForRun({ ...repo, run_id: runId });
    expect(pending[0]?.current_user_can_approve).toBe(true);
    const envId = pending[0]?.environment.id ?? 0;
    const bobs = await bob.rest.actions.getPendingDeploymentsForRun({ ...repo, run_id: runId });
    expect(bobs.data[0]?.current_user_can_approve).toBe(false);
    const review = {
      ...repo,
      run_id: runId,
      environment_ids: [envId],
      state: 'approved' as const,
      comment: 'ok',
    };
    expect(await failure(bob.rest.actions.reviewPendingDeploymentsForRun(review))).toEqual({
      status: 422,
      message: 'octo-bob is not a required reviewer for the environment production.',
    });
    // octo-ops owns the token that dispatched the run: prevent self-review stops it.
    expect((await failure(ops.rest.actions.reviewPendingDeploymentsForRun(review))).message).toMatch(
      /^Self-review is not allowed/,
    );
    const { data: deployments } = await sam.rest.actions.reviewPendingDeploymentsForRun(review);
    expect(deployments[0]?.environment).toBe('production');
    const { data: log } = await ops.rest.actions.getReviewsForRun({ ...repo, run_id: runId });
    expect(log.map((r) => [r.state, r.user.login, r.comment, r.environments[0]?.name])).toEqual([
      ['approved', 'octo-sam', 'ok', 'production'],
    ]);
    expect((await failure(sam.rest.actions.reviewPendingDeploymentsForRun(review))).status).toBe(422);
    while (await gh.advance(runId)) {
      // to the end
    }
    await done;
    expect(gh.runs.get(runId)?.conclusion).toBe('success');
    expect(gh.violations).toEqual([]);
  });
});
