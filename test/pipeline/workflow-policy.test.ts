import { describe, expect, it } from 'vitest';
import {
  actionFiles,
  allSteps,
  isMap,
  jobsOf,
  readRepoFile,
  readYaml,
  shellScripts,
  workflowFiles,
} from './support/pipeline-files.ts';

/** A GitHub expression as written in YAML. */
const gh = (expression: string): string => `\${{ ${expression} }}`;

// Security and operability rules for every workflow and composite action, checked on the files.

const EXPECTED_PERMISSIONS: Record<string, Record<string, Record<string, string>>> = {
  '.github/workflows/deploy.yml': {
    // A push only dispatches the default branch's copy of the workflow.
    dispatch: { actions: 'write' },
    // Reads ECR through OIDC (lookup role), this workflow's runs and records, attestations.
    resolve: { contents: 'read', 'id-token': 'write', actions: 'read', attestations: 'read' },
    // Checks out, pushes to ECR through OIDC (build role), signs the provenance attestation.
    build: { contents: 'read', 'id-token': 'write', attestations: 'write' },
    // Checks out the actions and scripts; no AWS at all (hosts pull with their instance role).
    deploy: { contents: 'read' },
  },
  '.github/workflows/ci.yml': {
    test: { contents: 'read' },
    image: { contents: 'read' },
  },
};

describe('permissions', () => {
  it('every workflow has an expectation here', () => {
    expect(workflowFiles()).toEqual(Object.keys(EXPECTED_PERMISSIONS).sort());
  });

  it.each(workflowFiles())('%s grants nothing at the top level', (file) => {
    expect(readYaml(file).permissions).toEqual({});
  });

  it.each(workflowFiles())('%s: each job has exactly the permissions it needs', (file) => {
    const actual = Object.fromEntries(
      Object.entries(jobsOf(readYaml(file))).map(([id, job]) => [id, job.permissions]),
    );
    expect(actual).toEqual(EXPECTED_PERMISSIONS[file]);
  });
});

