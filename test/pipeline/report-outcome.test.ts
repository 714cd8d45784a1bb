import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { repoRoot } from './support/pipeline-files.ts';
import { runProcess } from './support/run-process.ts';

// actions/report-outcome: the verdict, summary and annotation the deploy job ends with, for what
// the strategies of issue #15 add (a blue-green deploy that never switched, an aborted canary).
const script = join(repoRoot, 'actions/report-outcome/report-outcome.sh');
const dir = mkdtempSync(join(tmpdir(), 'deploybot-report-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const NEW = `registry.example/shop/app@sha256:${'1'.repeat(64)}`;
const OLD = `registry.example/shop/app@sha256:${'0'.repeat(64)}`;

async function report(env: Record<string, string>) {
  const summary = join(dir, `summary-${Math.random()}`);
  writeFileSync(summary, '');
  const run = await runProcess('bash', [script], {
    env: {
      PATH: process.env.PATH,
      GITHUB_STEP_SUMMARY: summary,
      ENVIRONMENT: 'production',
      ACTION: 'deploy',
      IMAGE: NEW,
      PREVIOUS_IMAGE: OLD,
      ...env,
    },
  });
  return { ...run, summary: readFileSync(summary, 'utf8') };
}

describe('report-outcome', () => {
  it('a blue-green deploy whose new colour failed its health check: not switched, the old one served', async () => {
    const run = await report({
      STRATEGY: 'blue-green',
      DEPLOY_OUTCOME: 'failure',
      DEPLOY_RESULT: 'kept-live',
      DEPLOY_EXIT_CODE: '3',
    });
    expect(run.code).toBe(0);
    expect(run.output).toContain(
      `::error title=deploy production::Not switched: ${NEW} failed its health check on the host before it took any traffic; ${OLD} served throughout.`,
    );
    expect(run.summary).toContain('| Strategy | blue-green |');
  });

  it('an aborted canary says at which weight, with the error counts', async () => {
    const run = await report({
      STRATEGY: 'canary',
      DEPLOY_OUTCOME: 'success',
      DEPLOY_RESULT: 'canary-ready',
      DEPLOY_EXIT_CODE: '0',
      CANARY_RESULT: 'aborted',
      CANARY_WEIGHT: '25',
      CANARY_ERRORS: '31/40 vs 0/120',
      HEALTH_OUTCOME: 'skipped',
      ROLLBACK_OUTCOME: 'success',
    });
    expect(run.output).toContain(
      `Canary aborted at 25 %: ${NEW} had more errors than ${OLD} (errors/requests 31/40 vs 0/120); ${OLD} takes all traffic again.`,
    );
    expect(run.summary).toContain(
      '| Canary | aborted at 25 % (errors/requests, canary vs stable: 31/40 vs 0/120) |',
    );
  });

  it('a canary promoted to 100 % and healthy is deployed', async () => {
    const run = await report({
      STRATEGY: 'canary',
      DEPLOY_OUTCOME: 'success',
      DEPLOY_RESULT: 'canary-ready',
      CANARY_RESULT: 'promoted',
      CANARY_WEIGHT: '100',
      HEALTH_OUTCOME: 'success',
    });
    expect(run.output).toBe(`Deployed: ${NEW} is healthy.\n`);
  });
});
