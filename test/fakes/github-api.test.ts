import { Octokit } from '@octokit/rest';
import { exportSPKI, generateKeyPair, SignJWT } from 'jose';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type FakeGitHub, startFakeGitHub } from './github-api.ts';

const TOKEN = 'ghp_test_0123456789abcdef';
const INPUTS = {
  environment: 'staging',
  sha: '',
  action: 'deploy',
  request_id: 'req-1',
  requested_by: 'Ada (@ada)',
};

let gh: FakeGitHub;
let octokit: Octokit;
const repo = { owner: 'acme', repo: 'shop' };

/** The status and message of a request Octokit rejects. */
async function failure(promise: Promise<unknown>): Promise<{ status: number; message: string }> {
  try {
    await promise;
  } catch (error) {
    const e = error as { status: number; response?: { data?: { message?: string } } };
    return { status: e.status, message: e.response?.data?.message ?? '' };
  }
  throw new Error('the request succeeded');
}

beforeEach(async () => {
  gh = await startFakeGitHub({ ...repo, token: TOKEN, validateResponses: true });
  octokit = new Octokit({ auth: TOKEN, baseUrl: gh.url });
});

afterEach(async () => {
  await gh.close();
});

describe('fake GitHub REST API', () => {
  it('resolves a branch, a tag and a short sha to the same commit, shaped like GitHub', async () => {
    const sha = gh.repo.commit({
      branch: 'main',
      message: 'Fix checkout <b>bug</b> & totals',
      author: 'Ada Lovelace',
      login: 'ada',
    });
    gh.repo.tag('v1.2.0', sha);
    for (const ref of ['main', 'v1.2.0', sha.slice(0, 7), sha]) {
      const { data } = await octokit.rest.repos.getCommit({ ...repo, ref });
      expect(data.sha).toBe(sha);
      expect(data.commit.message).toBe('Fix checkout <b>bug</b> & totals');
      expect(data.commit.author?.name).toBe('Ada Lovelace');
      expect(data.author?.login).toBe('ada');
      expect(data.html_url).toBe(`https://github.com/acme/shop/commit/${sha}`);
    }
    const { data: repository, headers } = await octokit.rest.repos.get(repo);
    expect(repository.full_name).toBe('acme/shop');
    expect(repository.default_branch).toBe('main');
    expect(headers['x-ratelimit-limit']).toBe('5000');
    expect(headers['x-github-request-id']).toMatch(/^[0-9A-F]+:[0-9A-F]+:[0-9A-F]+$/);
    expect(gh.violations).toEqual([]);
  });

  it('answers an unknown ref with GitHub 422 text and a wrong repo with 404', async () => {
    expect(await failure(octokit.rest.repos.getCommit({ ...repo, ref: 'nope' }))).toEqual({
      status: 422,
      message: 'No commit found for SHA: nope',
    });
    expect(await failure(octokit.rest.repos.get({ owner: 'acme', repo: 'other' }))).toEqual({
      status: 404,
      message: 'Not Found',
    });
    const bad = new Octokit({ auth: 'ghp_wrong', baseUrl: gh.url });
    expect(await failure(bad.rest.repos.get(repo))).toEqual({ status: 401, message: 'Bad credentials' });
  });

  it('compares two refs', async () => {
    const base = gh.repo.commit({ branch: 'main', message: 'one' });
    gh.repo.commit({ branch: 'main', message: 'two', login: 'ada' });
    const head = gh.repo.commit({ branch: 'main', message: 'three', login: 'bob' });
    const { data } = await octokit.rest.repos.compareCommitsWithBasehead({
      ...repo,
      basehead: `${base}...${head}`,
    });
    expect(data).toMatchObject({ status: 'ahead', ahead_by: 2, behind_by: 0, total_commits: 2 });
    expect(data.commits.map((c) => c.commit.message)).toEqual(['two', 'three']);
    expect(data.commits.map((c) => c.author?.login)).toEqual(['ada', 'bob']);
    const back = await octokit.rest.repos.compareCommitsWithBasehead({
      ...repo,
      basehead: `${head}...${base}`,
    });
    expect(back.data).toMatchObject({ status: 'behind', ahead_by: 0, behind_by: 2 });
    gh.repo.branch('feature', base);
    const side = gh.repo.commit({ branch: 'feature', message: 'side' });
    const diverged = await octokit.rest.repos.compareCommitsWithBasehead({
      ...repo,
      basehead: `main...${side}`,
    });
    expect(diverged.data).toMatchObject({ status: 'diverged', ahead_by: 1, behind_by: 2 });
    expect(diverged.data.merge_base_commit.sha).toBe(base);
    expect(
      (await failure(octokit.rest.repos.compareCommitsWithBasehead({ ...repo, basehead: 'main...zz' })))
        .status,
    ).toBe(404);
    expect(gh.violations).toEqual([]);
  });

  it('dispatches with and without return_run_details, and the run carries the run-name', async () => {
    const sha = gh.repo.commit({ branch: 'develop', message: 'Feature' });
    const inputs = { ...INPUTS, sha };
    const withDetails = await octokit.rest.actions.createWorkflowDispatch({
      ...repo,
      workflow_id: 'deploy.yml',
      ref: 'main',
      inputs,
      return_run_details: true,
    });
    expect(withDetails.status).toBe(200);
    const { workflow_run_id: runId } = withDetails.data as { workflow_run_id: number; html_url: string };
    const { data: run } = await octokit.rest.actions.getWorkflowRun({ ...repo, run_id: runId });
    expect(run).toMatchObject({
      status: 'queued',
      event: 'workflow_dispatch',
      head_branch: 'main',
      name: 'Deploy',
      path: '.github/workflows/deploy.yml',
      run_attempt: 1,
      display_title: `Deploy staging ${sha.slice(0, 7)} [req-1]`,
    });
    const plain = await octokit.rest.actions.createWorkflowDispatch({
      ...repo,
      workflow_id: 'deploy.yml',
      ref: 'main',
      inputs,
    });
    expect(plain.status).toBe(204);
    const list = await octokit.rest.actions.listWorkflowRuns({
      ...repo,
      workflow_id: 'deploy.yml',
      event: 'workflow_dispatch',
      per_page: 1,
    });
    expect(list.data.total_count).toBe(2);
    expect(list.data.workflow_runs).toHaveLength(1);
    expect(list.data.workflow_runs[0]?.id).toBeGreaterThan(runId);
    expect(list.headers.link).toContain('rel="next"');
    const created = await octokit.rest.actions.listWorkflowRunsForRepo({
      ...repo,
      created: '>=2000-01-01',
      status: 'queued',
    });
    expect(created.data.total_count).toBe(2);
    expect(gh.violations).toEqual([]);
  });

  it('refuses bad dispatches with the texts GitHub sends', async () => {
    const sha = gh.repo.commit({ message: 'x' });
    const base = { ...repo, workflow_id: 'deploy.yml', ref: 'main' };
    expect(
      await failure(
        octokit.rest.actions.createWorkflowDispatch({ ...base, inputs: { ...INPUTS, sha, x: '1' } }),
      ),
    ).toEqual({
      status: 422,
      message: 'Unexpected inputs provided: ["x"]',
    });
    const { sha: _omitted, ...missing } = { ...INPUTS, sha };
    expect(await failure(octokit.rest.actions.createWorkflowDispatch({ ...base, inputs: missing }))).toEqual({
      status: 422,
      message: "Required input 'sha' not provided",
    });
    expect(
      await failure(
        octokit.rest.actions.createWorkflowDispatch({
          ...base,
          ref: 'no-such-branch',
          inputs: { ...INPUTS, sha },
        }),
      ),
    ).toEqual({ status: 422, message: 'No ref found for: no-such-branch' });
    expect(
      (
        await failure(
          octokit.rest.actions.createWorkflowDispatch({
            ...base,
            workflow_id: 'other.yml',
            inputs: { ...INPUTS, sha },
          }),
        )
      ).status,
    ).toBe(404);
    const numeric = { ...INPUTS, sha, request_id: 7 } as unknown as Record<string, string>;
    expect(
      (await failure(octokit.rest.actions.createWorkflowDispatch({ ...base, inputs: numeric }))).status,
    ).toBe(422);
    expect(gh.violations).toEqual([]);
  });

  it('records a body GitHub schema rejects as a violation and answers 422 Invalid request', async () => {
    const result = await failure(
      octokit.request('POST /repos/{owner}/{repo}/actions/workflows/{workflow_id}/dispatches', {
        ...repo,
        workflow_id: 'deploy.yml',
        ref: 42 as unknown as string,
      }),
    );
    expect(result.status).toBe(422);
    expect(result.message).toMatch(/^Invalid request\.\n\n.*ref/s);
    expect(gh.violations).toHaveLength(1);
    expect(gh.violations[0]).toMatchObject({ kind: 'request', method: 'POST' });
    expect((await failure(octokit.request('GET /repos/{owner}/{repo}/no-such-thing', repo))).status).toBe(
      404,
    );
    expect(gh.violations[1]).toMatchObject({ kind: 'route' });
    const many = Object.fromEntries(Array.from({ length: 26 }, (_, i) => [`k${i}`, 'v']));
    const tooMany = await failure(
      octokit.rest.actions.createWorkflowDispatch({
        ...repo,
        workflow_id: 'deploy.yml',
        ref: 'main',
        inputs: many,
      }),
    );
    expect(tooMany.status).toBe(422);
    expect(tooMany.message).toMatch(/^Invalid request\.\n\n.*25/s);
    expect(gh.violations).toHaveLength(3);
  });

  it('refuses return_run_details like GitHub Enterprise Server 3.20', async () => {
    const ghes = await startFakeGitHub({ ...repo, token: TOKEN, supportsReturnRunDetails: false });
    try {
      const client = new Octokit({ auth: TOKEN, baseUrl: ghes.url });
      const sha = ghes.repo.commit({ message: 'x' });
      const inputs = { ...INPUTS, sha };
      const params = { ...repo, workflow_id: 'deploy.yml', ref: 'main', inputs };
      expect(
        await failure(client.rest.actions.createWorkflowDispatch({ ...params, return_run_details: true })),
      ).toEqual({
        status: 422,
        message: 'Invalid request.\n\n"return_run_details" is not a permitted key.',
      });
      expect((await client.rest.actions.createWorkflowDispatch(params)).status).toBe(204);
      expect(ghes.runs.list()).toHaveLength(1);
    } finally {
      await ghes.close();
    }
  });

  it('refuses a dispatch to a token without actions write', async () => {
    const limited = await startFakeGitHub({ ...repo, token: TOKEN, permissions: { actions: 'read' } });
    try {
      const client = new Octokit({ auth: TOKEN, baseUrl: limited.url });
      const sha = limited.repo.commit({ message: 'x' });
      const params = { ...repo, workflow_id: 'deploy.yml', ref: 'main', inputs: { ...INPUTS, sha } };
      expect(await failure(client.rest.actions.createWorkflowDispatch(params))).toEqual({
        status: 403,
        message: 'Resource not accessible by personal access token',
      });
      expect((await client.rest.actions.listWorkflowRunsForRepo(repo)).status).toBe(200);
    } finally {
      await limited.close();
    }
  });

  it('follows the 302 to the job log once the job completed, and refuses to cancel a completed run', async () => {
    const sha = gh.repo.commit({ message: 'x' });
    await octokit.rest.actions.createWorkflowDispatch({
      ...repo,
      workflow_id: 'deploy.yml',
      ref: 'main',
      inputs: { ...INPUTS, sha },
    });
    const [run] = gh.runs.list();
    if (!run) throw new Error('no run');
    const manual = gh.simulate(run.id, 'health_fail_rollback', { manual: true });
    for (let i = 0; i < 6; i++) await gh.advance(run.id);
    const resolve = run.jobs[0];
    if (!resolve) throw new Error('no job');
    expect(resolve.status).not.toBe('completed');
    expect(
      (await failure(octokit.rest.actions.downloadJobLogsForWorkflowRun({ ...repo, job_id: resolve.id })))
        .status,
    ).toBe(404);
    while (await gh.advance(run.id)) {
      // play to the end
    }
    await manual;
    const { data: jobs } = await octokit.rest.actions.listJobsForWorkflowRun({ ...repo, run_id: run.id });
    const deploy = jobs.jobs.find((j) => j.name === 'Deploy (staging)');
    expect(deploy).toMatchObject({ status: 'completed', conclusion: 'failure' });
    const logs = await octokit.rest.actions.downloadJobLogsForWorkflowRun({
      ...repo,
      job_id: deploy?.id ?? 0,
    });
    expect(logs.url).toMatch(new RegExp(`^${gh.url}/_logs/\\d+\\?sig=[0-9a-f]+$`));
    const text = String(logs.data);
    const lines = text.trim().split('\n');
    expect(lines.every((l) => /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{7}Z /.test(l))).toBe(true);
    expect(text).toContain('##[error]Health check failed');
    expect(text).toMatch(/[<&]/);
    expect(lines.slice(-4).join('\n')).toContain('Rollback complete');
    const unsigned = await fetch(`${gh.url}/_logs/${deploy?.id}?sig=forged`);
    expect(unsigned.status).toBe(403);
    expect(await failure(octokit.rest.actions.cancelWorkflowRun({ ...repo, run_id: run.id }))).toEqual({
      status: 409,
      message: 'Cannot cancel a workflow run that is completed.',
    });
    expect(gh.violations).toEqual([]);
  });

  it('issues installation tokens to a GitHub App with a valid RS256 JWT, refuses a bad one', async () => {
    const { publicKey, privateKey } = await generateKeyPair('RS256');
    const app = { appId: 123, installationId: 456, publicKeyPem: await exportSPKI(publicKey) };
    const withApp = await startFakeGitHub({ ...repo, token: TOKEN, app, validateResponses: true });
    try {
      const now = Math.floor(Date.now() / 1000);
      const jwt = await new SignJWT({})
        .setProtectedHeader({ alg: 'RS256' })
        .setIssuer('123')
        .setIssuedAt(now - 30)
        .setExpirationTime(now + 540)
        .sign(privateKey);
      const client = new Octokit({ auth: jwt, baseUrl: withApp.url });
      const { status, data } = await client.rest.apps.createInstallationAccessToken({ installation_id: 456 });
      expect(status).toBe(201);
      expect(data.token).toMatch(/^ghs_/);
      expect(data.permissions).toMatchObject({ actions: 'write' });
      const installation = new Octokit({ auth: data.token, baseUrl: withApp.url });
      expect((await installation.rest.repos.get(repo)).data.full_name).toBe('acme/shop');
      const tooLong = await new SignJWT({})
        .setProtectedHeader({ alg: 'RS256' })
        .setIssuer('123')
        .setIssuedAt()
        .setExpirationTime('1h')
        .sign(privateKey);
      const longClient = new Octokit({ auth: tooLong, baseUrl: withApp.url });
      expect(
        (await failure(longClient.rest.apps.createInstallationAccessToken({ installation_id: 456 }))).status,
      ).toBe(401);
      const { privateKey: otherKey } = await generateKeyPair('RS256');
      const forged = await new SignJWT({})
        .setProtectedHeader({ alg: 'RS256' })
        .setIssuer('123')
        .setIssuedAt()
        .setExpirationTime('9m')
        .sign(otherKey);
      const bad = new Octokit({ auth: forged, baseUrl: withApp.url });
      expect(await failure(bad.rest.apps.createInstallationAccessToken({ installation_id: 456 }))).toEqual({
        status: 401,
        message: 'A JSON web token could not be decoded',
      });
      expect(withApp.violations).toEqual([]);
    } finally {
      await withApp.close();
    }
  });

  it('lists seeded deployments newest first, with statuses newest first', async () => {
    const a = gh.repo.commit({ message: 'a' });
    const b = gh.repo.commit({ message: 'b' });
    gh.environments.set('production', { reviewers: ['lead'], url: 'https://shop.example.com' });
    const first = gh.deployments.seed({
      environment: 'production',
      sha: a,
      statuses: ['in_progress', 'success'],
      creator: 'ada',
      createdAt: '2026-01-01T10:00:00Z',
    });
    gh.deployments.seed({
      environment: 'production',
      sha: b,
      statuses: ['in_progress', 'success'],
      createdAt: '2026-01-02T10:00:00Z',
    });
    gh.deployments.seed({
      environment: 'staging',
      sha: b,
      statuses: ['failure'],
      createdAt: '2026-01-03T10:00:00Z',
    });
    const { data } = await octokit.rest.repos.listDeployments({ ...repo, environment: 'production' });
    expect(data.map((d) => d.sha)).toEqual([b, a]);
    const statuses = await octokit.rest.repos.listDeploymentStatuses({ ...repo, deployment_id: first });
    // The newer success superseded it: GitHub adds `inactive` on top.
    expect(statuses.data.map((s) => s.state)).toEqual(['inactive', 'success', 'in_progress']);
    const envs = await octokit.rest.repos.getAllEnvironments(repo);
    expect(envs.data.environments?.map((e) => e.name).sort()).toEqual(['production', 'staging']);
    expect(gh.violations).toEqual([]);
  });
});
