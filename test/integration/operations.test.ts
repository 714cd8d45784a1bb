import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import {
  ADA,
  ask,
  buttonData,
  EVE,
  eventually,
  type Harness,
  SAM,
  startHarness,
  testClock,
} from '../harness.ts';

let h: Harness | undefined;
const servers: Server[] = [];
afterEach(async () => {
  await h?.close();
  h = undefined;
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

const lastText = (harness: Harness, chatId: number) => harness.botMessages(chatId).at(-1)?.text ?? '';
const dispatches = (harness: Harness | undefined) =>
  (harness?.github.requests ?? []).filter(
    (r) => r.method === 'POST' && r.path.endsWith('/dispatches') && r.status < 300,
  );

describe('/rollback', () => {
  it('proposes the last successful deployment before the current one, skipping failed ones, and dispatches a rollback', async () => {
    h = await startHarness();
    const good = h.github.repo.commit({ branch: 'main', message: 'Good old release' });
    const broken = h.github.repo.commit({ branch: 'main', message: 'Broken build' });
    const current = h.github.repo.commit({ branch: 'main', message: 'Current release' });
    h.github.deployments.seed({
      environment: 'production',
      sha: good,
      statuses: ['in_progress', 'success'],
      createdAt: '2026-01-10T10:00:00Z',
    });
    h.github.deployments.seed({
      environment: 'production',
      sha: broken,
      statuses: ['in_progress', 'failure'],
      createdAt: '2026-01-11T10:00:00Z',
    });
    h.github.deployments.seed({
      environment: 'production',
      sha: current,
      statuses: ['in_progress', 'success'],
      createdAt: '2026-01-12T10:00:00Z',
    });
    // The older success is now `inactive` as its latest status: it still counts as successful.
    const text = await ask(h, ADA, '/rollback production');
    expect(text).toContain('Rollback to production');
    expect(text).toContain(good.slice(0, 7));
    expect(text).toContain('Good old release');
    expect(text).toContain(`Now running: ${current.slice(0, 7)} "Current release"`);
    expect(text).not.toContain(broken.slice(0, 7));
    const confirm = h.botMessages(ADA.id).at(-1);
    if (!confirm) throw new Error('no confirmation');
    expect(dispatches(h)).toHaveLength(0);
    await h.press(ADA, confirm.message_id, buttonData(confirm, 'Roll back'));
    await eventually(() => dispatches(h).length === 1, 15_000, 'rollback dispatch');
    expect(dispatches(h)[0]?.body).toMatchObject({
      inputs: { environment: 'production', sha: good, action: 'rollback' },
    });
    const audit = await h.audit();
    expect(audit.map((a) => a.action)).toEqual(
      expect.arrayContaining(['rollback_requested', 'rollback_confirmed', 'rollback_dispatched']),
    );
    expect(h.github.violations).toEqual([]);
  });

  it("uses the commit the bot deployed, not the workflow run's own commit, for /status and /rollback", async () => {
    h = await startHarness();
    // GitHub records a job's deployment with the run's commit (main's head, where deploy.yml runs).
    const mainHead = h.github.repo.commit({ branch: 'main', message: 'Main head' });
    const deployStaging = async () => {
      const dispatched = h?.github.waitForRun((r) => r.inputs.environment === 'staging', 15_000);
      await h?.say(SAM, '/deploy staging');
      const run = await dispatched;
      if (!run) throw new Error('no run');
      await h?.github.simulate(run.id, 'success', { delayMs: 0 });
      await eventually(
        async () => (await h?.service.deps.store.findDeploymentByRunId(run.id))?.state === 'succeeded',
        20_000,
        'staging deploy succeeded',
      );
    };
    const first = h.github.repo.commit({ branch: 'develop', message: 'Develop one' });
    await deployStaging();
    const second = h.github.repo.commit({ branch: 'develop', message: 'Develop two' });
    await deployStaging();
    const status = await ask(h, SAM, '/status');
    expect(status).toContain(`Running ${second.slice(0, 7)} Develop two`);
    expect(status).toContain('by Sam (@sam) (Telegram)');
    expect(status).not.toContain(mainHead.slice(0, 7));
    const proposal = await ask(h, ADA, '/rollback staging');
    expect(proposal).toContain(`Rollback to staging · ${first.slice(0, 7)}`);
    expect(proposal).toContain(`Now running: ${second.slice(0, 7)} "Develop two"`);
  });

  it('says so when there is no earlier deployment, and skips redeploys of the running commit', async () => {
    h = await startHarness();
    expect(await ask(h, ADA, '/rollback staging')).toBe(
      'staging has no successful deployment on GitHub yet: nothing to roll back to.',
    );
    const only = h.github.repo.commit({ branch: 'develop', message: 'Only one' });
    h.github.deployments.seed({
      environment: 'staging',
      sha: only,
      statuses: ['success'],
      createdAt: '2026-01-01T00:00:00Z',
    });
    h.github.deployments.seed({
      environment: 'staging',
      sha: only,
      statuses: ['success'],
      createdAt: '2026-01-02T00:00:00Z',
    });
    expect(await ask(h, ADA, '/rollback staging')).toContain(
      `staging has no earlier successful deployment than the one running now (${only.slice(0, 7)})`,
    );
    expect(await ask(h, ADA, '/rollback')).toContain('Usage: /rollback <environment>');
    expect(await ask(h, ADA, '/rollback moon')).toContain('There is no environment "moon"');
    expect(dispatches(h)).toHaveLength(0);
  });
});

describe('/lock and /unlock', () => {
  it('refuses deploys and rollbacks to a locked environment with who, why and until when, then lifts it', async () => {
    const clock = testClock(Date.parse('2026-01-14T12:00:00Z'));
    h = await startHarness({ clock });
    expect(await ask(h, ADA, '/lock production 2h release freeze')).toContain(
      'production is locked for 2h, until Wed 14:00 UTC: release freeze',
    );
    expect(await ask(h, ADA, '/lock production 1h again')).toContain(
      'production is already locked by Ada (@ada)',
    );
    const refused = await ask(h, ADA, '/deploy production');
    expect(refused).toBe(
      'production is locked by Ada (@ada) until Wed 14:00 UTC (in 2h): release freeze. An admin can override with --force <reason>.',
    );
    expect(await ask(h, ADA, '/rollback production')).toContain('production is locked by Ada (@ada)');
    // Staging is not locked: Sam still deploys there.
    await h.say(SAM, '/deploy staging');
    await eventually(() => dispatches(h).length === 1, 15_000, 'staging dispatch');
    expect(await ask(h, ADA, '/unlock production')).toBe(
      '🔓 production is unlocked (it was locked by Ada (@ada): release freeze).',
    );
    expect(await ask(h, ADA, '/unlock production')).toBe('production is not locked.');
    expect(await ask(h, ADA, '/deploy production')).toContain('Deploy to production');
    const audit = await h.audit();
    const lock = audit.find((a) => a.action === 'lock');
    expect(lock).toMatchObject({ actor_id: ADA.id, environment: 'production' });
    expect(String(lock?.outcome)).toContain('release freeze');
    expect(audit.find((a) => a.action === 'unlock')).toMatchObject({
      actor_id: ADA.id,
      environment: 'production',
    });
    expect(audit.find((a) => a.action === 'deploy_refused')).toMatchObject({ outcome: 'locked' });
  });

  it('refuses bad durations clearly and caps a lock at 7 days', async () => {
    h = await startHarness();
    expect(await ask(h, ADA, '/lock production 8d long')).toContain('A lock lasts at most 7 days');
    expect(await ask(h, ADA, '/lock production 2x oops')).toContain('"2x" is not a duration');
    expect(await ask(h, ADA, '/lock')).toContain('Usage: /lock <environment> [duration] [reason]');
    expect(await ask(h, ADA, '/lock production')).toContain('locked for 4h');
    expect(lastText(h, ADA.id)).toContain('no reason given');
  });

  it('expires on the service clock, and reminds the owner once about 10 minutes before', async () => {
    const clock = testClock(Date.parse('2026-01-14T12:00:00Z'));
    h = await startHarness({ clock });
    await ask(h, ADA, '/lock staging 30m db migration');
    expect(await ask(h, SAM, '/deploy staging')).toContain('staging is locked by Ada (@ada)');
    // No admin hint for a staging user, who cannot override.
    expect(lastText(h, SAM.id)).not.toContain('--force');
    clock.advance(19 * 60_000);
    await h.service.remindLocksNow();
    await new Promise((r) => setTimeout(r, 300));
    expect(h.botMessages(ADA.id).some((m) => m.text.includes('⏰'))).toBe(false);
    clock.advance(2 * 60_000);
    await h.service.remindLocksNow();
    await eventually(() => h?.botMessages(ADA.id).some((m) => m.text.includes('⏰')), 10_000, 'reminder');
    await h.service.remindLocksNow();
    await new Promise((r) => setTimeout(r, 1500));
    const reminders = h.botMessages(ADA.id).filter((m) => m.text.includes('⏰'));
    expect(reminders).toHaveLength(1);
    expect(reminders[0]?.text).toContain(
      'Your lock on staging (db migration) expires in about 9 min, at Wed 12:30 UTC',
    );
    clock.advance(10 * 60_000);
    await h.say(SAM, '/deploy staging');
    await eventually(() => dispatches(h).length === 1, 15_000, 'deploy after expiry');
    expect(await ask(h, ADA, '/unlock staging')).toBe('staging is not locked.');
  });
});

const WINDOWS_YAML = `
environments:
  staging:
    branch: develop
    role: staging
    confirm: false
    refs: ["branch:**", "tag:**", sha]
  production:
    branch: main
    role: admin
    confirm: true
    windows:
      timezone: Europe/Berlin
      allow:
        - days: [mon, tue, wed, thu, fri]
          from: "09:00"
          to: "17:00"
`;

describe('deployment windows and overrides', () => {
  it('opens exactly at from, closes exactly at to, and names the next opening in the zone', async () => {
    // Wednesday 2026-01-14, 08:59:59 in Berlin (UTC+1).
    const clock = testClock(Date.parse('2026-01-14T07:59:59Z'));
    h = await startHarness({ clock, configYaml: WINDOWS_YAML });
    expect(await ask(h, ADA, '/deploy production')).toBe(
      'production is outside its deployment window. Next opening: Wed 09:00 Europe/Berlin. An admin can override with --force <reason>.',
    );
    clock.set(Date.parse('2026-01-14T08:00:00Z'));
    expect(await ask(h, ADA, '/deploy production')).toContain('Deploy to production');
    clock.set(Date.parse('2026-01-14T16:00:00Z'));
    expect(await ask(h, ADA, '/deploy production')).toContain('Next opening: Thu 09:00 Europe/Berlin');
    clock.set(Date.parse('2026-01-16T16:30:00Z'));
    expect(await ask(h, ADA, '/deploy production')).toContain('Next opening: Mon 09:00 Europe/Berlin');
    // Staging has no windows.
    await h.say(SAM, '/deploy staging');
    await eventually(() => dispatches(h).length === 1, 15_000, 'staging dispatch');
  });

  it('keeps 09:00 local across the spring daylight-saving change (Berlin, 29 March 2026)', async () => {
    // Friday 27 March, 17:30 in Berlin (UTC+1): closed until Monday 09:00, which is then UTC+2.
    const clock = testClock(Date.parse('2026-03-27T16:30:00Z'));
    h = await startHarness({ clock, configYaml: WINDOWS_YAML });
    expect(await ask(h, ADA, '/deploy production')).toContain('Next opening: Mon 09:00 Europe/Berlin');
    // 08:00 UTC on Monday would be 09:00 in winter time; after the change it is 10:00, and 07:00 UTC is 09:00.
    clock.set(Date.parse('2026-03-30T06:59:59Z'));
    expect(await ask(h, ADA, '/deploy production')).toContain('Next opening: Mon 09:00 Europe/Berlin');
    clock.set(Date.parse('2026-03-30T07:00:00Z'));
    expect(await ask(h, ADA, '/deploy production')).toContain('Deploy to production');
  });

  it('lets an admin override with a reason (audited), refuses an override without one and any from a non-admin', async () => {
    const clock = testClock(Date.parse('2026-01-17T12:00:00Z')); // a Saturday
    h = await startHarness({ clock, configYaml: WINDOWS_YAML });
    expect(await ask(h, ADA, '/deploy production main --force')).toBe(
      'An override needs a reason, e.g. /deploy production main --force "hotfix for outage". The reason goes into the audit trail.',
    );
    expect(await ask(h, ADA, '/deploy production --force ""')).toContain('An override needs a reason');
    await ask(h, ADA, '/lock staging 1h freeze');
    expect(await ask(h, SAM, '/deploy staging --force "need it"')).toBe(
      'Only admins can override a lock or a deployment window.',
    );
    // Phone keyboards type curly quotes.
    const confirmText = await ask(h, ADA, '/deploy production main --force “hotfix for outage”');
    expect(confirmText).toContain('Deploy to production');
    const confirm = h.botMessages(ADA.id).at(-1);
    if (!confirm) throw new Error('no confirmation');
    const dispatched = h.github.waitForRun((r) => r.inputs.environment === 'production', 15_000);
    await h.press(ADA, confirm.message_id, buttonData(confirm, 'Deploy'));
    const run = await dispatched;
    const audit = await h.audit();
    const override = audit.find((a) => a.action === 'override');
    expect(override).toMatchObject({
      actor_id: ADA.id,
      environment: 'production',
      outcome: 'hotfix for outage',
    });
    expect(override?.request_id).toEqual(expect.stringMatching(/^[A-Za-z0-9-]+$/));
    expect(override?.request_id).toBe(
      (dispatches(h)[0]?.body as { inputs?: { request_id?: string } } | undefined)?.inputs?.request_id,
    );
    await h.github.simulate(run.id, 'success', { delayMs: 0 });
    await eventually(
      async () =>
        (await h?.service.deps.store.listDeployments({ environment: 'production', unfinished: true }))
          ?.length === 0,
      15_000,
      'override run finished',
    );
    // A lock taken after the request stops its Confirm.
    clock.set(Date.parse('2026-01-19T09:00:00Z'));
    await ask(h, ADA, '/deploy production');
    const pending = h.botMessages(ADA.id).at(-1);
    if (!pending) throw new Error('no confirmation');
    clock.advance(60_000);
    await ask(h, ADA, '/lock production 1h incident');
    await h.press(ADA, pending.message_id, buttonData(pending, 'Deploy'));
    await eventually(
      () => h?.telegram.answeredCallbacks.some((a) => a.text?.includes('was locked since you asked')),
      10_000,
      'refused confirm',
    );
    expect(dispatches(h)).toHaveLength(1);
  });
});

describe('/cancel', () => {
  it('says so when nothing is in flight', async () => {
    h = await startHarness();
    expect(await ask(h, ADA, '/cancel staging')).toBe('Nothing is in flight for staging.');
    expect(h.github.requests.some((r) => r.path.endsWith('/cancel'))).toBe(false);
  });

  it('asks to confirm, cancels the run on GitHub, and the live message ends cancelled', async () => {
    h = await startHarness();
    const dispatched = h.github.waitForRun((r) => r.inputs.environment === 'staging', 15_000);
    await h.say(SAM, '/deploy staging');
    const run = await dispatched;
    const played = h.github.simulate(run.id, 'cancel');
    const live = await eventually(() => h?.botMessages(SAM.id).at(-1), 15_000, 'live message');
    const text = await ask(h, ADA, '/cancel staging');
    expect(text).toContain('Cancel the deploy to staging');
    expect(text).toContain('requested by Sam (@sam)');
    const confirm = h.botMessages(ADA.id).at(-1);
    if (!confirm) throw new Error('no confirmation');
    // Only the admin who asked confirms; Sam (not an admin) cannot even keep it.
    await h.press(ADA, confirm.message_id, buttonData(confirm, 'Cancel the run'));
    await eventually(
      () =>
        h?.github.requests.some(
          (r) => r.method === 'POST' && r.path.endsWith(`/runs/${run.id}/cancel`) && r.status === 202,
        ),
      15_000,
      'cancel request',
    );
    await played;
    await eventually(
      () => h?.telegram.message(SAM.id, live.message_id)?.text.includes('Cancelled'),
      20_000,
      'live message cancelled',
    );
    await eventually(
      () => h?.telegram.message(ADA.id, confirm.message_id)?.text.includes('asked GitHub to cancel'),
      10_000,
      'confirmation edited',
    );
    const audit = await h.audit();
    expect(audit.filter((a) => a.action === 'cancel_run').map((a) => a.outcome)).toEqual([
      `attempt run ${run.id}`,
      'accepted',
    ]);
    expect(await ask(h, ADA, '/cancel staging')).toBe('Nothing is in flight for staging.');
  });

  it('explains a run that completed before the Confirm (GitHub 409), and Keep leaves the run alone', async () => {
    h = await startHarness();
    const dispatched = h.github.waitForRun((r) => r.inputs.environment === 'staging', 15_000);
    await h.say(SAM, '/deploy staging');
    const run = await dispatched;
    await ask(h, ADA, '/cancel staging');
    const keep = h.botMessages(ADA.id).at(-1);
    if (!keep) throw new Error('no confirmation');
    await h.press(ADA, keep.message_id, buttonData(keep, 'Keep it running'));
    await eventually(
      () => h?.telegram.answeredCallbacks.some((a) => a.text === 'Kept running.'),
      10_000,
      'kept',
    );
    await ask(h, ADA, '/cancel staging');
    const late = h.botMessages(ADA.id).at(-1);
    if (!late) throw new Error('no confirmation');
    // The run finishes while the admin hesitates; webhooks are dropped so the record is still in flight.
    await h.github.simulate(run.id, 'success', { delivery: { drop: true }, delayMs: 0 });
    await h.press(ADA, late.message_id, buttonData(late, 'Cancel the run'));
    await eventually(
      () =>
        h?.telegram.answeredCallbacks.some(
          (a) => a.text === 'The run has already finished; there is nothing left to cancel.',
        ),
      10_000,
      '409 explained',
    );
    expect(h.github.requests.filter((r) => r.path.endsWith('/cancel')).map((r) => r.status)).toEqual([409]);
  });
});

async function healthServer(handler: 'hang' | 'ok'): Promise<string> {
  const server = createServer((_req, res) => {
    if (handler === 'ok') res.end('ok');
    // 'hang': never answers.
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/health`;
}

describe('/status and /history', () => {
  it('answers in about two seconds with a hanging health URL, shows what runs, in flight and locks, and sets the gauge', async () => {
    const hanging = await healthServer('hang');
    const healthy = await healthServer('ok');
    h = await startHarness({
      env: { STAGING_HEALTH_URL: hanging, PRODUCTION_HEALTH_URL: healthy },
    });
    const outside = h.github.repo.commit({ branch: 'main', message: 'Deployed from the Actions UI' });
    h.github.deployments.seed({
      environment: 'production',
      sha: outside,
      statuses: ['success'],
      creator: 'octocat',
    });
    await h.say(SAM, '/deploy staging');
    await eventually(() => dispatches(h).length === 1, 15_000, 'staging dispatch');
    await ask(h, ADA, '/lock production 1h audit week');
    const started = performance.now();
    const text = await ask(h, SAM, '/status');
    const elapsed = performance.now() - started;
    console.info(`/status with a hanging health URL answered in ${Math.round(elapsed)} ms`);
    expect(elapsed).toBeLessThan(5000);
    expect(text).toContain('staging\nRunning: nothing deployed yet\nHealth: 🔴 down (no answer in 1.5 s');
    expect(text).toMatch(/In flight: Deploy [0-9a-f]{7} · (dispatched|queued) · Sam \(@sam\) · run/);
    expect(text).toContain(`Running ${outside.slice(0, 7)} Deployed from the Actions UI`);
    expect(text).toContain('by octocat (GitHub)');
    expect(text).toMatch(/Health: 🟢 up, \d+ ms/);
    expect(text).toContain('🔒 Locked by Ada (@ada) until');
    expect(text).toContain('audit week');
    const metrics = await (await fetch(`${h.service.url}/metrics`)).text();
    expect(metrics).toContain('health_check_up{env="staging"} 0');
    expect(metrics).toContain('health_check_up{env="production"} 1');
  });

  it('lists the last deployments from GitHub, merged with who asked in Telegram', async () => {
    h = await startHarness();
    const first = h.github.repo.commit({ branch: 'develop', message: 'First' });
    const second = h.github.repo.commit({ branch: 'develop', message: 'Second' });
    h.github.deployments.seed({
      environment: 'staging',
      sha: first,
      statuses: ['in_progress', 'success'],
      creator: 'octocat',
      createdAt: '2026-01-01T10:00:00Z',
    });
    h.github.deployments.seed({
      environment: 'staging',
      sha: second,
      statuses: ['in_progress', 'failure'],
      creator: 'octocat',
      createdAt: '2026-01-02T10:00:00Z',
    });
    const third = h.github.repo.commit({ branch: 'develop', message: 'Third from the bot' });
    const dispatched = h.github.waitForRun((r) => r.inputs.environment === 'staging', 15_000);
    await h.say(SAM, '/deploy staging');
    const run = await dispatched;
    await h.github.simulate(run.id, 'success', { delayMs: 0 });
    await eventually(
      async () => (await h?.service.deps.store.listDeployments({ limit: 1 }))?.[0]?.state === 'succeeded',
      20_000,
      'bot deploy done',
    );
    const text = await ask(h, SAM, '/history staging');
    const lines = text.split('\n');
    expect(lines[0]).toContain('History of staging');
    expect(lines[1]).toMatch(
      new RegExp(
        `^✅ ${third.slice(0, 7)} Third from the bot · succeeded in \\d.* · Sam \\(@sam\\) via Telegram`,
      ),
    );
    expect(lines[2]).toMatch(
      new RegExp(
        `^❌ ${second.slice(0, 7)} \\(${second}\\) · failed in 0s · octocat on GitHub · 2026-01-02 10:00 UTC`,
      ),
    );
    expect(lines[3]).toMatch(new RegExp(`^✅ ${first.slice(0, 7)} .* · succeeded .* · octocat on GitHub`));
    expect(lines).toHaveLength(4);
    expect((await ask(h, SAM, '/history staging 1')).split('\n')).toHaveLength(2);
    expect(await ask(h, SAM, '/history staging 0')).toContain('Usage: /history <environment> [n]');
    expect(await ask(h, SAM, '/history staging lots')).toContain('Usage: /history');
    expect(await ask(h, SAM, '/history staging 51')).toContain('n from 1 to 50');
  });
});

describe('roles', () => {
  it('refuses the admin commands to a staging user, and everything to a stranger', async () => {
    h = await startHarness();
    for (const [command, answer] of [
      ['/rollback production', 'Only admins can roll back.'],
      ['/lock staging 1h', 'Only admins can lock an environment.'],
      ['/unlock staging', 'Only admins can unlock an environment.'],
      ['/cancel staging', 'Only admins can cancel a run.'],
    ] as const) {
      expect(await ask(h, SAM, command)).toBe(answer);
    }
    for (const command of [
      '/status',
      '/history staging',
      '/rollback staging',
      '/lock staging',
      '/unlock staging',
      '/cancel staging',
    ]) {
      expect(await ask(h, EVE, command)).toBe(`Not authorised. Your Telegram id is ${EVE.id}.`);
    }
    const help = await ask(h, SAM, '/help');
    expect(help).toContain('/status');
    expect(help).toContain('/history');
    expect(help).not.toContain('/lock');
    const adminHelp = await ask(h, ADA, '/help');
    expect(adminHelp).toContain('/rollback');
    expect(adminHelp).toContain('/deploy <env> [ref] [--force <reason>]');
    expect(adminHelp).toContain('/lock <env> [duration] [reason]');
    const audit = await h.audit();
    expect(audit.filter((a) => a.outcome === 'unauthorised')).toHaveLength(6);
    expect(audit.filter((a) => a.outcome === 'forbidden' && a.actor_id === SAM.id)).toHaveLength(4);
    expect(h.github.requests.filter((r) => r.method !== 'GET')).toHaveLength(0);
  });
});
