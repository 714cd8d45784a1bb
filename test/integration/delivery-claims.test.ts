import { afterEach, describe, expect, it } from 'vitest';
import { signWebhook } from '../fakes/github-webhooks.ts';
import { eventually, GITHUB_SECRET, type Harness, SAM, startHarness } from '../harness.ts';

// Issue #16: an organisation's webhook sends every repository's events, and most of this
// repository's are of other workflows or of runs no deployment follows. Those are answered after
// pure checks and a read, without claiming their X-GitHub-Delivery (no write per delivery); a
// delivery that takes effect is claimed first, so a repeat still has no second effect.

let h: Harness;
afterEach(async () => {
  await h?.close();
});

const post = (harness: Harness, event: string, id: string, payload: unknown) => {
  const body = JSON.stringify(payload);
  return fetch(`${harness.service.url}/github/webhook`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'x-github-event': event,
      'x-github-delivery': id,
      'x-hub-signature-256': signWebhook(GITHUB_SECRET, body),
    },
    body,
  });
};

const job = (runId: number, step: string) => ({
  action: 'in_progress',
  workflow_job: {
    id: 77,
    run_id: runId,
    name: 'Deploy',
    status: 'in_progress',
    conclusion: null,
    started_at: new Date().toISOString(),
    completed_at: null,
    html_url: null,
    steps: [{ name: step, status: 'in_progress', conclusion: null, number: 1 }],
  },
  repository: { full_name: 'acme/shop' },
});

describe('delivery ids are claimed only by deliveries that take effect', () => {
  it('claims nothing for other workflows and unfollowed runs; claims, and applies once, the rest', async () => {
    h = await startHarness();
    const store = h.service.deps.store;
    const otherWorkflow = {
      action: 'completed',
      workflow_run: {
        id: 4242,
        status: 'completed',
        conclusion: 'success',
        html_url: 'https://github.com/acme/shop/actions/runs/4242',
        updated_at: new Date().toISOString(),
        path: '.github/workflows/test.yml',
        display_title: 'CI',
      },
      repository: { full_name: 'acme/shop' },
    };
    expect((await post(h, 'workflow_run', 'd-ci', otherWorkflow)).status).toBe(200);
    expect((await post(h, 'workflow_job', 'd-unfollowed', job(4242, 'Test'))).status).toBe(200);
    // Neither id was claimed: the store takes them now.
    expect(await store.rememberDelivery('github', 'd-ci', Date.now())).toBe(true);
    expect(await store.rememberDelivery('github', 'd-unfollowed', Date.now())).toBe(true);

    await h.say(SAM, '/deploy staging');
    const run = await eventually(() => h.github.runs.list()[0], 15_000, 'run');
    const record = await eventually(() => store.findDeploymentByRunId(run.id), 15_000, 'record of the run');
    expect((await post(h, 'workflow_job', 'd-deploy', job(run.id, 'Deploy over SSH'))).status).toBe(200);
    const applied = await store.getDeployment(record.id);
    expect(applied?.version).toBeGreaterThan(record.version);
    // The same delivery again: answered, no second effect, and its id is taken.
    expect((await post(h, 'workflow_job', 'd-deploy', job(run.id, 'Deploy over SSH again'))).status).toBe(
      200,
    );
    expect((await store.getDeployment(record.id))?.version).toBe(applied?.version);
    expect(await store.rememberDelivery('github', 'd-deploy', Date.now())).toBe(false);
  });
});
