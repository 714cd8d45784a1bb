import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Octokit } from '@octokit/rest';
import { Webhooks } from '@octokit/webhooks';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type FakeGitHub, startFakeGitHub } from './github-api.ts';
import { validateWebhook } from './github-openapi.ts';
import { buildWebhook, signWebhook } from './github-webhooks.ts';

const TOKEN = 'ghp_test_simulator';
const SECRET = 'webhook-secret-for-tests';
const repo = { owner: 'acme', repo: 'shop' };

interface Received {
  id: string;
  event: string;
  signature: string;
  userAgent: string;
  body: string;
}

let gh: FakeGitHub;
let octokit: Octokit;
let receiver: Server;
let received: Received[];
let receiverUrl: string;

beforeEach(async () => {
  received = [];
  receiver = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({
        id: String(req.headers['x-github-delivery']),
        event: String(req.headers['x-github-event']),
        signature: String(req.headers['x-hub-signature-256']),
        userAgent: String(req.headers['user-agent']),
        body: Buffer.concat(chunks).toString('utf8'),
      });
      res.writeHead(200).end('ok');
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/github/webhook`;
  gh = await startFakeGitHub({
    ...repo,
    token: TOKEN,
    webhook: { url: receiverUrl, secret: SECRET },
    validateResponses: true,
  });
  octokit = new Octokit({ auth: TOKEN, baseUrl: gh.url });
});

afterEach(async () => {
  await gh.close();
  await new Promise<void>((resolve) => receiver.close(() => resolve()));
});

async function dispatch(environment: string): Promise<number> {
  const sha = gh.repo.commit({
    branch: 'main',
    message: 'Fix checkout <b>bug</b> & totals',
    author: 'Ada Lovelace',
    login: 'ada',
  });
  const { data } = await octokit.rest.actions.createWorkflowDispatch({
    ...repo,
    workflow_id: 'deploy.yml',
    ref: 'main',
    inputs: { environment, sha, action: 'deploy', request_id: `req-${environment}`, requested_by: 'Ada' },
    return_run_details: true,
  });
  return (data as { workflow_run_id: number }).workflow_run_id;
}

/** `event.action` of each delivery, and the status/conclusion it carries. */
function summary(list: Received[]): string[] {
  return list.map((r) => {
    const p = JSON.parse(r.body) as Record<
      string,
      { status?: string; conclusion?: string; state?: string; name?: string }
    >;
    const subject =
      p.workflow_run && r.event === 'workflow_run' ? p.workflow_run : (p.workflow_job ?? p.deployment_status);
    const action = (JSON.parse(r.body) as { action: string }).action;
    return `${r.event}.${action}:${subject?.name ?? ''}:${subject?.status ?? subject?.state ?? ''}:${subject?.conclusion ?? ''}`;
  });
}

/** Schema problems of every delivery, checked against the description's `x-webhooks`. */
function shapeProblems(list: Received[]): string[] {
  return list.flatMap((r) => {
    const payload = JSON.parse(r.body) as { action: string };
    return validateWebhook(r.event, payload.action, payload);
  });
}

describe('fake GitHub run simulator', () => {
  it('plays a successful deployment: signed webhooks that @octokit/webhooks verifies and parses', async () => {
    const runId = await dispatch('staging');
    const run = await gh.simulate(runId, 'success', { build: true });
    expect(run).toMatchObject({ status: 'completed', conclusion: 'success' });
    const webhooks = new Webhooks({ secret: SECRET });
    const seen: string[] = [];
    webhooks.onAny(({ name, payload }) => {
      seen.push(`${name}.${'action' in payload ? payload.action : ''}`);
    });
    for (const r of received) {
      const payload = JSON.parse(r.body) as { action: string };
      expect(validateWebhook(r.event, payload.action, payload)).toEqual([]);
      expect(await webhooks.verify(r.body, r.signature)).toBe(true);
      expect(r.signature).toBe(signWebhook(SECRET, r.body));
      expect(r.userAgent).toMatch(/^GitHub-Hookshot\//);
      expect(r.id).toMatch(/^[0-9a-f-]{36}$/);
      await webhooks.verifyAndReceive({
        id: r.id,
        name: r.event as 'workflow_run',
        payload: r.body,
        signature: r.signature,
      });
    }
    expect(
      await webhooks.verify(received[0]?.body ?? '', signWebhook('wrong', received[0]?.body ?? '')),
    ).toBe(false);
    expect(seen[0]).toBe('workflow_run.requested');
    expect(seen.at(-1)).toBe('workflow_run.completed');
    expect(seen).toContain('deployment.created');
    const lines = summary(received);
    expect(lines.filter((l) => l.startsWith('workflow_job.completed'))).toEqual([
      'workflow_job.completed:Resolve:completed:success',
      'workflow_job.completed:Build image:completed:success',
      'workflow_job.completed:Deploy (staging):completed:success',
    ]);
    expect(lines.filter((l) => l.startsWith('deployment_status'))).toEqual([
      'deployment_status.created::in_progress:',
      'deployment_status.created::success:',
    ]);
    const last = JSON.parse(received.at(-1)?.body ?? '{}') as {
      workflow_run: Record<string, unknown>;
      repository: { full_name: string };
    };
    expect(last.workflow_run).toMatchObject({
      id: runId,
      display_title: expect.stringMatching(/\[req-staging\]$/),
      conclusion: 'success',
    });
    expect(last.repository.full_name).toBe('acme/shop');
    expect(gh.deliveries.every((d) => d.status === 200)).toBe(true);
    const deployments = await octokit.rest.repos.listDeployments({ ...repo, environment: 'staging' });
    expect(deployments.data[0]?.sha).toBe(run.headSha);
    const statuses = await octokit.rest.repos.listDeploymentStatuses({
      ...repo,
      deployment_id: deployments.data[0]?.id ?? 0,
    });
    expect(statuses.data.map((s) => s.state)).toEqual(['success', 'in_progress']);
    expect(statuses.data[0]?.environment_url).toBe('https://staging.shop.example.com');
    expect(gh.violations).toEqual([]);
  });

  it('shows the waiting state in REST and webhooks until a reviewer approves', async () => {
    gh.environments.set('production', { reviewers: ['lead'], url: 'https://shop.example.com' });
    const runId = await dispatch('production');
    const done = gh.simulate(runId, 'success', { manual: true });
    while (await gh.advance(runId)) {
      // until the deploy job waits
    }
    const { data: run } = await octokit.rest.actions.getWorkflowRun({ ...repo, run_id: runId });
    expect(run.status).toBe('waiting');
    const { data: pending } = await octokit.rest.actions.getPendingDeploymentsForRun({
      ...repo,
      run_id: runId,
    });
    expect(pending).toHaveLength(1);
    expect(pending[0]?.environment.name).toBe('production');
    expect(pending[0]?.reviewers.map((r) => (r.reviewer as { login: string }).login)).toEqual(['lead']);
    const waiting = summary(received).filter((l) => l.startsWith('workflow_job.waiting'));
    expect(waiting).toEqual(['workflow_job.waiting:Deploy (production):waiting:']);
    gh.approve(runId);
    while (await gh.advance(runId)) {
      // to the end
    }
    await done;
    expect((await octokit.rest.actions.getWorkflowRun({ ...repo, run_id: runId })).data.conclusion).toBe(
      'success',
    );
    expect((await octokit.rest.actions.getPendingDeploymentsForRun({ ...repo, run_id: runId })).data).toEqual(
      [],
    );
    expect(summary(received).filter((l) => l.startsWith('deployment_status'))).toEqual([
      'deployment_status.created::waiting:',
      'deployment_status.created::in_progress:',
      'deployment_status.created::success:',
    ]);
    expect(shapeProblems(received)).toEqual([]);
    expect(shapeProblems(received)).toEqual([]);
    expect(gh.violations).toEqual([]);
  });

  it('plays a rejection like GitHub: the job fails with no steps, the deployment fails', async () => {
    gh.environments.set('production', { reviewers: ['lead'] });
    const runId = await dispatch('production');
    const run = await gh.simulate(runId, 'rejected');
    expect(run).toMatchObject({ status: 'completed', conclusion: 'failure' });
    const deploy = run.jobs.find((j) => j.name === 'Deploy (production)');
    expect(deploy).toMatchObject({ conclusion: 'failure', steps: [] });
    const lines = summary(received);
    expect(lines).toContain('deployment_status.created::failure:');
    expect(lines.at(-1)).toBe('workflow_run.completed:Deploy:completed:failure');
    expect(shapeProblems(received)).toEqual([]);
  });

  it('fails a build without creating a deployment', async () => {
    const runId = await dispatch('staging');
    const run = await gh.simulate(runId, 'fail_build');
    expect(run.conclusion).toBe('failure');
    expect(run.jobs.map((j) => `${j.name}:${j.conclusion}`)).toEqual([
      'Resolve:success',
      'Build image:failure',
      'Deploy (staging):skipped',
    ]);
    expect((await octokit.rest.repos.listDeployments(repo)).data).toEqual([]);
    expect(shapeProblems(received)).toEqual([]);
  });

  it('records what the receiver answered', async () => {
    const failing = createServer((_req, res) => res.writeHead(500).end('boom'));
    await new Promise<void>((resolve) => failing.listen(0, '127.0.0.1', resolve));
    try {
      gh.setWebhook({ url: `http://127.0.0.1:${(failing.address() as AddressInfo).port}/`, secret: SECRET });
      await gh.simulate(await dispatch('staging'), 'success', { delayMs: 0 });
      expect(gh.deliveries.length).toBeGreaterThan(5);
      expect(new Set(gh.deliveries.map((d) => d.status))).toEqual(new Set([500]));
    } finally {
      await new Promise<void>((resolve) => failing.close(() => resolve()));
    }
  });

  it('cancels a run in flight through the REST API', async () => {
    const runId = await dispatch('staging');
    const done = gh.simulate(runId, 'cancel');
    const deployStep = () => gh.runs.get(runId)?.jobs.find((j) => j.name === 'Deploy (staging)')?.steps[2];
    for (let i = 0; i < 500 && deployStep()?.status !== 'in_progress'; i++) {
      await new Promise((r) => setTimeout(r, 10));
    }
    const { status } = await octokit.rest.actions.cancelWorkflowRun({ ...repo, run_id: runId });
    expect(status).toBe(202);
    const run = await done;
    expect(run.conclusion).toBe('cancelled');
    expect(summary(received).at(-1)).toBe('workflow_run.completed:Deploy:completed:cancelled');
    expect(deployStep()?.name).toBe('Deploy over SSH');
    expect(run.jobs.at(-1)?.steps.map((s) => s.conclusion)).toEqual([
      'success',
      'success',
      'cancelled',
      'skipped',
      'skipped',
    ]);
  });

  it('delivers the same events out of order and some twice with shuffle + duplicates', async () => {
    const plain = await dispatch('staging');
    await gh.simulate(plain, 'success', { delayMs: 0 });
    const natural = summary(received);
    const expected = [...natural].sort();
    received.length = 0;
    const runId = await dispatch('staging');
    await gh.simulate(runId, 'success', {
      delayMs: 0,
      delivery: { shuffle: true, duplicates: 0.5, seed: 7 },
    });
    const ids = received.map((r) => r.id);
    const unique = [...new Map(received.map((r) => [r.id, r])).values()];
    expect(ids.length).toBeGreaterThan(unique.length);
    expect(summary(unique).sort()).toEqual(expected);
    expect(summary(unique)).not.toEqual(
      summary(unique).sort((a, b) => expected.indexOf(a) - expected.indexOf(b)),
    );
    const first = summary(unique)[0];
    expect(first).not.toBe('workflow_run.requested:Deploy:queued:');
  });

  it('sends nothing with drop, yet polling sees the run to completion', async () => {
    const runId = await dispatch('staging');
    const done = gh.simulate(runId, 'success', { delivery: { drop: true } });
    const seen = new Set<string>();
    // Polled as the bot polls, with a pause: a loop without one can outrun the run's own steps.
    for (let i = 0; i < 1000; i++) {
      const { data } = await octokit.rest.actions.getWorkflowRun({ ...repo, run_id: runId });
      seen.add(data.status ?? '');
      if (data.status === 'completed') break;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    await done;
    expect(seen).toContain('completed');
    expect(seen.size).toBeGreaterThan(1);
    expect(received).toEqual([]);
    expect(gh.deliveries).toEqual([]);
  });

  it('plays every dispatch by itself with autoSimulate (the demo)', async () => {
    const auto = await startFakeGitHub({
      ...repo,
      token: TOKEN,
      webhook: { url: receiverUrl, secret: SECRET },
      autoSimulate: { plan: 'success', options: { delayMs: 0 } },
    });
    try {
      const client = new Octokit({ auth: TOKEN, baseUrl: auto.url });
      const next = auto.waitForRun((run) => run.inputs.request_id === 'req-auto');
      const sha = auto.repo.commit({ message: 'auto' });
      const inputs = {
        environment: 'staging',
        sha,
        action: 'deploy',
        request_id: 'req-auto',
        requested_by: 'Ada',
      };
      await client.rest.actions.createWorkflowDispatch({
        ...repo,
        workflow_id: 'deploy.yml',
        ref: 'main',
        inputs,
      });
      const run = await next;
      for (let i = 0; i < 500 && auto.runs.get(run.id)?.status !== 'completed'; i++) {
        await new Promise((r) => setTimeout(r, 10));
      }
      expect(auto.runs.get(run.id)).toMatchObject({ status: 'completed', conclusion: 'success' });
      await expect(auto.waitForRun(() => true, 50)).rejects.toThrow(/no run was dispatched/);
    } finally {
      await auto.close();
    }
  });

  it('builds odd deliveries by hand from the published examples', () => {
    const payload = buildWebhook('workflow_job', 'queued', {
      workflow_job: { id: 1, name: 'Deploy (staging)' },
    });
    expect(payload).toMatchObject({
      action: 'queued',
      workflow_job: { id: 1, name: 'Deploy (staging)', status: 'queued' },
    });
    expect(payload.repository).toBeDefined();
    expect(() => buildWebhook('workflow_run', 'exploded')).toThrow(/no @octokit\/webhooks-examples payload/);
    expect(signWebhook("It's a Secret to Everybody", 'Hello, World!')).toBe(
      'sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17',
    );
  });
});
