import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { repoRoot } from './support/pipeline-files.ts';
import { runProcess } from './support/run-process.ts';

// actions/verify-image (the "Verify the image provenance" steps of Resolve and Build) with a
// stand-in `gh` that holds a list of attestations, each a digest and the identity of the workflow
// that signed it, and answers `gh attestation verify` as GitHub's CLI does: success only for a
// digest attested by exactly the identity asked for. What is tested is which identity the script
// demands and that nothing else gets through; the Sigstore cryptography is gh's (not run here).
// actions/record-image's record is checked here too.
const script = join(repoRoot, 'actions/verify-image/verify-image.sh');
const REPO = '123456789012.dkr.ecr.eu-west-1.amazonaws.com/shop';
const GOOD = `sha256:${'1'.repeat(64)}`;
const DEPLOY_YML_MAIN = 'https://github.com/octo/shop/.github/workflows/deploy.yml@refs/heads/main';

const dir = mkdtempSync(join(tmpdir(), 'deploybot-fake-gh-attest-'));
writeFileSync(
  join(dir, 'gh'),
  `#!/usr/bin/env bash
set -euo pipefail
printf '%s\\n' "$*" >>"$FAKE_GH_LOG"
[ "$1 $2" = "attestation verify" ] || { echo "unexpected gh call: $*" >&2; exit 1; }
artifact="$3"; identity=""; repo=""; hosted=false
shift 3
while [ "$#" -gt 0 ]; do
  case "$1" in
    --cert-identity) identity="$2"; shift ;;
    --repo) repo="$2"; shift ;;
    --deny-self-hosted-runners) hosted=true ;;
  esac
  shift
done
digest="\${artifact##*@}"
while read -r attested signer runner; do
  if [ "$attested" = "$digest" ] && [ "$signer" = "$identity" ] && [ "$repo" = octo/shop ] &&
    { [ "$runner" = github-hosted ] || [ "$hosted" = false ]; }; then
    echo '[{"verificationResult":{}}]'; exit 0
  fi
done <"$FAKE_ATTESTATIONS"
echo "Error: verifying with issuer \\"sigstore.dev\\": no matching attestations found" >&2
exit 1
`,
);
chmodSync(join(dir, 'gh'), 0o755);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let attestations: string[] = [];
beforeEach(() => {
  attestations = [];
  writeFileSync(join(dir, 'gh.log'), '');
});

async function verify(image: string, env: Record<string, string> = {}) {
  writeFileSync(join(dir, 'attestations'), attestations.map((a) => `${a}\n`).join(''));
  const output = join(dir, 'output');
  writeFileSync(output, '');
  const run = await runProcess('bash', [script], {
    env: {
      PATH: `${dir}:${process.env.PATH}`,
      GITHUB_OUTPUT: output,
      GITHUB_REPOSITORY: 'octo/shop',
      GITHUB_SERVER_URL: 'https://github.com',
      DEFAULT_BRANCH: 'main',
      GH_TOKEN: 'token',
      FAKE_ATTESTATIONS: join(dir, 'attestations'),
      FAKE_GH_LOG: join(dir, 'gh.log'),
      VERIFY_INTERVAL: '0',
      IMAGE: image,
      ...env,
    },
    timeoutMs: 20_000,
  });
  return {
    ...run,
    output: run.output,
    outputs: readFileSync(output, 'utf8'),
    gh: readFileSync(join(dir, 'gh.log'), 'utf8'),
  };
}

describe('verify-image', () => {
  it('passes an image attested by deploy.yml on the default branch, on a GitHub-hosted runner', async () => {
    attestations = [`${GOOD} ${DEPLOY_YML_MAIN} github-hosted`];
    const run = await verify(`${REPO}@${GOOD}`);
    expect(run.code, run.output).toBe(0);
    expect(run.outputs).toBe(`image=${REPO}@${GOOD}\n`);
    expect(run.gh.trim()).toBe(
      `attestation verify oci://${REPO}@${GOOD} --repo octo/shop --cert-identity ${DEPLOY_YML_MAIN} --deny-self-hosted-runners --format json`,
    );
  });

  it.each([
    ['no attestation at all (an image pushed by anything else)', []],
    [
      'attested by deploy.yml on another branch',
      [`${GOOD} https://github.com/octo/shop/.github/workflows/deploy.yml@refs/heads/evil github-hosted`],
    ],
    [
      'attested by another workflow of the repository',
      [`${GOOD} https://github.com/octo/shop/.github/workflows/evil.yml@refs/heads/main github-hosted`],
    ],
    [
      'attested by deploy.yml of a fork',
      [`${GOOD} https://github.com/mallory/shop/.github/workflows/deploy.yml@refs/heads/main github-hosted`],
    ],
    ['built on a self-hosted runner', [`${GOOD} ${DEPLOY_YML_MAIN} self-hosted`]],
  ])('attack: refuses an image %s', async (_label, list) => {
    attestations = list;
    const run = await verify(`${REPO}@${GOOD}`, { VERIFY_TRIES: '2' });
    expect(run.code).toBe(1);
    expect(run.output).toContain(
      `::error title=No valid attestation::${REPO}@${GOOD} has no build provenance attestation signed by ${DEPLOY_YML_MAIN}`,
    );
    expect(run.outputs).toBe('');
    expect(run.gh.trim().split('\n')).toHaveLength(2);
  });

  it.each([
    `${REPO}:${'b'.repeat(40)}`,
    `${REPO}:latest`,
    REPO,
    `${REPO}@sha256:abc`,
    '',
    `${REPO}@${GOOD};id`,
  ])('refuses %j without asking: only digests are deployed (exit 2)', async (image) => {
    attestations = [`${GOOD} ${DEPLOY_YML_MAIN} github-hosted`];
    const run = await verify(image);
    expect(run.code).toBe(2);
    expect(run.output).toContain('::error title=Image not verified::');
    expect(run.gh).toBe('');
  });

  it('asks for the identity of the default branch, whatever it is called', async () => {
    const trunk = DEPLOY_YML_MAIN.replace('refs/heads/main', 'refs/heads/trunk');
    attestations = [`${GOOD} ${trunk} github-hosted`];
    expect((await verify(`${REPO}@${GOOD}`)).code).toBe(1);
    expect((await verify(`${REPO}@${GOOD}`, { DEFAULT_BRANCH: 'trunk' })).code).toBe(0);
  });
});

describe('record-image', () => {
  const writeRecord = async (image: string) => {
    const output = join(dir, 'record-output');
    writeFileSync(output, '');
    const run = await runProcess('bash', [join(repoRoot, 'actions/record-image/write-record.sh')], {
      env: {
        PATH: process.env.PATH,
        RUNNER_TEMP: dir,
        GITHUB_OUTPUT: output,
        ENVIRONMENT: 'staging',
        SHA: 'b'.repeat(40),
        IMAGE: image,
      },
    });
    return {
      ...run,
      file: readFileSync(output, 'utf8')
        .replace(/^file=/, '')
        .trim(),
    };
  };

  it('writes what resolve-image reads: environment, commit, image by digest', async () => {
    const run = await writeRecord(`${REPO}@${GOOD}`);
    expect(run.code, run.output).toBe(0);
    expect(readFileSync(run.file, 'utf8')).toBe(
      `environment=staging\nsha=${'b'.repeat(40)}\nimage=${REPO}@${GOOD}\n`,
    );
  });

  it('records nothing but a digest', async () => {
    const run = await writeRecord(`${REPO}:latest`);
    expect(run.code).toBe(2);
    expect(run.file).toBe('');
  });
});
