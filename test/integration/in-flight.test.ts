import { afterEach, describe, expect, it } from 'vitest';
import { ADA, ask, buttonData, EVE, eventually, type Harness, startHarness } from '../harness.ts';
import { deployment } from '../store/store-contract-fixtures.ts';

/** Two admins, so two people can each hold an open request for production. */
const TWO_ADMINS = { ADMIN_TELEGRAM_IDS: `${ADA.id},${EVE.id}` };

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const dispatches = (harness: Harness) =>
  harness.github.requests.filter(
    (r) => r.method === 'POST' && r.path.endsWith('/dispatches') && r.status < 300,
  );

/** The Confirm message a `/deploy` got, and the data of its Deploy button. */
async function request(harness: Harness, who: typeof ADA, text: string) {
  expect(await ask(harness, who, text)).toContain('Deploy to production');
  const message = harness.botMessages(who.id).at(-1);
  if (!message) throw new Error('no confirmation');
  return { message, data: buttonData(message, 'Deploy') };
}

describe('one deployment at a time per environment', () => {
  it('refuses a Confirm pressed after another request to the same environment was confirmed', async () => {
    h = await startHarness({ env: TWO_ADMINS });
    const ada = await request(h, ADA, '/deploy production');
    const eve = await request(h, EVE, '/deploy production');
    await h.press(ADA, ada.message.message_id, ada.data);
    await eventually(() => dispatches(h as Harness).length === 1, 15_000, 'Ada’s dispatch');

    await h.press(EVE, eve.message.message_id, eve.data);
    const refusal = await eventually(
      () => h?.telegram.answeredCallbacks.find((a) => a.text?.includes('started since you asked')),
      15_000,
      'the refusal of Eve’s Confirm',
    );
    expect(refusal.text).toContain('A deployment to production started since you asked');
    // Eve's request ends, saying why; GitHub got one dispatch, not two queued runs.
    await eventually(
      () =>
        h
          ?.botMessages(EVE.id)
          .some((m) => m.text.includes('A deployment to production started since you asked')),
      15_000,
      'Eve’s request ended',
    );
    expect(dispatches(h)).toHaveLength(1);
    const audit = await h.audit();
    expect(audit.some((a) => a.action === 'deploy_refused' && a.outcome === 'in_flight')).toBe(true);
  });

  it('lets one of two Confirms pressed at the same moment through, never both', async () => {
    h = await startHarness({ env: TWO_ADMINS });
    const ada = await request(h, ADA, '/deploy production');
    const eve = await request(h, EVE, '/deploy production');
    await Promise.all([
      h.press(ADA, ada.message.message_id, ada.data),
      h.press(EVE, eve.message.message_id, eve.data),
    ]);
    await eventually(() => dispatches(h as Harness).length >= 1, 15_000, 'a dispatch');
    await eventually(() => h?.telegram.answeredCallbacks.length === 2, 15_000, 'both presses answered');
    // Time for a second dispatch to show if one were under way.
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(dispatches(h)).toHaveLength(1);
    const refused = (await h.audit()).filter((a) => a.action === 'deploy_refused');
    expect(refused.map((a) => a.outcome)).toEqual(['in_flight']);
  });

  it('sees a run in flight behind any number of open requests', async () => {
    h = await startHarness({ env: TWO_ADMINS });
    const store = h.service.deps.store;
    const ada = await request(h, ADA, '/deploy production');
    // Twenty-one open requests, all newer than Ada's: more than a page of unfinished records.
    const [adaRecord] = await store.listDeployments({ environment: 'production' });
    for (let i = 1; i <= 21; i++)
      await store.insertDeployment(
        deployment({
          service: adaRecord?.service ?? '',
          environment: 'production',
          chatId: null,
          createdAt: (adaRecord?.createdAt ?? 0) + i,
        }),
      );
    await h.press(ADA, ada.message.message_id, ada.data);
    await eventually(
      async () => (await store.listDeployments({ states: ['dispatched'] })).length === 1,
      15_000,
      'Ada’s deployment dispatched',
    );
    expect(await ask(h, EVE, '/deploy production')).toContain(
      'A deployment to production is already dispatched',
    );
  });
});
