import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { findStep, runStep } from './support/run-step.ts';

// The resolve job's image lookup, run as the runner would, with a stand-in `aws` CLI that answers
// like ECR does. It decides whether anything is built: production and rollbacks never build.
const lookup = findStep('.github/workflows/deploy.yml', 'resolve', 'Look up the image');
const SHA = 'b'.repeat(40);
const REPO_URI = '123456789012.dkr.ecr.eu-west-1.amazonaws.com/shop';
const bin = mkdtempSync(join(tmpdir(), 'deploybot-fake-aws-'));
writeFileSync(
  join(bin, 'aws'),
  `#!/usr/bin/env bash
set -euo pipefail
case "$1 $2" in
  "sts get-caller-identity") echo "123456789012" ;;
  "ecr describe-images")
    case "$FAKE_ECR" in
      exists) echo '{"imageDetails":[{"imageTags":["${SHA}"]}]}' ;;
      missing) echo "An error occurred (ImageNotFoundException) when calling the DescribeImages operation: not found" >&2; exit 254 ;;
      denied) echo "An error occurred (AccessDeniedException) when calling the DescribeImages operation" >&2; exit 254 ;;
    esac ;;
  *) echo "unexpected aws call: $*" >&2; exit 1 ;;
esac
`,
);
chmodSync(join(bin, 'aws'), 0o755);
afterAll(() => rmSync(bin, { recursive: true, force: true }));

const resolveImage = (environment: string, action: string, ecr: 'exists' | 'missing' | 'denied') =>
  runStep(lookup, {
    PATH: `${bin}:${process.env.PATH}`,
    FAKE_ECR: ecr,
    ECR_REPOSITORY: 'shop',
    AWS_REGION: 'eu-west-1',
    SHA,
    ENVIRONMENT: environment,
    ACTION: action,
  });

describe('resolve: Look up the image', () => {
  it('staging, new commit: builds once', async () => {
    const run = await resolveImage('staging', 'deploy', 'missing');
    expect(run.code, run.output).toBe(0);
    expect(run.outputs).toEqual({ repository: REPO_URI, image: `${REPO_URI}:${SHA}`, build: 'true' });
  });

  it('staging, image already built: nothing is built again', async () => {
    const run = await resolveImage('staging', 'deploy', 'exists');
    expect(run.code, run.output).toBe(0);
    expect(run.outputs.build).toBe('false');
  });

  it('production promotes the exact image staging ran: no build', async () => {
    const run = await resolveImage('production', 'deploy', 'exists');
    expect(run.code, run.output).toBe(0);
    expect(run.outputs).toEqual({ repository: REPO_URI, image: `${REPO_URI}:${SHA}`, build: 'false' });
  });

  it.each([
    ['production', 'deploy'],
    ['production', 'rollback'],
    ['staging', 'rollback'],
  ])('%s %s of a commit with no image fails instead of building', async (environment, action) => {
    const run = await resolveImage(environment, action, 'missing');
    expect(run.code).toBe(1);
    expect(run.output).toMatch(/::error title=No image::.*deploy b{40} to staging first/);
    expect(run.outputs).toEqual({});
  });

  it('an ECR error other than "not found" stops the run rather than rebuilding', async () => {
    const run = await resolveImage('staging', 'deploy', 'denied');
    expect(run.code).toBe(1);
    expect(run.output).toMatch(/ECR lookup failed.*AccessDenied/);
    expect(run.outputs).toEqual({});
  });
});
