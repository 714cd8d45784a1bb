import { createRequire } from 'node:module';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DeliveryOutcome, deliveryRoute } from '../../src/deploy/handle-delivery.ts';
import { type Harness, startHarness } from '../harness.ts';

const require = createRequire(import.meta.url);
const corpus = (
  require('@octokit/webhooks-examples/api.github.com/index.json') as {
    name: string;
    examples: Record<string, unknown>[];
  }[]
).flatMap((e) => e.examples.map((payload) => ({ event: e.name, payload })));

/** Outcomes the handler reaches from the payload alone, before anything is stored. */
const NOTHING_DONE: DeliveryOutcome[] = ['ignored', 'other_repository', 'other_workflow'];

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(() => h.close());

describe('the look at a delivery before its parse (the route skips what it rules out)', () => {
  it('rules out only deliveries the handler does nothing with, over every example as the service’s', async () => {
    const outcomes: DeliveryOutcome[] = [];
    const route = deliveryRoute(h.service.deps, (_delivery, outcome) => outcomes.push(outcome));
    const ruledOut = new Map<string, number>();
    let index = 0;
    for (const { event, payload } of corpus) {
      // Each example as the service's own (acme/shop), and as deploy.yml's when it is a run.
      const ours: Record<string, unknown> = {
        ...payload,
        repository: { ...(payload.repository as object), full_name: 'acme/shop' },
      };
      const variants = [ours];
      if (event === 'workflow_run')
        variants.push({
          ...ours,
          workflow_run: { ...(ours.workflow_run as object), path: '.github/workflows/deploy.yml' },
        });
      for (const variant of variants) {
        const body = Buffer.from(JSON.stringify(variant));
        if (route.mayConcern(body, event)) continue;
        ruledOut.set(event, (ruledOut.get(event) ?? 0) + 1);
        await route.handleDelivery({ id: `look-${index++}`, name: event, payload: variant });
        expect(NOTHING_DONE, `${event} ruled out, yet handled`).toContain(outcomes.at(-1));
      }
    }
    // Unread events and the CI's runs are ruled out; every workflow_job and deployment_status is read.
    expect(ruledOut.get('push')).toBeGreaterThan(0);
    expect(ruledOut.get('workflow_run')).toBeGreaterThan(0);
    expect(ruledOut.get('workflow_job')).toBeUndefined();
    expect(ruledOut.get('deployment_status')).toBeUndefined();
    expect(await h.service.deps.store.listDeployments({})).toEqual([]);
  });
});
