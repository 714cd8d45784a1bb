import { afterEach, describe, expect, it } from 'vitest';
import type { Config } from '../../src/config.ts';
import { type DispatchPolicy, dispatchOnce } from '../../src/deploy/dispatch-once.ts';
import { createGitHubClient } from '../../src/github/github-client.ts';
import type { Store } from '../../src/store/store.ts';
import { type FakeGitHub, startFakeGitHub } from '../fakes/github-api.ts';
import { GITHUB_ROUTE } from '../fakes/github-faults.ts';
import { GITHUB_TOKEN } from '../harness.ts';

// Issue #10: the outcomes of dispatchOnce that take GitHub long to show, played against the fake
// GitHub over HTTP on virtual time (the policy's waits move the fake's clock instead of sleeping).

const repo = { owner: 'acme', repo: 'shop' };
let gh: FakeGitHub | undefined;
afterEach(async () => {
  await gh?.close();
  gh = undefined;
});

async function setUp() {
  gh = await startFakeGitHub({
    ...repo,
    token: GITHUB_TOKEN,
    runNameTemplate: 'Deploy {environment} {sha} [{request_id}]',
  });
  const fake = gh;
  const github = createGitHubClient(
    {
      apiUrl: fake.url,
      auth: { kind: 'token', token: GITHUB_TOKEN },
      owner: 'acme',
      repo: 'shop',
      workflow: 'deploy.yml',
    } as Config['github'],
    { retries: 0 },
  );
  // Nothing in the store: the run is only ever found on GitHub here.
  const store = { getDeployment: async () => null } as unknown as Store;
  const deps = { github, repo, store, config: { github: { workflow: 'deploy.yml' } } as Config };
  const policy: DispatchPolicy = {
    searchDelaysMs: [0, 1000, 2000, 3000, 4000, 5000, 5000],
    listingDelayMs: 10_000,
    maxPosts: 2,
    sleep: async (ms) => fake.state.advanceClock(ms),
  };
  const sha = fake.repo.commit({ branch: 'main', message: 'Release' });
  const options = (requestId: string) => ({
    workflow: 'deploy.yml',
    ref: 'main',
    inputs: {
      environment: 'staging',
      sha,
      action: 'deploy' as const,
      request_id: requestId,
      requested_by: 'Ada',
    },
  });
  return { fake, deps, policy, options };
}

const runsOf = (fake: FakeGitHub, requestId: string) =>
  fake.runs.list().filter((r) => r.inputs.request_id === requestId);

describe('dispatchOnce outcomes on virtual time (issue #10)', () => {
  it('every POST answered 502 and nothing listed after the search: no_run, two POSTs, no run', async () => {
    const { fake, deps, policy, options } = await setUp();
    fake.faults.serverError({ route: GITHUB_ROUTE.dispatch, status: 502, times: 2 });
    const result = await dispatchOnce(deps, options('req-no-run'), policy);
    expect(result).toMatchObject({ outcome: 'no_run', run: null, posts: 2 });
    expect(result.failures.map((f) => f.status)).toEqual([502, 502]);
    expect(runsOf(fake, 'req-no-run')).toHaveLength(0);
  });

  it('a 502 after the run was created while the runs list fails too: unconfirmed, never sent again', async () => {
    const { fake, deps, policy, options } = await setUp();
    fake.faults.serverError({ route: GITHUB_ROUTE.dispatch, status: 502, after: true });
    fake.faults.serverError({
      route: GITHUB_ROUTE.listWorkflowRuns,
      status: 503,
      times: Number.POSITIVE_INFINITY,
    });
    const result = await dispatchOnce(deps, options('req-unknown'), policy);
    expect(result).toMatchObject({ outcome: 'unconfirmed', posts: 1 });
    expect(runsOf(fake, 'req-unknown')).toHaveLength(1);
  });

  it('a run listed 15 s late (after an answer of "none" at 10 s) is still adopted before a second POST', async () => {
    const { fake, deps, policy, options } = await setUp();
    fake.faults.inject({
      route: GITHUB_ROUTE.dispatch,
      status: 502,
      body: { message: 'Server Error' },
      after: true,
      runListedAfterMs: 15_000,
    });
    const result = await dispatchOnce(deps, options('req-late'), policy);
    expect(result).toMatchObject({ outcome: 'adopted', posts: 1 });
    expect(runsOf(fake, 'req-late')).toHaveLength(1);
  });

  it('two runs listed for one request: the oldest is kept, the other cancelled', async () => {
    const { fake, deps, policy, options } = await setUp();
    // An earlier, duplicated dispatch of the same request (as a blind retry once made).
    await deps.github.rest.actions.createWorkflowDispatch({
      ...repo,
      workflow_id: 'deploy.yml',
      ref: 'main',
      inputs: options('req-dup').inputs,
    });
    fake.faults.serverError({ route: GITHUB_ROUTE.dispatch, status: 502, after: true });
    const result = await dispatchOnce(deps, options('req-dup'), policy);
    const [first, second] = runsOf(fake, 'req-dup').sort((a, b) => a.id - b.id);
    expect(result).toMatchObject({
      outcome: 'adopted',
      run: { runId: first?.id },
      duplicatesCancelled: [second?.id],
    });
    expect(
      fake.requests.some((r) => r.method === 'POST' && r.path.endsWith(`/runs/${second?.id}/cancel`)),
    ).toBe(true);
  });

  it('a run on another branch carrying the request id is never adopted', async () => {
    const { fake, deps, policy, options } = await setUp();
    fake.repo.branch('evil', fake.state.refSha('main') ?? undefined);
    await deps.github.rest.actions.createWorkflowDispatch({
      ...repo,
      workflow_id: 'deploy.yml',
      ref: 'evil',
      inputs: options('req-branch').inputs,
    });
    fake.faults.serverError({ route: GITHUB_ROUTE.dispatch, status: 502 });
    const result = await dispatchOnce(deps, options('req-branch'), policy);
    expect(result).toMatchObject({ outcome: 'created', posts: 2 });
    expect(result.run?.runId).not.toBe(runsOf(fake, 'req-branch').find((r) => r.headBranch === 'evil')?.id);
  });
});
