import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { repoRoot } from './support/pipeline-files.ts';
import { runProcess } from './support/run-process.ts';

// actions/deploy-k8s/deploy-k8s.sh with a stand-in kubectl that records its calls and lets each
// test decide whether a rollout completes. (No cluster here: what is checked is what the script
// asks kubectl to do, and what it concludes from the answers.)
const script = join(repoRoot, 'actions/deploy-k8s/deploy-k8s.sh');
const dir = mkdtempSync(join(tmpdir(), 'deploybot-fake-kubectl-'));
const log = join(dir, 'calls.log');
writeFileSync(
  join(dir, 'kubectl'),
  `#!/usr/bin/env bash
set -euo pipefail
printf '%s\\n' "$*" >>"$FAKE_LOG"
[ -f "$KUBECONFIG" ] || { echo "no kubeconfig" >&2; exit 1; }
shift 2 # --namespace <ns>
case "$1 $2" in
  "get deployment") echo "registry.example/shop/app:old" ;;
  "set image") ;;
  "rollout undo") touch "$FAKE_LOG.undone" ;;
  "rollout status")
    if [ -f "$FAKE_LOG.undone" ]; then exit "$FAKE_UNDO_STATUS"; fi
    exit "$FAKE_ROLLOUT_STATUS" ;;
  *) echo "unexpected kubectl call: $*" >&2; exit 1 ;;
esac
`,
);
chmodSync(join(dir, 'kubectl'), 0o755);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const IMAGE = `registry.example/shop/app@sha256:${'0123456789abcdef'.repeat(4)}`;

async function deployK8s(env: Record<string, string>) {
  const output = join(dir, 'github-output');
  writeFileSync(output, '');
  const run = await runProcess('bash', [script], {
    env: {
      PATH: `${dir}:${process.env.PATH}`,
      RUNNER_TEMP: dir,
      GITHUB_OUTPUT: output,
      FAKE_LOG: log,
      FAKE_ROLLOUT_STATUS: '0',
      FAKE_UNDO_STATUS: '0',
      K8S_COMMAND: 'deploy',
      DEPLOY_IMAGE: IMAGE,
      K8S_NAMESPACE: 'shop',
      K8S_DEPLOYMENT: 'web',
      K8S_CONTAINER: 'app',
      KUBECONFIG_CONTENT: 'apiVersion: v1\nkind: Config\n',
      ROLLOUT_TIMEOUT: '90s',
      ...env,
    },
  });
  const calls = readFileSync(log, 'utf8').trim().split('\n').filter(Boolean);
  const outputs = Object.fromEntries(
    readFileSync(output, 'utf8')
      .split('\n')
      .filter((l) => l.includes('='))
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
  );
  return { ...run, calls, outputs };
}

describe('deploy-k8s.sh', () => {
  beforeEach(() => {
    writeFileSync(log, '');
    rmSync(`${log}.undone`, { force: true });
  });

  it('sets the image and waits for the rollout with the timeout', async () => {
    const run = await deployK8s({});
    expect(run.code, run.output).toBe(0);
    expect(run.calls).toEqual([
      '--namespace shop get deployment web -o jsonpath={.spec.template.spec.containers[?(@.name=="app")].image}',
      `--namespace shop set image deployment/web app=${IMAGE}`,
      '--namespace shop rollout status deployment/web --timeout 90s',
    ]);
    expect(run.outputs).toEqual({
      previous_image: 'registry.example/shop/app:old',
      result: 'deployed',
      exit_code: '0',
    });
  });

  it('undoes a rollout that does not complete: exit 3', async () => {
    const run = await deployK8s({ FAKE_ROLLOUT_STATUS: '1' });
    expect(run.code, run.output).toBe(3);
    expect(run.calls.slice(-2)).toEqual([
      '--namespace shop rollout undo deployment/web',
      '--namespace shop rollout status deployment/web --timeout 90s',
    ]);
    expect(run.outputs).toMatchObject({ result: 'rolled-back', exit_code: '3' });
  });

  it('says so when the undo fails too: exit 4', async () => {
    const run = await deployK8s({ FAKE_ROLLOUT_STATUS: '1', FAKE_UNDO_STATUS: '1' });
    expect(run.code).toBe(4);
    expect(run.outputs).toMatchObject({ result: 'rollback-failed', exit_code: '4' });
  });

  it('undo alone rolls back to the previous revision', async () => {
    const run = await deployK8s({ K8S_COMMAND: 'undo', DEPLOY_IMAGE: '' });
    expect(run.code, run.output).toBe(0);
    expect(run.calls).toContain('--namespace shop rollout undo deployment/web');
    expect(run.calls.some((c) => c.includes('set image'))).toBe(false);
  });

  it.each<Record<string, string>>([
    { DEPLOY_IMAGE: 'app;id' },
    // A tag, even a full commit SHA: Kubernetes runs images by digest only, like the hosts.
    { DEPLOY_IMAGE: 'registry.example/shop/app:0123456789abcdef0123456789abcdef01234567' },
    { DEPLOY_IMAGE: '' },
    { K8S_NAMESPACE: 'Shop' },
    { K8S_CONTAINER: '$(id)' },
    { ROLLOUT_TIMEOUT: '5 minutes' },
    { K8S_COMMAND: 'delete' },
    { KUBECONFIG_CONTENT: '' },
  ])('refuses %j with exit 2 before calling kubectl', async (env) => {
    const run = await deployK8s(env);
    expect(run.code, run.output).toBe(2);
    expect(run.calls).toEqual([]);
  });
});
