import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jobsOf, readYaml, type Step } from './pipeline-files.ts';
import { runProcess } from './run-process.ts';

/** The step named `name` of job `job` in `workflow`. @throws {Error} when there is none. */
export function findStep(workflow: string, job: string, name: string): Step {
  const steps = jobsOf(readYaml(workflow))[job]?.steps;
  const step = Array.isArray(steps) ? (steps as Step[]).find((s) => s.name === name) : undefined;
  if (!step) throw new Error(`${workflow}: job ${job} has no step named "${name}"`);
  return step;
}

/** What a step run by {@link runStep} did. */
export interface StepRun {
  code: number;
  output: string;
  outputs: Record<string, string>;
}

/**
 * Runs a step's `run:` script the way a GitHub runner does for `shell: bash`
 * (`bash --noprofile --norc -eo pipefail`), with `env` and a fresh `$GITHUB_OUTPUT`.
 */
export async function runStep(step: Step, env: Record<string, string>): Promise<StepRun> {
  if (!step.run) throw new Error(`step "${step.name}" has no run script`);
  const dir = mkdtempSync(join(tmpdir(), 'deploybot-step-'));
  try {
    const script = join(dir, 'step.sh');
    const outputFile = join(dir, 'output');
    writeFileSync(script, step.run);
    writeFileSync(outputFile, '');
    const result = await runProcess('bash', ['--noprofile', '--norc', '-eo', 'pipefail', script], {
      env: {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        GITHUB_OUTPUT: outputFile,
        GITHUB_RUN_ID: '4242',
        GITHUB_ACTOR: 'octocat',
        GITHUB_SHA: 'f'.repeat(40),
        ...env,
      },
      timeoutMs: 20_000,
    });
    const outputs = Object.fromEntries(
      readFileSync(outputFile, 'utf8')
        .split('\n')
        .filter((line) => line.includes('='))
        .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
    );
    return { ...result, outputs };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
