import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { repoRoot } from './support/pipeline-files.ts';
import { runProcess } from './support/run-process.ts';

// actions/resolve-image (Resolve's "Look up the image"), run as the runner would, with a stand-in
// `aws` that answers like ECR and a stand-in `gh` that answers like GitHub's runs and artifacts
// APIs. It decides what is deployed, by digest, and whether anything is built. The attacks of
// issue #11 are here: a planted image, an environment that only differs from "production" by name,
// records from other branches.
const script = join(repoRoot, 'actions/resolve-image/resolve-image.sh');
const SHA = 'b'.repeat(40);
const REPO = '123456789012.dkr.ecr.eu-west-1.amazonaws.com/shop';
const BUILT = `sha256:${'1'.repeat(64)}`;
const PLANTED = `sha256:${'6'.repeat(64)}`;
const WORKFLOW = '.github/workflows/deploy.yml';

const dir = mkdtempSync(join(tmpdir(), 'deploybot-fake-aws-gh-'));
const bin = join(dir, 'bin');
const records = join(dir, 'records');
mkdirSync(bin);
writeFileSync(
  join(bin, 'aws'),
  `#!/usr/bin/env bash
set -euo pipefail
case "$1 $2" in
  "sts get-caller-identity") echo "123456789012" ;;
  "ecr describe-images")
    case "$FAKE_ECR" in
      missing) echo "An error occurred (ImageNotFoundException) when calling the DescribeImages operation" >&2; exit 254 ;;
      denied) echo "An error occurred (AccessDeniedException) when calling the DescribeImages operation" >&2; exit 254 ;;
      *) echo "$FAKE_ECR" ;;
    esac ;;
  *) echo "unexpected aws call: $*" >&2; exit 1 ;;
esac
`,
);
// \`gh api … --jq …\` answers with what the --jq filter would print (id, path, branch, title).
writeFileSync(
  join(bin, 'gh'),
  `#!/usr/bin/env bash
set -euo pipefail
printf '%s\\n' "$*" >>"$FAKE_GH_LOG"
case "$1 $2" in
  "api -X") cat "$FAKE_RUNS" ;;
  "run download")
    id="$3"; out=""
    while [ "$#" -gt 0 ]; do [ "$1" = --dir ] && out="$2"; shift; done
    [ -f "$FAKE_RECORDS/$id" ] || { echo "no artifact named deployed-image" >&2; exit 1; }
    cp "$FAKE_RECORDS/$id" "$out/deployed-image.txt" ;;
  *) echo "unexpected gh call: $*" >&2; exit 1 ;;
esac
`,
);
chmodSync(join(bin, 'aws'), 0o755);
chmodSync(join(bin, 'gh'), 0o755);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Run {
  id: number;
  path?: string;
  branch?: string;
  title: string;
  record?: { environment: string; sha: string; image: string };
}

let runs: Run[] = [];
beforeEach(() => {
  runs = [];
  rmSync(records, { recursive: true, force: true });
  mkdirSync(records);
  writeFileSync(join(dir, 'gh.log'), '');
});

const stagingRun = (id: number, digest = BUILT, overrides: Partial<Run> = {}): Run => ({
  id,
  title: `Deploy staging ${SHA} [req-${id}]`,
  record: { environment: 'staging', sha: SHA, image: `${REPO}@${digest}` },
  ...overrides,
});

async function resolveImage(
  environment: string,
  action: string,
  ecr: string,
  env: Record<string, string> = {},
) {
  writeFileSync(
    join(dir, 'runs.tsv'),
    runs.map((r) => `${r.id}\t${r.path ?? WORKFLOW}\t${r.branch ?? 'main'}\t${r.title}\n`).join(''),
  );
  for (const run of runs) {
    if (!run.record) continue;
    const { environment: e, sha, image } = run.record;
    writeFileSync(join(records, String(run.id)), `environment=${e}\nsha=${sha}\nimage=${image}\n`);
  }
  const output = join(dir, 'output');
  writeFileSync(output, '');
  const result = await runProcess('bash', [script], {
    env: {
      PATH: `${bin}:${process.env.PATH}`,
      RUNNER_TEMP: dir,
      GITHUB_OUTPUT: output,
      GITHUB_REPOSITORY: 'octo/shop',
      FAKE_ECR: ecr,
      FAKE_RUNS: join(dir, 'runs.tsv'),
      FAKE_RECORDS: records,
      FAKE_GH_LOG: join(dir, 'gh.log'),
      GH_TOKEN: 'token',
      ECR_REPOSITORY: 'shop',
      AWS_REGION: 'eu-west-1',
      DEFAULT_BRANCH: 'main',
      SHA,
      ENVIRONMENT: environment,
      ACTION: action,
      ...env,
    },
    timeoutMs: 20_000,
  });
  const outputs = Object.fromEntries(
    readFileSync(output, 'utf8')
      .split('\n')
      .filter((l) => l.includes('='))
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
  );
  return { ...result, outputs, gh: readFileSync(join(dir, 'gh.log'), 'utf8') };
}

