import { afterEach, describe, expect, it } from 'vitest';
import { ADA, eventually, type Harness, startHarness } from '../harness.ts';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

describe('a second run of one request', () => {
  it('is cancelled and never followed as a deployment of its own (a dispatch GitHub listed too late, sent again)', async () => {
    h = await startHarness();
    const dispatched = h.github.waitForRun();
    await h.say(ADA, '/deploy staging');
    const first = await dispatched;
    const [record] = await h.service.deps.store.listDeployments({ limit: 1 });
    await eventually(
      async () => (await h?.service.deps.store.getDeployment(record?.id ?? ''))?.runId === first.id,
      10_000,
      'first run attached',
    );
    // GitHub carried out a second POST for the same request: a run with the same request id.
    const second = h.github.state.createRun('main', first.headSha, { ...first.inputs }, 'deploybot');
    void h.github.simulate(second.id, 'success', { delayMs: 0, manual: true });
    await h.github.advance(second.id);
    const cancels = () =>
      h?.github.requests.filter((r) => r.method === 'POST' && r.path.endsWith(`/runs/${second.id}/cancel`)) ??
      [];
    await eventually(() => cancels().length === 1, 10_000, 'second run cancelled');
    expect(await h.service.deps.store.findDeploymentByRunId(second.id)).toBeNull();
    expect((await h.service.deps.store.getDeployment(record?.id ?? ''))?.runId).toBe(first.id);
    expect(h.botMessages(ADA.id)).toHaveLength(1);
    expect(
      (await h.audit()).some((l) => l.action === 'second_run_cancelled' && l.request_id === record?.id),
    ).toBe(true);
  });
});
