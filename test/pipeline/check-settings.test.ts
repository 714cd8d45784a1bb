import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { jobsOf, readYaml, repoRoot } from './support/pipeline-files.ts';
import { runProcess } from './support/run-process.ts';
import { findStep } from './support/run-step.ts';

// The deploy job's "Check the environment settings" (actions/check-settings/check-settings.sh),
// given what GitHub tells the job about its secrets (set or not). Each environment has its own
// deploy key as a secret of that environment; a job also sees repository and organization
// secrets, which is how the old shared DEPLOY_SSH_KEY reached every branch and both hosts.
const script = join(repoRoot, 'actions/check-settings/check-settings.sh');
/** A GitHub expression as written in YAML. */
const gh = (expression: string): string => `\${{ ${expression} }}`;
const IMAGE = `123456789012.dkr.ecr.eu-west-1.amazonaws.com/shop@sha256:${'1'.repeat(64)}`;

const check = (environment: string, env: Record<string, string> = {}) =>
  runProcess('bash', [script], {
    env: {
      PATH: process.env.PATH,
      ENVIRONMENT: environment,
      SSH_KEY_SECRET: `${environment.toUpperCase().replaceAll('-', '_')}_SSH_KEY`,
      DEPLOY_TARGET: 'compose',
      DEPLOY_HOST: 'host.example',
      HEALTH_URL: 'https://app.example/health',
      IMAGE,
      HAS_SSH_KEY: 'true',
      HAS_STAGING_KEY: environment === 'staging' ? 'true' : 'false',
      HAS_PRODUCTION_KEY: environment === 'production' ? 'true' : 'false',
      HAS_SHARED_KEY: 'false',
      HAS_KNOWN_HOSTS: 'true',
      HAS_KUBECONFIG: 'false',
      ...env,
    },
  });

describe('check-settings', () => {
  it('is what the deploy job runs, with the secrets it checks', () => {
    const step = findStep('.github/workflows/deploy.yml', 'deploy', 'Check the environment settings');
    expect(step.run).toBe('bash actions/check-settings/check-settings.sh');
    expect(step.env).toMatchObject({
      HAS_SSH_KEY: gh("secrets[needs.resolve.outputs.ssh_key_secret] != ''"),
      HAS_STAGING_KEY: gh("secrets.STAGING_SSH_KEY != ''"),
      HAS_PRODUCTION_KEY: gh("secrets.PRODUCTION_SSH_KEY != ''"),
      HAS_SHARED_KEY: gh("secrets.DEPLOY_SSH_KEY != ''"),
    });
  });

  it.each(['staging', 'production', 'qa-eu'])('passes %s with its own key only', async (environment) => {
    const run = await check(environment);
    expect(run.code, run.output).toBe(0);
  });

  it('attack: the old shared DEPLOY_SSH_KEY is still readable: refused before anything changes', async () => {
    const run = await check('staging', { HAS_SHARED_KEY: 'true' });
    expect(run.code).toBe(1);
    expect(run.output).toMatch(/::error title=Environment not set up::needs no secret DEPLOY_SSH_KEY/);
  });

  it('attack: PRODUCTION_SSH_KEY readable in a staging job (a repository secret) is refused', async () => {
    const run = await check('staging', { HAS_PRODUCTION_KEY: 'true' });
    expect(run.code).toBe(1);
    expect(run.output).toContain('needs PRODUCTION_SSH_KEY only in its own environment');
    expect(run.output).toContain('move it to the production environment');
  });

  it('STAGING_SSH_KEY readable in a production job is refused too', async () => {
    const run = await check('production', { HAS_STAGING_KEY: 'true' });
    expect(run.code).toBe(1);
    expect(run.output).toContain('needs STAGING_SSH_KEY only in its own environment');
  });

  it("an environment without its own key is told the secret's name", async () => {
    const run = await check('production', { HAS_SSH_KEY: 'false', HAS_PRODUCTION_KEY: 'false' });
    expect(run.code).toBe(1);
    expect(run.output).toContain('needs secret PRODUCTION_SSH_KEY of the production environment');
  });

  it.each([`${IMAGE.replace(/@.*/, '')}:latest`, ''])(
    'refuses to deploy %j: not a verified digest',
    async (image) => {
      const run = await check('staging', { IMAGE: image });
      expect(run.code).toBe(1);
      expect(run.output).toContain('needs a verified image by digest');
    },
  );

  it('k8s needs no SSH key', async () => {
    const run = await check('production', {
      DEPLOY_TARGET: 'k8s',
      HAS_SSH_KEY: 'false',
      HAS_PRODUCTION_KEY: 'false',
      HAS_KUBECONFIG: 'true',
      K8S_NAMESPACE: 'shop',
      K8S_DEPLOYMENT: 'web',
      K8S_CONTAINER: 'app',
    });
    expect(run.code, run.output).toBe(0);
  });

  // Issue #15: the strategy, and the canary's weights the workflow names one step after each.
  it.each([
    ['recreate', undefined],
    ['blue-green', undefined],
    ['canary', undefined],
    ['canary', '[5, 25, 50, 100]'],
    ['canary', '[10,100]'],
    ['canary', '[100]'],
  ])('accepts DEPLOY_STRATEGY %s with CANARY_STEPS %s', async (strategy, steps) => {
    const run = await check('staging', {
      DEPLOY_STRATEGY: strategy,
      ...(steps ? { CANARY_STEPS: steps } : {}),
    });
    expect(run.code, run.output).toBe(0);
    expect(run.output).toContain(`strategy: ${strategy}`);
  });

  it.each([
    ['rolling', undefined, 'needs DEPLOY_STRATEGY recreate, blue-green or canary'],
    ['canary', '[5, 25, 50]', 'rising weights of 1-100 that end at 100'],
    ['canary', '[50, 25, 100]', 'rising weights of 1-100 that end at 100'],
    ['canary', '[0, 100]', 'rising weights of 1-100 that end at 100'],
    ['canary', '[5, 150]', 'rising weights of 1-100 that end at 100'],
    ['canary', '[1, 5, 25, 50, 100]', 'a JSON array of 1 to 4 weights'],
    ['canary', '5 25 50 100', 'a JSON array of 1 to 4 weights'],
  ])(
    'refuses DEPLOY_STRATEGY %s with CANARY_STEPS %s before anything changes',
    async (strategy, steps, why) => {
      const run = await check('staging', {
        DEPLOY_STRATEGY: strategy,
        ...(steps ? { CANARY_STEPS: steps } : {}),
      });
      expect(run.code).toBe(1);
      expect(run.output).toContain(why);
    },
  );

  it('the job gives the script both, with their defaults', () => {
    const job = jobsOf(readYaml('.github/workflows/deploy.yml')).deploy;
    expect(job?.env).toMatchObject({
      DEPLOY_STRATEGY: gh(
        "needs.resolve.outputs.action == 'rollback' && vars.DEPLOY_STRATEGY == 'canary' && 'blue-green' || vars.DEPLOY_STRATEGY || 'recreate'",
      ),
      CANARY_STEPS: gh("vars.CANARY_STEPS || '[5, 25, 50, 100]'"),
    });
  });
});
