import { execFileSync } from 'node:child_process';
import { appendFile, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { verifyAudit } from '../../src/audit/verify-audit.ts';
import { AUDIT_FAILED_TEXT } from '../../src/telegram/create-bot.ts';
import { ADA, buttonData, EVE, eventually, type Harness, startHarness } from '../harness.ts';

/**
 * A real full disk: a 512 KiB tmpfs holds the audit log, and a filler file takes the rest. Mounting
 * needs root (as CI has); elsewhere these tests skip, and under CI=true that fails the run.
 */
let mountPoint: string | null = null;
beforeAll(async () => {
  const dir = await mkdtemp(join(tmpdir(), 'deploybot-fulldisk-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=512k', 'tmpfs', dir], { stdio: 'pipe' });
    mountPoint = dir;
  } catch (error) {
    if (process.env.CI === 'true')
      throw new Error(`cannot mount a tmpfs for the full-disk test: ${String(error)}`);
    await rm(dir, { recursive: true, force: true });
  }
});
afterAll(async () => {
  if (!mountPoint) return;
  execFileSync('umount', [mountPoint]);
  await rm(mountPoint, { recursive: true, force: true });
});

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

/** Writes a filler file until the disk says ENOSPC; returns its path. */
async function fillDisk(dir: string): Promise<string> {
  const filler = join(dir, 'filler');
  const chunk = Buffer.alloc(4096, 120);
  for (;;) {
    try {
      await appendFile(filler, chunk);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOSPC') return filler;
      throw error;
    }
  }
}

/**
 * A full disk still takes a few bytes into the audit file's last page (tmpfs gives out whole
 * pages): a stranger knocks (each knock is an audit line) until the trail refuses one.
 */
async function useUpTheLastPage(harness: Harness): Promise<void> {
  for (let knock = 0; knock < 60; knock++) {
    const before = harness.botMessages(EVE.id).length;
    await harness.say(EVE, '/status');
    await eventually(() => harness.botMessages(EVE.id).length > before, 10_000, 'an answer to the stranger');
    if (harness.botMessages(EVE.id).at(-1)?.text === AUDIT_FAILED_TEXT) return;
  }
  throw new Error('the audit trail never ran out of room');
}

const readyz = async (harness: Harness) => {
  const response = await fetch(`${harness.service.url}/readyz`);
  return { status: response.status, text: await response.text() };
};
const dispatches = (harness: Harness) =>
  harness.github.requests.filter((r) => r.path.endsWith('/dispatches'));

describe.skipIf(process.env.CI !== 'true' && process.getuid?.() !== 0)(
  'the audit trail cannot be written',
  () => {
    it('refuses the action with a clear message, dispatches nothing, turns /readyz 503, and recovers with the disk', async () => {
      if (!mountPoint) throw new Error('no tmpfs');
      const auditPath = join(mountPoint, 'audit.jsonl');
      h = await startHarness({
        env: { AUDIT_LOG_PATH: auditPath },
        service: { outbox: { privateIntervalMs: 20 } },
      });
      expect((await readyz(h)).status).toBe(200);
      const filler = await fillDisk(mountPoint);
      await useUpTheLastPage(h);

      await h.say(ADA, '/deploy staging');
      await eventually(
        () => h?.botMessages(ADA.id).some((m) => m.text === AUDIT_FAILED_TEXT),
        10_000,
        'refusal',
      );
      expect(dispatches(h)).toHaveLength(0);
      expect(await readyz(h)).toMatchObject({ status: 503 });
      expect((await readyz(h)).text).toMatch(/audit log cannot be written/);

      await rm(filler);
      await eventually(async () => h && (await readyz(h)).status === 200, 10_000, 'ready again');
      await h.say(ADA, '/deploy staging');
      await eventually(() => h && dispatches(h).length === 1, 10_000, 'dispatch after recovery');
      await eventually(
        async () => {
          const text = await readFile(auditPath, 'utf8');
          return text.includes('"deploy_dispatched"') && verifyAudit(text).ok;
        },
        10_000,
        'an intact chain with the dispatch',
      );
    });

    it('a Confirm pressed while the disk is full dispatches nothing, and the message says why', async () => {
      if (!mountPoint) throw new Error('no tmpfs');
      h = await startHarness({
        env: { AUDIT_LOG_PATH: join(mountPoint, 'confirm.jsonl') },
        service: { outbox: { privateIntervalMs: 20 } },
      });
      await h.say(ADA, '/deploy production');
      const proposal = await eventually(
        () => h?.botMessages(ADA.id).find((m) => m.reply_markup),
        10_000,
        'confirmation',
      );
      const filler = await fillDisk(mountPoint);
      try {
        await useUpTheLastPage(h);
        await h.press(ADA, proposal.message_id, buttonData(proposal, 'Deploy'));
        await eventually(
          () => h?.botMessages(ADA.id).some((m) => m.text === AUDIT_FAILED_TEXT),
          10_000,
          'refusal',
        );
        expect(dispatches(h)).toHaveLength(0);
        await eventually(
          () =>
            h
              ?.botMessages(ADA.id)[0]
              ?.text.includes('The audit trail could not be written, so nothing was dispatched'),
          10_000,
          'the live message says why',
        );
      } finally {
        await rm(filler);
      }
    }, 60_000);

    it('sets a line torn by a crash aside at the next start, records that, and serves', async () => {
      if (!mountPoint) throw new Error('no tmpfs');
      const auditPath = join(mountPoint, 'torn.jsonl');
      h = await startHarness({ env: { AUDIT_LOG_PATH: auditPath } });
      await h.say(ADA, '/whoami');
      await h.say(ADA, '/lock production 1h release freeze');
      await eventually(
        async () => (await readFile(auditPath, 'utf8')).includes('"lock"'),
        10_000,
        'lock audited',
      );
      await h.service.close();
      await appendFile(auditPath, '{"ts":"2026-11-30T10:00:00.000Z","actor_id":10');
      await h.restart();
      const text = await readFile(auditPath, 'utf8');
      expect(verifyAudit(text)).toMatchObject({ ok: true });
      expect(text).toContain('"audit_torn_line_set_aside"');
      const setAside = (await readdir(mountPoint)).filter((f) => f.startsWith('torn.jsonl.torn-'));
      expect(setAside).toHaveLength(1);
      await h.say(ADA, '/unlock production');
      await eventually(
        async () => (await readFile(auditPath, 'utf8')).includes('"unlock"'),
        10_000,
        'unlock audited',
      );
    });
  },
);
