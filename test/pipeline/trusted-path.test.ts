import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  allSteps,
  isMap,
  jobsOf,
  readRepoFile,
  readYaml,
  type Step,
  type YamlMap,
} from './support/pipeline-files.ts';
import { findStep, runStep } from './support/run-step.ts';

// Issue #11, "a trusted path to production": the workflow's side, checked on deploy.yml as parsed.
// Each test names the attack it closes; on the old workflow each of them fails.
const gh = (expression: string): string => `\${{ ${expression} }}`;
const workflow = readYaml('.github/workflows/deploy.yml');
const jobs = jobsOf(workflow);
const stepsOf = (job: string): Step[] => {
  const steps = jobs[job]?.steps;
  return Array.isArray(steps) ? steps.filter(isMap).map((s) => s as Step) : [];
};
const step = (job: string, name: string): Step => {
  const found = stepsOf(job).find((s) => s.name === name);
  if (!found) throw new Error(`job ${job} has no step "${name}"`);
  return found;
};
const permissions = (job: string): YamlMap =>
  isMap(jobs[job]?.permissions) ? (jobs[job].permissions as YamlMap) : {};

describe('only the build job, from the default branch, can push an image', () => {
  it('attack (planting): no job that runs in an environment can get AWS credentials', () => {
    for (const [id, job] of Object.entries(jobs)) {
      if (job.environment === undefined) continue;
      expect(permissions(id)['id-token'], `${id} runs in an environment`).toBeUndefined();
      expect(stepsOf(id).filter((s) => s.uses?.startsWith('aws-actions/'))).toEqual([]);
    }
  });

  it('the push role is asked for by the build job only; Resolve asks for the read-only lookup role', () => {
    const roles = Object.keys(jobs).flatMap((id) =>
      stepsOf(id)
        .filter((s) => s.uses?.startsWith('aws-actions/configure-aws-credentials@'))
        .map((s) => [id, s.with?.['role-to-assume']]),
    );
    expect(roles).toEqual([
      ['resolve', gh('vars.AWS_LOOKUP_ROLE_ARN')],
      ['build', gh('vars.AWS_BUILD_ROLE_ARN')],
    ]);
    expect(readRepoFile('.github/workflows/deploy.yml')).not.toContain('AWS_DEPLOY_ROLE_ARN');
  });

  it('the build job runs only for a run of the default branch', () => {
    expect(String(jobs.build?.if)).toContain(
      "github.ref == format('refs/heads/{0}', github.event.repository.default_branch)",
    );
    expect(step('resolve', 'Validate inputs').env).toMatchObject({
      RUN_REF: gh('github.ref'),
      DEFAULT_BRANCH: gh('github.event.repository.default_branch'),
    });
  });

  it('only the build job may sign attestations, with the pinned attest-build-provenance, for the digest it pushed', () => {
    const signing = Object.keys(jobs).filter((id) => permissions(id).attestations === 'write');
    expect(signing).toEqual(['build']);
    const attest = step('build', 'Attest the build provenance');
    expect(attest.uses).toBe('actions/attest-build-provenance@e8998f949152b193b063cb0ec769d69d929409be');
    expect(attest.with).toEqual({
      'subject-name': gh('needs.resolve.outputs.repository'),
      'subject-digest': gh('steps.build.outputs.digest'),
      'push-to-registry': false,
    });
    const names = stepsOf('build').map((s) => s.name);
    expect(names.indexOf('Attest the build provenance')).toBe(names.indexOf('Build and push the image') + 1);
  });
});

