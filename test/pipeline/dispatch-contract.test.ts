import { describe, expect, it } from 'vitest';
import {
  DISPATCH_ACTIONS,
  DISPATCH_INPUT_NAMES,
  dispatchInputsSchema,
  ENVIRONMENT_NAME,
  REQUEST_ID,
  requestIdFromTitle,
} from '../../src/github/dispatch-inputs.ts';
import { dispatchInputs, isMap, readRepoFile, readYaml } from './support/pipeline-files.ts';
import { findStep, runStep } from './support/run-step.ts';

// One source of truth: what the bot sends (src/github/dispatch-inputs.ts) is what deploy.yml
// declares and accepts. Any drift fails here.

const validate = findStep('.github/workflows/deploy.yml', 'resolve', 'Validate inputs');
/** The step's env: as written, with the expressions replaced below where a test needs values. */
const stepEnv = () => Object.fromEntries(Object.entries(validate.env ?? {}).map(([k, v]) => [k, String(v)]));
const onMain = { RUN_REF: 'refs/heads/main', DEFAULT_BRANCH: 'main' };
const inputsFor = (inputs: Record<string, string>) => ({
  INPUT_ENVIRONMENT: inputs.environment ?? '',
  INPUT_SHA: inputs.sha ?? '',
  INPUT_ACTION: inputs.action ?? '',
  INPUT_REQUEST_ID: inputs.request_id ?? '',
  INPUT_REQUESTED_BY: inputs.requested_by ?? '',
});
const SHA = 'a'.repeat(40);
const good = { environment: 'staging', sha: SHA, action: 'deploy', request_id: 'req-1', requested_by: 'Ann' };

describe('workflow_dispatch inputs', () => {
  it('are exactly DISPATCH_INPUT_NAMES, in order', () => {
    expect(Object.keys(dispatchInputs())).toEqual([...DISPATCH_INPUT_NAMES]);
  });

  it('offer exactly DISPATCH_ACTIONS as `action`', () => {
    const action = dispatchInputs().action;
    expect(isMap(action) && action.type).toBe('choice');
    expect(isMap(action) && action.options).toEqual([...DISPATCH_ACTIONS]);
  });

  it('are all strings or choices, as the bot sends strings', () => {
    for (const [name, spec] of Object.entries(dispatchInputs())) {
      expect(isMap(spec) ? spec.type : undefined, name).toMatch(/^(string|choice)$/);
    }
  });

  it('are validated with the same patterns as the bot', () => {
    const env = validate.env ?? {};
    expect(env.ENVIRONMENT_PATTERN).toBe(ENVIRONMENT_NAME.source);
    expect(env.REQUEST_ID_PATTERN).toBe(REQUEST_ID.source);
    expect(env.SHA_PATTERN).toBe('^[0-9a-f]{40}$');
    expect(String(env.ACTIONS).split(' ')).toEqual([...DISPATCH_ACTIONS]);
  });

  it('reach the validation step only through env:', () => {
    for (const name of DISPATCH_INPUT_NAMES) {
      expect(validate.env?.[`INPUT_${name.toUpperCase()}`]).toBe(`\${{ inputs.${name} }}`);
    }
  });

  it.each(['scripts/deploy-lib.sh', 'scripts/deploybot-ssh-gate', 'actions/resolve-image/resolve-image.sh'])(
    '%s accepts the same environment names',
    (file) => {
      expect(readRepoFile(file)).toContain(`readonly ENVIRONMENT_PATTERN='${ENVIRONMENT_NAME.source}'`);
    },
  );
});

