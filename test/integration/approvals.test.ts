import { afterEach, describe, expect, it } from 'vitest';
import { ADA, buttonData, EVE, eventually, type Harness, SAM, testClock } from '../harness.ts';
import {
  BOB,
  GROUP,
  hasButton,
  leakSurfaces,
  linkAccount,
  pressReview,
  reviewsOf,
  startApprovals,
  waitingProduction,
  ZOE,
} from './approvals-support.ts';

let h: Harness;
afterEach(async () => {
  await h?.close();
});

const groupText = (messageId: number) => h.telegram.message(GROUP, messageId)?.text ?? '';

describe('approving production from Telegram, as the GitHub reviewer (#12)', () => {
  it('links by device flow, then a reviewer approves in Telegram, GitHub records them, and the run succeeds; nobody else gets an approval in', async () => {
    h = await startApprovals();
    await linkAccount(h, SAM, 'octo-sam');
    await linkAccount(h, ADA, 'octo-ada');
    await linkAccount(h, BOB, 'octo-bob');
    const { run, played, messageId } = await waitingProduction(h);
    expect(groupText(messageId)).toContain('Waiting for approval');
    const approve = buttonData(h.telegram.message(GROUP, messageId) ?? {}, 'Approve');
    expect(hasButton(h.telegram.message(GROUP, messageId), 'Reject')).toBe(true);

    // A stranger: refused by the bot, with their id; GitHub is not asked.
    expect(await pressReview(h, EVE, messageId, 'Approve')).toEqual({
      text: `Not authorised. Your Telegram id is ${EVE.id}.`,
      alert: true,
    });
    // Zoe is a reviewer on GitHub but has not linked: one line pointing to /link.
    const unlinked = await pressReview(h, ZOE, messageId, 'Approve');
    expect(unlinked.text).toMatch(/^Link your GitHub account first\. .*\/link/);
    // Ada requested it: not_requester refuses her, although GitHub would let octo-ada approve.
    expect((await pressReview(h, ADA, messageId, 'Approve')).text).toContain('You requested this deployment');
    // Bob is linked but no reviewer: GitHub's own reason, and nothing changes.
    const bob = await pressReview(h, BOB, messageId, 'Approve');
    expect(bob).toEqual({
      text: 'GitHub refused: octo-bob is not a required reviewer for the environment production.',
      alert: true,
    });
    expect(reviewsOf(h, run)).toEqual([]);
    expect(h.github.runs.get(run.id)?.pending).not.toBeNull();

    // Sam is: GitHub records octo-sam, with a comment naming the Telegram user, and the run goes on.
    expect(await pressReview(h, SAM, messageId, 'Approve')).toEqual({
      text: 'Approved on GitHub as octo-sam.',
      alert: false,
    });
    expect(reviewsOf(h, run)).toEqual([
      expect.objectContaining({
        environment: 'production',
        state: 'approved',
        login: 'octo-sam',
        comment: expect.stringContaining('Approved in Telegram by Sam (@sam) (Telegram user 1002)'),
      }),
    ]);
    const review = h.github.requests.find(
      (r) => r.operationId === 'actions/review-pending-deployments-for-run' && r.status === 200,
    );
    expect(review?.body).toMatchObject({ state: 'approved', environment_ids: [expect.any(Number)] });
    await played;
    await eventually(() => groupText(messageId).includes('Succeeded'), 15_000, 'success');
    expect(groupText(messageId)).toContain('Approved on GitHub by octo-sam (from Telegram)');
    expect(hasButton(h.telegram.message(GROUP, messageId), 'Approve')).toBe(false);

    // A second press (a stale client still shows the button), by Sam or anyone: nothing harmful, and it says so.
    for (const person of [SAM, ZOE]) {
      expect((await pressReview(h, person, messageId, 'Approve', approve)).text).toBe(
        'This run is no longer waiting for approval. GitHub recorded: approved by octo-sam.',
      );
    }
    expect(reviewsOf(h, run)).toHaveLength(1);

    const audit = await h.audit();
    const lines = audit.map((a) => `${a.action} ${a.outcome}`);
    expect(lines).toEqual(
      expect.arrayContaining([
        'github_link linked:octo-sam',
        'approve_refused forbidden',
        'approve_refused not_linked',
        'approve_refused requester',
        'approve_refused github_refused',
        'approve_submit as:octo-sam',
        'approved recorded:octo-sam',
      ]),
    );
    const surfaces = await leakSurfaces(h, [GROUP, SAM.id, ADA.id, BOB.id, ZOE.id, EVE.id]);
    for (const secret of h.github.oauth.issuedSecrets()) expect(surfaces).not.toContain(secret);
  });

  it('a double tap submits once: the second press of the same reviewer is answered quietly', async () => {
    h = await startApprovals();
    await linkAccount(h, SAM, 'octo-sam');
    const { run, played, messageId } = await waitingProduction(h);
    const [first, second] = await Promise.all([
      pressReview(h, SAM, messageId, 'Approve'),
      pressReview(h, SAM, messageId, 'Approve'),
    ]);
    const texts = [first.text, second.text].sort();
    expect(texts[0]).toBe('Approved on GitHub as octo-sam.');
    expect(texts[1]).toMatch(/^You already approved this run\.$|being sent to GitHub/);
    expect(reviewsOf(h, run)).toHaveLength(1);
    await played;
  });

  it('refreshes an expired token (GitHub answers 401) and approves with the new one', async () => {
    h = await startApprovals();
    await linkAccount(h, SAM, 'octo-sam');
    h.github.oauth.expire('octo-sam');
    const { run, played, messageId } = await waitingProduction(h);
    expect((await pressReview(h, SAM, messageId, 'Approve')).text).toBe('Approved on GitHub as octo-sam.');
    expect(h.github.oauth.refreshRequests).toEqual([
      { login: 'octo-sam', withClientSecret: false, ok: true },
    ]);
    expect(reviewsOf(h, run).map((r) => r.login)).toEqual(['octo-sam']);
    await played;
  });

  it('refreshes a token before it expires, by the bot’s clock', async () => {
    const clock = testClock(Date.now());
    // GitHub's clock and the bot's agree, as they do in life.
    h = await startApprovals({ clock, github: { oauth: { now: clock.now } } });
    await linkAccount(h, SAM, 'octo-sam');
    clock.advance(8 * 3_600_000);
    const { run, played, messageId } = await waitingProduction(h);
    expect((await pressReview(h, SAM, messageId, 'Approve')).text).toBe('Approved on GitHub as octo-sam.');
    expect(h.github.oauth.refreshRequests).toHaveLength(1);
    expect(reviewsOf(h, run)).toHaveLength(1);
    await played;
  });

  it('a revoked link gets GitHub’s refusal and /link; nothing changes until the reviewer links again', async () => {
    h = await startApprovals();
    await linkAccount(h, SAM, 'octo-sam');
    h.github.oauth.revoke('octo-sam');
    const { run, played, messageId } = await waitingProduction(h);
    const answer = await pressReview(h, SAM, messageId, 'Approve');
    expect(answer.text).toMatch(/^GitHub no longer accepts your linked account .*\/link/);
    expect(answer.alert).toBe(true);
    expect(reviewsOf(h, run)).toEqual([]);
    expect(h.github.runs.get(run.id)?.pending).not.toBeNull();
    // The refused vote was taken back: after linking again, the same press goes through.
    await linkAccount(h, SAM, 'octo-sam');
    expect((await pressReview(h, SAM, messageId, 'Approve')).text).toBe('Approved on GitHub as octo-sam.');
    await played;
  });

  it('four eyes: min_reviewers 2 counts distinct linked reviewers and submits the second approval', async () => {
    h = await startApprovals({ approval: '{ min_reviewers: 2, not_requester: true }' });
    await linkAccount(h, SAM, 'octo-sam');
    await linkAccount(h, ZOE, 'octo-zoe');
    await linkAccount(h, BOB, 'octo-bob');
    const { run, played, messageId } = await waitingProduction(h);
    // Bob is no reviewer on GitHub (current_user_can_approve is false): his approval does not count.
    expect((await pressReview(h, BOB, messageId, 'Approve')).text).toMatch(
      /^GitHub says octo-bob cannot approve/,
    );
    expect((await pressReview(h, SAM, messageId, 'Approve')).text).toMatch(/^Approval counted: 1 of 2\./);
    await eventually(
      () => groupText(messageId).includes('Approvals in Telegram: octo-sam (1 of 2)'),
      10_000,
      'count',
    );
    expect((await pressReview(h, SAM, messageId, 'Approve')).text).toBe('You already approved this run.');
    expect(reviewsOf(h, run)).toEqual([]);
    expect((await pressReview(h, ZOE, messageId, 'Approve')).text).toBe('Approved on GitHub as octo-zoe.');
    expect(reviewsOf(h, run)).toEqual([
      expect.objectContaining({
        login: 'octo-zoe',
        comment: expect.stringContaining('2 of 2 required): octo-sam, octo-zoe'),
      }),
    ]);
    await played;
    await eventually(
      () => groupText(messageId).includes('Approved on GitHub by octo-zoe'),
      10_000,
      'recorded',
    );
  });

  it('GitHub stays the judge: prevent self-review refuses the reviewer who started the run, and a rejection fails it', async () => {
    // The bot's token belongs to octo-zoe, so GitHub counts her as the one who started the run.
    h = await startApprovals({ github: { patLogin: 'octo-zoe' }, preventSelfReview: true });
    await linkAccount(h, ZOE, 'octo-zoe');
    await linkAccount(h, SAM, 'octo-sam');
    const { run, played, messageId } = await waitingProduction(h);
    const zoe = await pressReview(h, ZOE, messageId, 'Approve');
    expect(zoe.text).toMatch(/^GitHub refused: Self-review is not allowed on the environment production/);
    expect(reviewsOf(h, run)).toEqual([]);
    expect((await pressReview(h, SAM, messageId, 'Reject')).text).toBe('Rejected on GitHub as octo-sam.');
    await played;
    expect(h.github.runs.get(run.id)?.conclusion).toBe('failure');
    await eventually(
      () => groupText(messageId).includes('Rejected on GitHub by octo-sam'),
      10_000,
      'rejected',
    );
    const audit = (await h.audit()).map((a) => `${a.action} ${a.outcome}`);
    expect(audit).toEqual(
      expect.arrayContaining(['reject_submit as:octo-sam', 'rejected recorded:octo-sam']),
    );
  });

  it('/link only in a private chat; /whoami shows the link; /unlink revokes the token and forgets it', async () => {
    h = await startApprovals();
    await h.say(SAM, '/link', GROUP);
    await eventually(
      () => h.botMessages(GROUP).some((m) => m.text.includes('private chat')),
      10_000,
      'refusal',
    );
    await linkAccount(h, SAM, 'octo-sam');
    await h.say(SAM, '/whoami');
    await eventually(
      () => h.botMessages(SAM.id).at(-1)?.text.includes('GitHub: linked as octo-sam'),
      10_000,
      'whoami',
    );
    expect(h.github.oauth.liveTokens('octo-sam')).toHaveLength(1);
    await h.say(SAM, '/unlink');
    await eventually(
      () =>
        h.botMessages(SAM.id).at(-1)?.text === 'Unlinked GitHub account octo-sam; GitHub revoked its token.',
      10_000,
      'unlink',
    );
    expect(h.github.oauth.liveTokens('octo-sam')).toEqual([]);
    expect(await h.service.deps.store.getLinkedAccount(SAM.id)).toBeNull();
    const revoke = h.github.requests.find((r) => r.operationId === 'credentials/revoke');
    expect(revoke?.status).toBe(202);
    await h.say(SAM, '/unlink');
    await eventually(
      () => h.botMessages(SAM.id).at(-1)?.text.includes('No GitHub account is linked'),
      10_000,
      'again',
    );
    const audit = (await h.audit()).map((a) => `${a.action} ${a.outcome}`);
    expect(audit).toEqual(
      expect.arrayContaining(['github_link linked:octo-sam', 'github_unlink unlinked:octo-sam']),
    );
  });

  it('a code declined at GitHub, or left to expire, links nothing and says so', async () => {
    h = await startApprovals({ github: { oauth: { codeLifetimeSeconds: 1 } } });
    await h.say(SAM, '/link');
    const shown = await eventually(
      () => h.botMessages(SAM.id).find((m) => m.text.includes('Enter the code')),
      10_000,
      'code',
    );
    h.github.oauth.deny(/Enter the code ([A-Z]{4}-[A-Z]{4})/.exec(shown.text)?.[1] ?? '');
    await eventually(
      () => h.botMessages(SAM.id).at(-1)?.text === 'You declined at GitHub; nothing was linked.',
      10_000,
      'declined',
    );
    await h.say(SAM, '/link');
    await eventually(
      () => h.botMessages(SAM.id).at(-1)?.text.startsWith('The code expired before it was entered at GitHub'),
      10_000,
      'expired',
    );
    expect(await h.service.deps.store.getLinkedAccount(SAM.id)).toBeNull();
    const audit = (await h.audit()).map((a) => `${a.action} ${a.outcome}`);
    expect(audit).toEqual(
      expect.arrayContaining(['github_link refused:denied', 'github_link refused:expired']),
    );
  });
});