describe('every deploy and rollback runs a verified digest', () => {
  it('attack (tag): the deploy job deploys only the image verified in Resolve or in Build', () => {
    expect(isMap(jobs.deploy?.env) && jobs.deploy.env.IMAGE).toBe(
      gh('needs.build.outputs.image || needs.resolve.outputs.image'),
    );
    expect(isMap(jobs.resolve?.outputs) && jobs.resolve.outputs.image).toBe(gh('steps.verify.outputs.image'));
    expect(isMap(jobs.build?.outputs) && jobs.build.outputs.image).toBe(gh('steps.verify.outputs.image'));
    for (const job of ['resolve', 'build']) {
      const verify = step(job, 'Verify the image provenance');
      expect(verify).toMatchObject({ id: 'verify', uses: './actions/verify-image' });
    }
    expect(step('resolve', 'Verify the image provenance').if).toBe("steps.image.outputs.build == 'false'");
    expect(step('build', 'Verify the image provenance').with?.image).toBe(gh('steps.build.outputs.image'));
  });

  it('every image handed to a deploy, a record or the report is that one', () => {
    const images = stepsOf('deploy')
      .filter((s) => s.with && 'image' in s.with)
      .map((s) => [s.name, s.with?.image]);
    expect(images).toEqual([
      ['Deploy with Docker Compose', gh('env.IMAGE')],
      ['Deploy to Kubernetes', gh('env.IMAGE')],
      // The canary steps move this image's canary; the rollback undoes this image only.
      ...stepsOf('deploy')
        .filter((s) => s.id?.startsWith('canary_'))
        .map((s) => [s.name, gh('env.IMAGE')]),
      ['Roll back to the previous image', gh('env.IMAGE')],
      ['Record the deployed image', gh('env.IMAGE')],
      ['Report the outcome', gh('env.IMAGE')],
    ]);
    expect(stepsOf('deploy').filter((s) => s.id?.startsWith('canary_'))).toHaveLength(4);
  });

  it('a rollback after a failed health check uses the host record (rollback.sh), never a tag', () => {
    expect(step('deploy', 'Roll back to the previous image').with).toMatchObject({ command: 'rollback' });
  });
});

describe("each environment's deploy key", () => {
  it('attack (one key for both hosts): the SSH key is the environment secret named after the environment', () => {
    const keys = allSteps()
      .flatMap(({ steps }) => steps)
      .filter((s) => s.with && 'ssh-key' in s.with)
      .map((s) => s.with?.['ssh-key']);
    // Deploy, the four canary steps and the rollback: every one with the environment's own key.
    expect(keys).toEqual(Array(6).fill(gh('secrets[needs.resolve.outputs.ssh_key_secret]')));
    expect(readRepoFile('.github/workflows/deploy.yml')).not.toMatch(/ssh-key: .*DEPLOY_SSH_KEY/);
  });
});

describe('which environments build is configuration, not a name', () => {
  it('attack ("production-eu" builds): the workflow compares no environment name', () => {
    const text = readRepoFile('.github/workflows/deploy.yml');
    expect(text).not.toMatch(/== '(production|staging)'/);
    expect(step('resolve', 'Look up the image').with).toMatchObject({
      'build-environments': gh('vars.BUILD_ENVIRONMENTS'),
      'promote-from': gh('vars.PROMOTE_FROM'),
    });
  });
});

describe('push runs (DEPLOY_ON_PUSH)', () => {
  const bin = mkdtempSync(join(tmpdir(), 'deploybot-fake-gh-dispatch-'));
  afterAll(() => rmSync(bin, { recursive: true, force: true }));

  it("attack (a branch's copy of deploy.yml): a push run gets no AWS role, no environment and no secret", () => {
    expect(permissions('dispatch')).toEqual({ actions: 'write' });
    expect(jobs.dispatch?.environment).toBeUndefined();
    expect(JSON.stringify(jobs.dispatch)).not.toContain('secrets.');
    for (const id of ['resolve']) expect(String(jobs[id]?.if)).toBe("github.event_name != 'push'");
  });

  it('only dispatches a run of the default branch for the pushed commit', async () => {
    writeFileSync(join(bin, 'gh'), '#!/usr/bin/env bash\nprintf \'%s\\n\' "$*" >"$FAKE_GH_LOG"\n');
    chmodSync(join(bin, 'gh'), 0o755);
    const dispatch = findStep(
      '.github/workflows/deploy.yml',
      'dispatch',
      'Start the deploy on the default branch',
    );
    const run = await runStep(dispatch, {
      PATH: `${bin}:${process.env.PATH}`,
      FAKE_GH_LOG: join(bin, 'gh.log'),
      GITHUB_REPOSITORY: 'octo/shop',
      DEFAULT_BRANCH: 'main',
      PUSHED_SHA: 'c'.repeat(40),
      PUSHED_REF: 'develop',
    });
    expect(run.code, run.output).toBe(0);
    expect(readFileSync(join(bin, 'gh.log'), 'utf8')).toBe(
      `workflow run deploy.yml --repo octo/shop --ref main -f environment=staging -f sha=${'c'.repeat(40)} -f action=deploy -f request_id=push-4242 -f requested_by=push to develop by octocat\n`,
    );
  });
});
