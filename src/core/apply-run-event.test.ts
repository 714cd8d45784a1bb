import { describe, expect, it } from 'vitest';
import { applyRunEvent } from './apply-run-event.ts';
import { type DeploymentRecord, emptyDetail, type JobView } from './deployment.ts';
import type { RunEvent } from './run-events.ts';

const base: DeploymentRecord = {
  id: 'req-1',
  service: 'shop',
  environment: 'production',
  action: 'deploy',
  ref: 'main',
  sha: 'a'.repeat(40),
  subject: 'Subject',
  author: 'Ada',
  requesterId: 1,
  requesterName: 'Ada',
  chatId: 1,
  messageId: 10,
  state: 'dispatched',
  runId: 77,
  runUrl: 'https://github.com/acme/shop/actions/runs/77',
  detail: emptyDetail(),
  createdAt: 0,
  updatedAt: 0,
  dispatchedAt: 1000,
  finishedAt: null,
  version: 1,
  deliveredVersion: 1,
};

const job = (
  id: number,
  name: string,
  status: JobView['status'],
  conclusion: string | null,
  steps: Array<[string, JobView['steps'][number]['status'], string | null]> = [],
): RunEvent => ({
  type: 'job',
  job: {
    id,
    name,
    status,
    conclusion,
    startedAt: 2000 + id,
    completedAt: status === 'completed' ? 9000 + id : null,
    url: null,
    steps: steps.map(([n, s, c], i) => ({ number: i + 1, name: n, status: s, conclusion: c })),
  },
});
const run = (status: string, conclusion: string | null = null): RunEvent => ({
  type: 'run',
  runId: 77,
  runUrl: null,
  status,
  conclusion,
  updatedAt: 20_000,
});

/** A failed deploy whose pipeline rolled back, as GitHub reports it piece by piece. */
const failingRun: RunEvent[] = [
  run('queued'),
  run('in_progress'),
  job(1, 'Resolve', 'queued', null),
  job(1, 'Resolve', 'in_progress', null, [['Set up job', 'in_progress', null]]),
  job(1, 'Resolve', 'completed', 'success', [['Set up job', 'completed', 'success']]),
  job(2, 'Deploy (production)', 'waiting', null),
  { type: 'approval', reviewers: ['lead'], url: null },
  job(2, 'Deploy (production)', 'in_progress', null, [
    ['Deploy over SSH', 'in_progress', null],
    ['Health check', 'queued', null],
    ['Roll back to previous image', 'queued', null],
  ]),
  job(2, 'Deploy (production)', 'in_progress', null, [
    ['Deploy over SSH', 'completed', 'success'],
    ['Health check', 'completed', 'failure'],
    ['Roll back to previous image', 'in_progress', null],
  ]),
  job(2, 'Deploy (production)', 'completed', 'failure', [
    ['Deploy over SSH', 'completed', 'success'],
    ['Health check', 'completed', 'failure'],
    ['Roll back to previous image', 'completed', 'success'],
  ]),
  run('completed', 'failure'),
];

function play(events: RunEvent[]): DeploymentRecord {
  let record = base;
  for (const event of events) {
    const patch = applyRunEvent(record, event, 30_000);
    if (patch) record = { ...record, ...patch, version: record.version + 1 };
  }
  return record;
}

function shuffled<T>(items: T[], seed: number): T[] {
  const out = [...items];
  let s = seed;
  for (let i = out.length - 1; i > 0; i--) {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    const j = s % (i + 1);
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

describe('applyRunEvent', () => {
  it('follows a run in order to rolled_back', () => {
    const states: string[] = [];
    let record = base;
    for (const event of failingRun) {
      const patch = applyRunEvent(record, event, 30_000);
      if (patch) record = { ...record, ...patch };
      states.push(record.state);
    }
    expect(states).toEqual([
      'queued',
      'in_progress',
      'in_progress',
      'in_progress',
      'in_progress',
      'waiting_approval',
      'waiting_approval',
      'in_progress',
      'rolling_back',
      'rolled_back',
      'rolled_back',
    ]);
    expect(record.finishedAt).toBe(20_000);
    expect(record.detail.approval).toBeNull();
  });

  it('ends in the same record for any order of the same events, repeated or not', () => {
    const expected = play(failingRun);
    for (let seed = 1; seed <= 200; seed++) {
      const events = shuffled([...failingRun, ...failingRun.filter((_, i) => (i * seed) % 3 === 0)], seed);
      const result = play(events);
      expect(result.state).toBe(expected.state);
      expect(result.detail.jobs).toEqual(expected.detail.jobs);
      expect(result.finishedAt).toBe(expected.finishedAt);
    }
  });

  it('never moves a completed deployment back', () => {
    const done = play([run('completed', 'success')]);
    expect(done.state).toBe('succeeded');
    expect(applyRunEvent(done, run('in_progress'), 1)).toBeNull();
    const afterJob = applyRunEvent(done, job(1, 'Resolve', 'in_progress', null), 1);
    expect(afterJob?.state).toBeUndefined();
  });

  it('ignores a report about another run and a repeated report', () => {
    const started = play([run('in_progress')]);
    expect(applyRunEvent(started, { ...run('completed', 'success'), runId: 78 } as RunEvent, 1)).toBeNull();
    expect(applyRunEvent(started, run('in_progress'), 1)).toBeNull();
  });

  it('waits for approval again after earlier jobs ran, and leaves it when the job starts', () => {
    const waiting = play(failingRun.slice(0, 7));
    expect(waiting.state).toBe('waiting_approval');
    expect(waiting.detail.approval?.reviewers).toEqual(['lead']);
    const started = play(failingRun.slice(0, 8));
    expect(started.state).toBe('in_progress');
  });

  it('maps conclusions: cancelled, timed out, plain failure without rollback', () => {
    expect(play([run('completed', 'cancelled')]).state).toBe('cancelled');
    expect(play([run('completed', 'timed_out')]).state).toBe('timed_out');
    expect(play([job(1, 'Build image', 'completed', 'failure'), run('completed', 'failure')]).state).toBe(
      'failed',
    );
  });

  it('a rollback the user asked for is not an automatic rollback', () => {
    const rollback = { ...base, action: 'rollback' as const };
    let record = rollback;
    for (const event of [
      job(2, 'Deploy', 'completed', 'success', [['Roll back to previous image', 'completed', 'success']]),
      run('completed', 'success'),
    ]) {
      const patch = applyRunEvent(record, event, 1);
      if (patch) record = { ...record, ...patch };
    }
    expect(record.state).toBe('succeeded');
  });
});