describe('the validation step and the bot agree on every value', () => {
  const cases: Array<Record<string, string>> = [
    good,
    { ...good, action: 'rollback', environment: 'production' },
    { ...good, environment: 'review-42' },
    { ...good, environment: 'a'.repeat(32) },
    { ...good, environment: 'a'.repeat(33) },
    { ...good, environment: 'Staging' },
    { ...good, environment: 'prod;rm -rf /' },
    { ...good, environment: '../x' },
    { ...good, environment: '$(id)' },
    { ...good, environment: '' },
    { ...good, sha: SHA.toUpperCase() },
    { ...good, sha: SHA.slice(1) },
    { ...good, sha: `${SHA}\n` },
    { ...good, sha: 'main' },
    { ...good, action: 'destroy' },
    { ...good, action: 'deploy rollback' },
    { ...good, request_id: 'x'.repeat(64) },
    { ...good, request_id: 'x'.repeat(65) },
    { ...good, request_id: 'a_b' },
    { ...good, request_id: 'a]b' },
    { ...good, requested_by: 'Ann Smith (@ann) ✓' },
    { ...good, requested_by: 'line\nbreak' },
    { ...good, requested_by: 'r'.repeat(200) },
    { ...good, requested_by: 'r'.repeat(201) },
  ];

  it.each(cases.map((c) => [JSON.stringify(c), c] as const))('%s', async (_label, inputs) => {
    const botAccepts = dispatchInputsSchema.safeParse(inputs).success;
    const run = await runStep(validate, {
      ...Object.fromEntries(Object.entries(validate.env ?? {}).map(([k, v]) => [k, String(v)])),
      ...onMain,
      INPUT_ENVIRONMENT: inputs.environment ?? '',
      INPUT_SHA: inputs.sha ?? '',
      INPUT_ACTION: inputs.action ?? '',
      INPUT_REQUEST_ID: inputs.request_id ?? '',
      INPUT_REQUESTED_BY: inputs.requested_by ?? '',
    });
    expect(run.code === 0, run.output).toBe(botAccepts);
    if (botAccepts) {
      expect(run.outputs).toEqual({
        environment: inputs.environment,
        sha: inputs.sha,
        action: inputs.action,
        request_id: inputs.request_id,
        ssh_key_secret: `${inputs.environment?.toUpperCase().replaceAll('-', '_')}_SSH_KEY`,
      });
    } else {
      expect(run.output).toMatch(/::error title=Invalid input::/);
    }
  });

  it('a manual run without request_id gets manual-<run id>', async () => {
    const run = await runStep(validate, {
      ...Object.fromEntries(Object.entries(validate.env ?? {}).map(([k, v]) => [k, String(v)])),
      ...onMain,
      INPUT_ENVIRONMENT: 'staging',
      INPUT_SHA: SHA,
      INPUT_ACTION: 'deploy',
      INPUT_REQUEST_ID: '',
      INPUT_REQUESTED_BY: '',
    });
    expect(run.code, run.output).toBe(0);
    expect(run.outputs.request_id).toBe('manual-4242');
  });

  it.each([
    ['staging', 'STAGING_SSH_KEY'],
    ['production', 'PRODUCTION_SSH_KEY'],
    ['qa-eu-2', 'QA_EU_2_SSH_KEY'],
  ])('%s deploys with its own key, the secret %s', async (environment, secret) => {
    const run = await runStep(validate, { ...stepEnv(), ...onMain, ...inputsFor({ ...good, environment }) });
    expect(run.code, run.output).toBe(0);
    expect(run.outputs.ssh_key_secret).toBe(secret);
  });

  it('attack: a run of deploy.yml from another branch (whose copy anyone with write can edit) is refused', async () => {
    const run = await runStep(validate, {
      ...stepEnv(),
      RUN_REF: 'refs/heads/evil',
      DEFAULT_BRANCH: 'main',
      ...inputsFor(good),
    });
    expect(run.code).toBe(1);
    expect(run.output).toContain(
      '::error title=Invalid input::deploy.yml runs from main only, not refs/heads/evil',
    );
    expect(run.outputs).toEqual({});
  });
});

describe('run-name', () => {
  const runName = String(readYaml('.github/workflows/deploy.yml')['run-name']);

  it('puts the request id in square brackets for dispatched runs', () => {
    expect(runName).toContain("format('{0} {1} {2} [{3}]'");
    expect(runName).toContain("inputs.request_id || format('manual-{0}', github.run_id)");
  });

  it('renders to a title the bot can match', () => {
    // The format() above with the bot's inputs, as GitHub renders it.
    const title = `Deploy production ${SHA} [req-abc-123]`;
    expect(requestIdFromTitle(title)).toBe('req-abc-123');
  });

  it('has no brackets for push runs, so they never look like a bot request', () => {
    const pushPart = runName.slice(runName.lastIndexOf('||'));
    expect(pushPart).toContain('push to');
    expect(pushPart).not.toMatch(/\[/);
  });
});
