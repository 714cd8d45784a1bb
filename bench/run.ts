/**
 * `npm run bench`: the bot's hot paths, timed on this machine, printed and written as JSON with the
 * machine noted. Speed is judged here, never by timed assertions in tests (shared machines are noisy).
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { cpus, hostname, platform, release, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { openAuditLog } from '../src/audit/open-audit-log.ts';
import { applyRunEvent } from '../src/core/apply-run-event.ts';
import { type DeploymentRecord, emptyDetail } from '../src/core/deployment.ts';
import type { RunEvent } from '../src/core/run-events.ts';
import { renderDeployment } from '../src/telegram/render-deployment.ts';
import { signWebhook } from '../test/fakes/github-webhooks.ts';
import { ADA, buttonData, eventually, GITHUB_SECRET, startHarness } from '../test/harness.ts';

type Result = {
  name: string;
  unit: string;
  iterations: number;
  mean: number;
  p50: number;
  p95: number;
  perSecond: number;
};

function summarise(name: string, unit: string, samples: number[]): Result {
  const sorted = [...samples].sort((a, b) => a - b);
  const mean = samples.reduce((a, b) => a + b, 0) / samples.length;
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
  return {
    name,
    unit,
    iterations: samples.length,
    mean: round(mean),
    p50: round(at(0.5)),
    p95: round(at(0.95)),
    perSecond: round(1000 / mean),
  };
}
const round = (n: number) => Math.round(n * 1000) / 1000;

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

async function main(): Promise<void> {
  const results: Result[] = [];

  let working = record;
  results.push(
    summarise(
      'applyRunEvent (job report, 8 steps)',
      'ms',
      timeEach(20_000, (i) => {
        const patch = applyRunEvent(working, jobEvent(i), i);
        if (patch) working = { ...working, ...patch };
      }),
    ),
  );
  results.push(
    summarise(
      'renderDeployment (4 jobs × 8 steps)',
      'ms',
      timeEach(20_000, (i) => renderDeployment(working, i)),
    ),
  );

  const dir = await mkdtemp(join(tmpdir(), 'deploybot-bench-'));
  const audit = await openAuditLog(join(dir, 'audit.jsonl'));
  const auditSamples: number[] = [];
  for (let i = 0; i < 300; i++) {
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
    auditSamples.push(performance.now() - t);
  }
  await audit.close();
  await rm(dir, { recursive: true, force: true });
  results.push(summarise('audit append (write + fsync)', 'ms', auditSamples));

  // End to end: a signed workflow_job webhook over HTTP to the service (SQLite store), verified,
  // de-duplicated, applied and queued for Telegram.
  const h = await startHarness({ env: { LOG_LEVEL: 'silent' } });
  try {
    await h.say(ADA, '/deploy production');
    const confirm = await eventually(() =>
      h.botMessages(ADA.id).find((m) => m.text.includes('Deploy to production')),
    );
    await h.press(ADA, confirm.message_id, buttonData(confirm, 'Deploy'));
    const run = await eventually(() => h.github.runs.list()[0]);
    const samples: number[] = [];
    for (let i = 0; i < 400; i++) {
      const body = JSON.stringify({
        action: 'in_progress',
        workflow_job: {
          id: 10 + (i % 4),
          run_id: run.id,
          name: `Job ${i % 4}`,
          status: 'in_progress',
          conclusion: null,
          started_at: new Date().toISOString(),
          completed_at: null,
          html_url: null,
          steps: [{ name: `Step ${i}`, status: 'in_progress', conclusion: null, number: i + 1 }],
        },
        repository: { full_name: 'acme/shop' },
      });
      const t = performance.now();
      const response = await fetch(`${h.service.url}/github/webhook`, {
        method: 'POST',
        headers: {
          'x-github-event': 'workflow_job',
          'x-github-delivery': crypto.randomUUID(),
          'x-hub-signature-256': signWebhook(GITHUB_SECRET, body),
          'content-type': 'application/json',
        },
        body,
      });
      await response.arrayBuffer();
      samples.push(performance.now() - t);
      if (response.status !== 200) throw new Error(`webhook answered ${response.status}`);
    }
    results.push(summarise('GitHub webhook over HTTP → applied (SQLite)', 'ms', samples));
  } finally {
    await h.close();
  }

  const cpu = cpus();
  const report = {
    date: new Date().toISOString(),
    machine: {
      host: hostname(),
      platform: `${platform()} ${release()}`,
      cpu: cpu[0]?.model ?? 'unknown',
      cores: cpu.length,
      memoryGiB: Math.round(totalmem() / 2 ** 30),
      node: process.version,
    },
    results,
  };
  const json = JSON.stringify(report, null, 2);
  process.stdout.write(`${json}\n`);
  await mkdir(join(import.meta.dirname, 'results'), { recursive: true });
  await writeFile(join(import.meta.dirname, 'results', 'latest.local.json'), `${json}\n`);
}

await main();