describe('run scripts', () => {
  const runs = allSteps().flatMap(({ where, steps }) =>
    steps
      .filter((s) => typeof s.run === 'string')
      .map((s) => [`${where}: ${s.name ?? s.run}`, s.run ?? ''] as const),
  );

  it('exist in workflows and actions', () => {
    expect(runs.length).toBeGreaterThan(5);
  });

  // An expression inside `run:` is pasted into the script before bash sees it: script injection.
  it.each(runs)('%s has no expression (values come through env:)', (_where, run) => {
    expect(run).not.toMatch(/\$\{\{/);
  });
});

describe('third-party actions', () => {
  const files = [...workflowFiles(), ...actionFiles()];
  const uses = files.flatMap((file) =>
    readRepoFile(file)
      .split('\n')
      .map((line) => /^\s*(?:-\s+)?uses:\s*(\S+)\s*(.*)$/.exec(line))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => ({ file, ref: m[1] ?? '', comment: m[2] ?? '' })),
  );
  const thirdParty = uses.filter((u) => !u.ref.startsWith('./'));

  it('are used', () => {
    expect(thirdParty.length).toBeGreaterThan(3);
  });

  it.each(thirdParty.map((u) => [`${u.file}: ${u.ref}`, u] as const))(
    '%s is pinned to a full commit SHA with a # vX.Y.Z comment',
    (_label, { ref, comment }) => {
      expect(ref).toMatch(/^[A-Za-z0-9_.-]+\/[A-Za-z0-9_./-]+@[0-9a-f]{40}$/);
      expect(comment).toMatch(/^# v\d+\.\d+\.\d+$/);
    },
  );

  it('one SHA means one version everywhere', () => {
    const versions = new Map<string, Set<string>>();
    for (const { ref, comment } of thirdParty) {
      const set = versions.get(ref) ?? new Set<string>();
      set.add(comment);
      versions.set(ref, set);
    }
    const conflicting = [...versions].filter(([, set]) => set.size > 1).map(([ref]) => ref);
    expect(conflicting).toEqual([]);
  });

  it('docker:// images are not used (they could not be pinned the same way)', () => {
    expect(uses.filter((u) => u.ref.startsWith('docker://'))).toEqual([]);
  });
});

describe('concurrency', () => {
  const concurrencies = workflowFiles().flatMap((file) => {
    const workflow = readYaml(file);
    const jobLevel = Object.entries(jobsOf(workflow)).map(
      ([id, job]) => [`${file} job ${id}`, job.concurrency] as const,
    );
    return [[file, workflow.concurrency] as const, ...jobLevel].filter(([, c]) => c !== undefined);
  });

  it.each(concurrencies)('%s never cancels a run in progress', (_where, concurrency) => {
    expect(isMap(concurrency)).toBe(true);
    expect(isMap(concurrency) && concurrency['cancel-in-progress']).toBe(false);
  });

  it('deploy.yml runs one deploy per environment', () => {
    const concurrency = readYaml('.github/workflows/deploy.yml').concurrency;
    expect(isMap(concurrency) ? String(concurrency.group) : '').toMatch(
      /format\('deploy-\{0\}', inputs\.environment \|\| 'staging'\)/,
    );
  });
});

/** The name of canary step `i`: its weight from CANARY_STEPS, or "(no step n)" past its end. */
const canaryStepName = (i: number): string => {
  const weight = `fromJSON(vars.CANARY_STEPS || '[5, 25, 50, 100]')[${i}]`;
  return gh(`${weight} && format('Canary {0} %', ${weight}) || 'Canary (no step ${i + 1})'`);
};

describe('deploy job', () => {
  const deploy = jobsOf(readYaml('.github/workflows/deploy.yml')).deploy;

  it('runs in the requested GitHub environment, with its URL (deployment record, reviewers)', () => {
    expect(deploy?.environment).toEqual({
      name: gh('needs.resolve.outputs.environment'),
      url: gh('vars.APP_URL'),
    });
  });

  // The bot shows these names live in Telegram; renaming one is a visible change.
  it('keeps its step names', () => {
    const steps = Array.isArray(deploy?.steps) ? deploy.steps : [];
    expect(steps.map((s: unknown) => (isMap(s) ? s.name : undefined))).toEqual([
      'Check out the pipeline',
      'Check the environment settings',
      'Deploy with Docker Compose',
      'Deploy to Kubernetes',
      // Named after CANARY_STEPS (vars, known when the job starts): "Canary 5 %", "Canary 25 %", ...
      ...[0, 1, 2, 3].map((i) => canaryStepName(i)),
      'Health check',
      'Roll back to the previous image',
      'Roll back the Kubernetes deployment',
      'Record the deployed image',
      'Report the outcome',
    ]);
  });

  // Issue #15: one step per canary weight, run only for a canary on Compose; a failed one (the
  // host aborted the canary) is followed by the rollback of this image, which the bot reports as
  // "rolled back".
  it('runs the canary steps only for DEPLOY_STRATEGY canary on Compose, and rolls back after a failed one', () => {
    const steps = (Array.isArray(deploy?.steps) ? deploy.steps : []).filter(isMap);
    const canary = steps.filter((s) => String(s.id).startsWith('canary_'));
    expect(canary.map((s) => s.id)).toEqual(['canary_1', 'canary_2', 'canary_3', 'canary_4']);
    for (const [i, step] of canary.entries()) {
      expect(String(step.if).replace(/\s+/g, ' ')).toBe(
        `env.DEPLOY_TARGET == 'compose' && env.DEPLOY_STRATEGY == 'canary' && fromJSON(env.CANARY_STEPS)[${i}] != null`,
      );
      expect(step.with).toMatchObject({ command: 'canary', weight: gh(`fromJSON(env.CANARY_STEPS)[${i}]`) });
    }
    const rollback = steps.find((s) => s.name === 'Roll back to the previous image');
    const condition = String(rollback?.if);
    for (const id of ['health', 'canary_1', 'canary_2', 'canary_3', 'canary_4']) {
      expect(condition).toContain(`steps.${id}.outcome == 'failure'`);
    }
    // The bot tells a rollback by this pattern (src/core/apply-run-event.ts); no canary step matches it.
    const rollbackStep = /roll\s*-?back|restore previous/i;
    expect(rollbackStep.test(String(rollback?.name))).toBe(true);
    for (const step of canary) expect(rollbackStep.test(String(step.name))).toBe(false);
  });

  it('Resolve, Build image and the push dispatcher keep their step names', () => {
    const names = (id: string) => {
      const steps = jobsOf(readYaml('.github/workflows/deploy.yml'))[id]?.steps;
      return (Array.isArray(steps) ? steps : []).map((s: unknown) => (isMap(s) ? s.name : undefined));
    };
    expect(names('resolve')).toEqual([
      'Validate inputs',
      'Check out the pipeline',
      'Configure AWS credentials',
      'Log in to Amazon ECR',
      'Look up the image',
      'Verify the image provenance',
    ]);
    expect(names('build')).toEqual([
      'Check out the pipeline',
      'Check out the commit to build',
      'Configure AWS credentials',
      'Log in to Amazon ECR',
      'Build and push the image',
      'Attest the build provenance',
      'Verify the image provenance',
    ]);
    expect(names('dispatch')).toEqual(['Start the deploy on the default branch']);
  });

  it('never builds: only the build job does, and only when resolve says so', () => {
    const jobs = jobsOf(readYaml('.github/workflows/deploy.yml'));
    expect(String(jobs.build?.if)).toContain("needs.resolve.outputs.build == 'true'");
    const buildSteps = Object.entries(jobs)
      .filter(([id]) => id !== 'build')
      .flatMap(([, job]) => (Array.isArray(job.steps) ? job.steps : []))
      .filter(
        (s: unknown) => isMap(s) && typeof s.uses === 'string' && /build-image|build-push/.test(s.uses),
      );
    expect(buildSteps).toEqual([]);
  });
});

describe('ssh', () => {
  const sshFiles = [...actionFiles(), ...shellScripts()];

  it.each(sshFiles)('%s never turns host key checking off', (file) => {
    const text = readRepoFile(file);
    expect(text).not.toMatch(/StrictHostKeyChecking[= ]+(no|off|accept-new)/i);
    expect(text).not.toMatch(/UserKnownHostsFile[= ]+\/dev\/null/i);
  });

  it('ssh-deploy.sh pins the host key from DEPLOY_SSH_KNOWN_HOSTS', () => {
    const text = readRepoFile('actions/deploy-compose/ssh-deploy.sh');
    expect(text).toContain('-o StrictHostKeyChecking=yes -o "UserKnownHostsFile=$work/known_hosts"');
    expect(text).toContain('printf \'%s\\n\' "$DEPLOY_SSH_KNOWN_HOSTS" >"$work/known_hosts"');
  });

  // test/pipeline/host-scripts.test.ts runs ssh-deploy.sh with these variables: the action must
  // run the same script with the same ones, or the test would not be testing what GitHub runs.
  it('deploy-compose runs ssh-deploy.sh with the environment the host tests use', () => {
    const runs = readYaml('actions/deploy-compose/action.yml').runs;
    const steps = isMap(runs) && Array.isArray(runs.steps) ? runs.steps : [];
    expect(steps).toHaveLength(1);
    const step: unknown = steps[0];
    expect(isMap(step) && step.run).toBe('bash "$GITHUB_ACTION_PATH/ssh-deploy.sh"');
    expect(Object.keys(isMap(step) && isMap(step.env) ? step.env : {}).sort()).toEqual(
      [
        'DEPLOY_CANARY_WEIGHT',
        'DEPLOY_COMMAND',
        'DEPLOY_ENVIRONMENT',
        'DEPLOY_HOST',
        'DEPLOY_IMAGE',
        'DEPLOY_STRATEGY',
        'DEPLOY_SSH_KEY',
        'DEPLOY_SSH_KNOWN_HOSTS',
        'DEPLOY_SSH_PORT',
        'DEPLOY_USER',
      ].sort(),
    );
  });
});
