import { DatabaseSync } from 'node:sqlite';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ADA, buttonData, eventually, type Harness, startHarness } from '../harness.ts';

// Issue #10: a confirmation consumed before a power cut must stay consumed, or a replayed button
// would dispatch a second time. SQLite guarantees that only with `synchronous = FULL` (in WAL mode,
// NORMAL may lose the last commits on power loss). The service's own connection is checked here.

let h: Harness | undefined;
afterEach(async () => {
  vi.restoreAllMocks();
  await h?.close();
  h = undefined;
});

describe('SQLite durability (issue #10)', () => {
  it('the service’s connection runs with synchronous=FULL in WAL mode', async () => {
    const opened: DatabaseSync[] = [];
    const exec = DatabaseSync.prototype.exec;
    vi.spyOn(DatabaseSync.prototype, 'exec').mockImplementation(function (this: DatabaseSync, sql: string) {
      if (!opened.includes(this)) opened.push(this);
      return exec.call(this, sql);
    });
    h = await startHarness();
    const db = opened.find((d) => d.isOpen && /deploybot\.sqlite$/.test(d.location() ?? ''));
    if (!db) throw new Error('the service opened no SQLite database');
    // 2 = FULL (0 OFF, 1 NORMAL, 3 EXTRA).
    expect(db.prepare('PRAGMA synchronous').get()).toEqual({ synchronous: 2 });
    expect(db.prepare('PRAGMA journal_mode').get()).toEqual({ journal_mode: 'wal' });

    // And a consumed confirmation is refused on replay after a restart (what FULL keeps on power loss).
    h.github.repo.commit({ branch: 'main', message: 'Release' });
    await h.say(ADA, '/deploy production');
    const confirm = await eventually(
      () => h?.botMessages(ADA.id).find((m) => m.text.includes('Deploy to production')),
      15_000,
      'confirmation',
    );
    const data = buttonData(confirm, 'Deploy');
    await h.press(ADA, confirm.message_id, data);
    await eventually(() => (h?.github.runs.list().length ?? 0) === 1, 15_000, 'dispatch');
    await h.restart();
    await h.press(ADA, confirm.message_id, data);
    await eventually(
      () => h?.telegram.answeredCallbacks.at(-1)?.text === 'Already answered.',
      10_000,
      'replay',
    );
    expect(h.github.runs.list()).toHaveLength(1);
  });
});
