import { afterEach, describe, expect, it } from 'vitest';
import { eventually, type Harness, startHarness } from '../harness.ts';

let h: Harness;
afterEach(async () => {
  await h?.close();
});

const TEAM_CHAT = -100_555;

describe('deployments started outside Telegram', () => {
  it('appear as one live message in TELEGRAM_CHAT_ID, from the first webhook to the outcome', async () => {
    h = await startHarness({ env: { TELEGRAM_CHAT_ID: String(TEAM_CHAT) } });
    const sha = h.github.repo.commit({ branch: 'develop', message: 'Started from the Actions UI' });
    // Someone runs the workflow by hand from the Actions UI: the bot never saw a request for it.
    const mainHead = h.github.state.resolve('main')?.sha ?? '';
    const run = h.github.state.createRun(
      'main',
      mainHead,
      { environment: 'staging', sha, action: 'deploy', request_id: 'manual-42', requested_by: 'octocat' },
      'octocat',
    );
    await h.github.simulate(run.id, 'success', { delayMs: 20 });
    await eventually(
      () => h.botMessages(TEAM_CHAT).at(-1)?.text.includes('Succeeded'),
      20_000,
      'team chat message',
    );
    const messages = h.botMessages(TEAM_CHAT);
    expect(messages).toHaveLength(1);
    expect(messages[0]?.text).toContain('Deploy to staging');
    expect(messages[0]?.text).toContain('octocat on GitHub');
    // The commit deployed (named in the run's title), not the head of the branch the workflow ran from.
    expect(messages[0]?.text).toContain(sha.slice(0, 7));
    // Groups get at most 20 messages a minute: the fake's flood control never had to step in.
    expect(h.telegram.rateLimited).toBe(0);
  });

  it('are ignored when no TELEGRAM_CHAT_ID is set', async () => {
    h = await startHarness();
    const sha = h.github.repo.commit({ branch: 'develop', message: 'Nobody is told' });
    const run = h.github.state.createRun(
      'main',
      sha,
      { environment: 'staging', sha, action: 'deploy', request_id: 'manual-43', requested_by: 'octocat' },
      'octocat',
    );
    await h.github.simulate(run.id, 'success', { delayMs: 0 });
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(h.telegram.calls.filter((c) => c.method === 'sendMessage')).toHaveLength(0);
    expect(await h.service.deps.store.listDeployments({ limit: 5 })).toHaveLength(0);
  });
});