describe('resolve: building environments (BUILD_ENVIRONMENTS, default staging)', () => {
  it('staging, new commit: builds once', async () => {
    const run = await resolveImage('staging', 'deploy', 'missing');
    expect(run.code, run.output).toBe(0);
    expect(run.outputs).toEqual({ repository: REPO, image: '', build: 'true' });
  });

  it('staging, image already built: deployed by digest, nothing built', async () => {
    const run = await resolveImage('staging', 'deploy', BUILT);
    expect(run.code, run.output).toBe(0);
    expect(run.outputs).toEqual({ repository: REPO, image: `${REPO}@${BUILT}`, build: 'false' });
  });

  it('an environment listed in BUILD_ENVIRONMENTS builds; the list may use commas', async () => {
    const run = await resolveImage('qa-eu', 'deploy', 'missing', { BUILD_ENVIRONMENTS: 'staging,qa-eu' });
    expect(run.code, run.output).toBe(0);
    expect(run.outputs.build).toBe('true');
  });

  it('a bad BUILD_ENVIRONMENTS stops the run', async () => {
    const run = await resolveImage('staging', 'deploy', 'missing', { BUILD_ENVIRONMENTS: 'staging $(id)' });
    expect(run.code).toBe(1);
    expect(run.output).toMatch(/::error title=Not set up::BUILD_ENVIRONMENTS/);
  });

  it('an ECR error other than "not found" stops the run rather than rebuilding', async () => {
    const run = await resolveImage('staging', 'deploy', 'denied');
    expect(run.code).toBe(1);
    expect(run.output).toMatch(/ECR lookup failed.*AccessDenied/);
    expect(run.outputs).toEqual({});
  });
});

describe('resolve: every other environment promotes the digest staging ran', () => {
  it('production deploys exactly the digest recorded by the successful staging run of the commit', async () => {
    runs = [stagingRun(7)];
    const run = await resolveImage('production', 'deploy', BUILT);
    expect(run.code, run.output).toBe(0);
    expect(run.outputs).toEqual({ repository: REPO, image: `${REPO}@${BUILT}`, build: 'false' });
    expect(run.output).toContain('(run 7)');
    expect(run.gh).toContain('-f branch=main -f status=success');
  });

  it('attack: an image planted in ECR under a future SHA that staging never ran is refused', async () => {
    runs = [{ id: 3, title: `Deploy staging ${'c'.repeat(40)} [req-3]` }];
    const run = await resolveImage('production', 'deploy', PLANTED);
    expect(run.code).toBe(1);
    expect(run.output).toMatch(/::error title=Not on staging::.*Deploy b{40} to staging first/);
    expect(run.outputs).toEqual({});
  });

  it('attack: a staging record that disagrees with ECR is refused (neither is deployed)', async () => {
    runs = [stagingRun(9, BUILT)];
    const run = await resolveImage('production', 'deploy', PLANTED);
    expect(run.code).toBe(1);
    expect(run.output).toMatch(/::error title=Image mismatch::/);
  });

  it('attack: records of runs on other branches or of other workflow files are not read', async () => {
    runs = [
      stagingRun(11, PLANTED, { branch: 'evil' }),
      stagingRun(12, PLANTED, { path: '.github/workflows/evil.yml' }),
    ];
    const run = await resolveImage('production', 'deploy', PLANTED);
    expect(run.code).toBe(1);
    expect(run.output).toMatch(/Not on staging/);
    expect(run.gh).not.toContain('run download');
  });

  it('a record naming another environment or commit is ignored, an older good one is used', async () => {
    runs = [
      stagingRun(21, PLANTED, { record: { environment: 'qa', sha: SHA, image: `${REPO}@${PLANTED}` } }),
      stagingRun(20),
    ];
    const run = await resolveImage('production', 'deploy', BUILT);
    expect(run.code, run.output).toBe(0);
    expect(run.output).toContain('::warning title=Record ignored::run 21');
    expect(run.outputs.image).toBe(`${REPO}@${BUILT}`);
  });

  it('PROMOTE_FROM chooses the environment promoted from', async () => {
    runs = [
      stagingRun(30),
      {
        ...stagingRun(31),
        title: `Deploy qa ${SHA} [x]`,
        record: { environment: 'qa', sha: SHA, image: `${REPO}@${BUILT}` },
      },
    ];
    const run = await resolveImage('production', 'deploy', BUILT, { PROMOTE_FROM: 'qa' });
    expect(run.code, run.output).toBe(0);
    expect(run.output).toContain('(run 31)');
  });

  it.each(['production', 'production-eu', 'prod', 'live'])(
    'attack: %s never builds a missing image (only listed environments build; old tree: only "production" was refused)',
    async (environment) => {
      const run = await resolveImage(environment, 'deploy', 'missing');
      expect(run.code).toBe(1);
      expect(run.outputs).toEqual({});
      expect(run.output).toContain('to staging first');
    },
  );
});

describe('resolve: rollbacks', () => {
  it.each(['staging', 'production'])(
    '%s rollback deploys the existing image of the commit by digest',
    async (env) => {
      const run = await resolveImage(env, 'rollback', BUILT);
      expect(run.code, run.output).toBe(0);
      expect(run.outputs).toEqual({ repository: REPO, image: `${REPO}@${BUILT}`, build: 'false' });
    },
  );

  it.each(['staging', 'production'])(
    '%s rollback of a commit without an image fails instead of building',
    async (env) => {
      const run = await resolveImage(env, 'rollback', 'missing');
      expect(run.code).toBe(1);
      expect(run.output).toMatch(/::error title=No image::.*it never builds/);
      expect(run.outputs).toEqual({});
    },
  );
});

describe('resolve: what the script is told', () => {
  it('knows no environment by name: which ones build or promote is configuration', () => {
    const text = readFileSync(script, 'utf8');
    expect(text).not.toMatch(/production/);
    expect(text.match(/staging/g)?.length).toBeLessThanOrEqual(4);
  });
});
