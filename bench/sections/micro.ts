import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { openAuditLog } from '../../src/audit/open-audit-log.ts';
import { applyRunEvent } from '../../src/core/apply-run-event.ts';
import { type DeploymentRecord, emptyDetail } from '../../src/core/deployment.ts';
import type { RunEvent } from '../../src/core/run-events.ts';
import { renderDeployment } from '../../src/telegram/render-deployment.ts';
import { round } from '../lib/stats.ts';
import type { Context } from './context.ts';

export type MicroRow = { name: string; iterations: number; meanMs: number; p50Ms: number; p95Ms: number };

function summarise(name: string, samples: number[]): MicroRow {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
  return {
    name,
    iterations: samples.length,
    meanMs: round(samples.reduce((a, b) => a + b, 0) / samples.length),
    p50Ms: round(at(0.5)),
    p95Ms: round(at(0.95)),
  };
}

function timeEach(n: number, fn: (i: number) => void): number[] {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    fn(i);
    out.push(performance.now() - t);
  }
  return out;
}

const record: DeploymentRecord = {
  id: 'bench',
  service: 'shop',
  environment: 'production',
  action: 'deploy',
  ref: 'main',
  sha: 'a'.repeat(40),
  subject: 'Bench <b>subject</b> & more',
  author: 'Ada',
  requesterId: 1,
  requesterName: 'Ada',
  chatId: 1,
  messageId: 1,
  state: 'in_progress',
  runId: 1,
  runUrl: 'https://github.com/acme/shop/actions/runs/1',
  detail: emptyDetail(),
  createdAt: 0,
  updatedAt: 0,
  dispatchedAt: 0,
  finishedAt: null,
  version: 1,
  deliveredVersion: 1,
};

function jobEvent(i: number): RunEvent {
  return {
    type: 'job',
    job: {
      id: i % 4,
      name: `Job ${i % 4}`,
      status: i % 3 === 0 ? 'completed' : 'in_progress',
      conclusion: i % 3 === 0 ? 'success' : null,
      startedAt: 1,
      completedAt: i % 3 === 0 ? 2 : null,
      url: null,
      steps: Array.from({ length: 8 }, (_, n) => ({
        number: n + 1,
        name: `Step ${n}`,
        status: 'completed' as const,
        conclusion: 'success',
      })),
    },
  };
}

/** The pure hot functions and the audit append, in this process (as `npm run bench` measured them first). */
export async function micro(ctx: Context): Promise<MicroRow[]> {
  const n = ctx.quick ? 5000 : 20_000;
  const rows: MicroRow[] = [];
  let working = record;
  rows.push(
    summarise(
      'applyRunEvent (job report, 8 steps)',
      timeEach(n, (i) => {
        const patch = applyRunEvent(working, jobEvent(i), i);
        if (patch) working = { ...working, ...patch };
      }),
    ),
  );
  rows.push(
    summarise(
      'renderDeployment (4 jobs × 8 steps)',
      timeEach(n, (i) => renderDeployment(working, i)),
    ),
  );
  const dir = await mkdtemp(join(tmpdir(), 'deploybot-bench-'));
  try {
    const audit = await openAuditLog(join(dir, 'audit.jsonl'));
    const samples: number[] = [];
    for (let i = 0; i < (ctx.quick ? 100 : 300); i++) {
      const t = performance.now();
      await audit.append({
        actor_id: 1,
        actor_name: 'Ada',
        action: 'bench',
        environment: 'production',
        sha: null,
        request_id: null,
        outcome: 'ok',
      });
      samples.push(performance.now() - t);
    }
    await audit.close();
    rows.push(summarise('audit append (write + fsync)', samples));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  return rows;
}
