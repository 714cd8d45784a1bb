import { afterEach, describe, expect, it } from 'vitest';
import { ADA, ask, type Harness, startHarness } from '../harness.ts';

/**
 * Attacks of someone with write access to the repository (docs/security.md): deployments and
 * statuses created by hand through the API, pointing at runs of their own, and copies of deploy.yml
 * pushed on another branch. None of them may become what /status says runs, what /rollback goes
 * back to, or a deployment the bot follows.
 */
let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const TEAM_CHAT = -100_777;

describe('rollback targets and "running now" come from trusted records only', () => {
  it('ignores deployments a writer created by hand or from a workflow of their own branch', async () => {
    h = await startHarness();
    const good = h.github.repo.commit({ branch: 'main', message: 'Good old release' });
    const current = h.github.repo.commit({ branch: 'main', message: 'Current release' });
    const planted = h.github.repo.commit({ branch: 'evil', message: 'Backdoor' });
    const reviewedElsewhere = h.github.repo.commit({ branch: 'main', message: 'Staging only' });
    h.github.deployments.seed({
      environment: 'production',
      sha: good,
      statuses: ['success'],
      createdAt: '2026-01-10T10:00:00Z',
    });
    // A run of the writer's own copy of deploy.yml on their branch, titled like the real one.
    h.github.deployments.seed({
      environment: 'production',
      sha: planted,
      statuses: ['success'],
      createdAt: '2026-01-11T10:00:00Z',
      via: { branch: 'evil', title: `Deploy production ${planted} [x]` },
    });
    // A deployment made through the REST API, no run at all.
    h.github.deployments.seed({
      environment: 'production',
      sha: planted,
      statuses: ['success'],
      createdAt: '2026-01-11T11:00:00Z',
      via: 'api',
      creator: 'mallory',
    });
    // A real deploy.yml run on main, but of staging: a production deployment pointing at it lies.
    h.github.deployments.seed({
      environment: 'production',
      sha: reviewedElsewhere,
      statuses: ['success'],
      createdAt: '2026-01-11T12:00:00Z',
      via: { title: `Deploy staging ${reviewedElsewhere} [y]` },
    });
    h.github.deployments.seed({
      environment: 'production',
      sha: current,
      statuses: ['success'],
      createdAt: '2026-01-12T10:00:00Z',
    });

    const proposal = await ask(h, ADA, '/rollback production');
    expect(proposal).toContain(`Rollback to production · ${good.slice(0, 7)}`);
    expect(proposal).toContain(`Now running: ${current.slice(0, 7)}`);
    expect(proposal).not.toContain(planted.slice(0, 7));
    expect(proposal).not.toContain(reviewedElsewhere.slice(0, 7));
    const history = await ask(h, ADA, '/history production');
    expect(history.split('\n').filter((l) => l.includes('unverified'))).toHaveLength(3);
  });

  it('never rolls back to a commit the environment’s branch does not hold', async () => {
    h = await startHarness();
    const good = h.github.repo.commit({ branch: 'main', message: 'Good old release' });
    const unmerged = h.github.repo.commit({ branch: 'feature/x', message: 'Never merged' });
    const current = h.github.repo.commit({ branch: 'main', message: 'Current release' });
    for (const [sha, at] of [
      [good, '10'],
      [unmerged, '11'],
      [current, '12'],
    ] as const) {
      h.github.deployments.seed({
        environment: 'production',
        sha,
        statuses: ['success'],
        createdAt: `2026-01-${at}T10:00:00Z`,
      });
    }
    const proposal = await ask(h, ADA, '/rollback production');
    expect(proposal).toContain(`Rollback to production · ${good.slice(0, 7)}`);
    expect(proposal).not.toContain(unmerged.slice(0, 7));
  });

  it('/status says "unknown" when the newest deployment cannot be tied to a trusted run', async () => {
    h = await startHarness();
    const current = h.github.repo.commit({ branch: 'main', message: 'Current release' });
    h.github.deployments.seed({
      environment: 'production',
      sha: current,
      statuses: ['success'],
      createdAt: '2026-01-12T10:00:00Z',
    });
    expect(await ask(h, ADA, '/status')).toContain(
      `Running <code>${current.slice(0, 7)}</code>`.replace(/<\/?code>/g, ''),
    );
    const forged = h.github.repo.commit({ branch: 'evil', message: 'Backdoor' });
    h.github.deployments.seed({
      environment: 'production',
      sha: forged,
      statuses: ['success'],
      createdAt: '2026-01-13T10:00:00Z',
      via: 'api',
      creator: 'mallory',
    });
    const status = await ask(h, ADA, '/status');
    expect(status).toContain(
      'Running: unknown (the latest deployment (by mallory) was not made by the deploy workflow on the default branch)',
    );
    expect(status).not.toContain(forged.slice(0, 7));
  });
});

describe('runs started outside Telegram', () => {
  it('follows only the deploy workflow on the default branch: a copy on another branch shows nowhere and blocks nothing', async () => {
    h = await startHarness({ env: { TELEGRAM_CHAT_ID: String(TEAM_CHAT) } });
    const sha = h.github.repo.commit({ branch: 'evil', message: 'Pretend deploy' });
    const run = h.github.state.createRun(
      'evil',
      sha,
      { environment: 'production', sha, action: 'deploy', request_id: 'spoof-1', requested_by: 'mallory' },
      'mallory',
    );
    run.displayTitle = `Deploy production ${sha} [spoof-1]`;
    // The run starts and stays in progress: each event is delivered, signed, to the bot.
    void h.github.simulate(run.id, 'success', { delayMs: 0, manual: true });
    for (let i = 0; i < 4; i++) await h.github.advance(run.id);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(h.github.deliveries.filter((d) => d.status === 200).length).toBeGreaterThan(0);
    expect(h.botMessages(TEAM_CHAT)).toHaveLength(0);
    expect(await h.service.deps.store.listDeployments({ limit: 5 })).toHaveLength(0);
    // Nothing "in flight" blocks a real deploy to production.
    const proposal = await ask(h, ADA, '/deploy production');
    expect(proposal).toContain('Deploy to production');
    expect(proposal).not.toContain('already');
  });
});
