import {
  chmodSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { repoRoot } from './support/pipeline-files.ts';
import { runProcess } from './support/run-process.ts';

// actions/deploy-k8s/deploy-k8s.sh with K8S_KIND=rollout (an Argo Rollouts Rollout), against a
// stand-in kubectl that plays the Rollout's controller: a spec change makes it Progressing, then
// Healthy on the new revision, or Degraded when the image is FAKE_BAD (or every image, with
// FAKE_ALL_BAD), or Paused for ever when it is FAKE_STUCK. FAKE_PLUGIN=1 installs the
// kubectl-argo-rollouts plugin. What is checked is what the script asks kubectl to do and what it
// concludes; there is no cluster here.
const script = join(repoRoot, 'actions/deploy-k8s/deploy-k8s.sh');
const dir = mkdtempSync(join(tmpdir(), 'deploybot-fake-argo-'));
const state = (name: string) => join(dir, name);
writeFileSync(
  join(dir, 'kubectl'),
  `#!/usr/bin/env bash
set -euo pipefail
printf '%s\\n' "$*" >>"$FAKE_DIR/calls.log"
[ -f "$KUBECONFIG" ] || { echo "no kubeconfig" >&2; exit 1; }
shift 2 # --namespace <ns>
spec() { printf '%s\\n' "$1" >"$FAKE_DIR/image"; echo $(( $(cat "$FAKE_DIR/generation") + 1 )) >"$FAKE_DIR/generation"; rm -f "$FAKE_DIR/polled" "$FAKE_DIR/aborted"; }
bad() { [ "\${FAKE_ALL_BAD:-0}" = 1 ] || [ "$(cat "$FAKE_DIR/image")" = "\${FAKE_BAD:-none}" ]; }
stuck() { [ "$(cat "$FAKE_DIR/image")" = "\${FAKE_STUCK:-none}" ]; }
if [ "$1" = argo ]; then
  [ "\${FAKE_PLUGIN:-0}" = 1 ] || { echo 'error: unknown command "argo" for "kubectl"' >&2; exit 1; }
  case "$3" in
    version) echo "kubectl-argo-rollouts: v1.7.2" ;;
    set) spec "\${6#*=}" ;;
    status) if bad || stuck; then echo Degraded; exit 1; fi; echo Healthy ;;
    abort) touch "$FAKE_DIR/aborted" ;;
    undo) spec "registry.example/shop/app@sha256:$(printf 'b%.0s' {1..64})" ;;
    *) echo "unexpected: $*" >&2; exit 1 ;;
  esac
  exit 0
fi
case "$1 $2" in
  "get rollouts.argoproj.io")
    case "$5" in
      *'containers[?(@.name=="app")].image}') cat "$FAKE_DIR/image" ;;
      *'containers[*].name}') echo "istio-proxy app" ;;
      *'.metadata.generation}'*)
        g="$(cat "$FAKE_DIR/generation")" aborted=""
        [ -f "$FAKE_DIR/aborted" ] && aborted=true
        if bad; then echo "$g|$g|Degraded|new$g|old||$aborted"
        elif stuck; then echo "$g|$g|Paused|new$g|old|$aborted"
        elif [ -f "$FAKE_DIR/polled" ]; then echo "$g|$g|Healthy|new$g|new$g|$aborted"
        else touch "$FAKE_DIR/polled"; echo "$g|$((g - 1))|Healthy|old|old|$aborted"; fi ;;
      *) echo "unexpected: $*" >&2; exit 1 ;;
    esac ;;
  "patch rollouts.argoproj.io")
    if [ "$5" = merge ]; then touch "$FAKE_DIR/aborted"; else spec "$(sed -n 's/.*"value":"\\([^"]*\\)".*/\\1/p' <<<"$7")"; fi ;;
  "get replicasets") printf '%s\\n' "1 registry.example/shop/app@sha256:one" "3 registry.example/shop/app@sha256:three" "2 registry.example/shop/app@sha256:two" ;;
  *) echo "unexpected kubectl call: $*" >&2; exit 1 ;;
esac
`,
);
chmodSync(join(dir, 'kubectl'), 0o755);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const IMAGE = `registry.example/shop/app@sha256:${'0123456789abcdef'.repeat(4)}`;
const OLD = `registry.example/shop/app@sha256:${'a'.repeat(64)}`;

async function rollout(env: Record<string, string>) {
  const output = state('github-output');
  writeFileSync(output, '');
  const run = await runProcess('bash', [script], {
    env: {
      PATH: `${dir}:${process.env.PATH}`,
      RUNNER_TEMP: dir,
      GITHUB_OUTPUT: output,
      FAKE_DIR: dir,
      K8S_COMMAND: 'deploy',
      K8S_KIND: 'rollout',
      DEPLOY_IMAGE: IMAGE,
      K8S_NAMESPACE: 'shop',
      K8S_DEPLOYMENT: 'web',
      K8S_CONTAINER: 'app',
      KUBECONFIG_CONTENT: 'apiVersion: v1\nkind: Config\n',
      ROLLOUT_TIMEOUT: '90s',
      K8S_POLL_INTERVAL: '0',
      ...env,
    },
  });
  const calls = readFileSync(state('calls.log'), 'utf8').trim().split('\n').filter(Boolean);
  const outputs = Object.fromEntries(
    readFileSync(output, 'utf8')
      .split('\n')
      .filter((l) => l.includes('='))
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
  );
  return { ...run, calls, outputs, image: readFileSync(state('image'), 'utf8').trim() };
}

const patchImage = (index: number, image: string) =>
  `--namespace shop patch rollouts.argoproj.io web --type json -p [{"op":"replace","path":"/spec/template/spec/containers/${index}/image","value":"${image}"}]`;
const ABORT = `--namespace shop patch rollouts.argoproj.io web --type merge --subresource status -p {"status":{"abort":true}}`;

describe('deploy-k8s.sh with an Argo Rollouts Rollout', () => {
  beforeEach(() => {
    writeFileSync(state('calls.log'), '');
    writeFileSync(state('image'), `${OLD}\n`);
    writeFileSync(state('generation'), '1\n');
    for (const f of ['polled', 'aborted']) rmSync(state(f), { force: true });
  });

  describe('plain kubectl (no plugin)', () => {
    it('patches the container image by its index and waits until the new revision is the stable one', async () => {
      const run = await rollout({});
      expect(run.code, run.output).toBe(0);
      expect(run.calls).toContain(patchImage(1, IMAGE));
      expect(run.output).toContain('rollout web: phase Healthy, revision new2, stable new2');
      expect(run.outputs).toEqual({ previous_image: OLD, result: 'deployed', exit_code: '0' });
      expect(run.image).toBe(IMAGE);
    });

    it('a Rollout that degrades (a failed analysis, a crashing canary): aborted, the previous image set back, exit 3', async () => {
      const run = await rollout({ FAKE_BAD: IMAGE });
      expect(run.code, run.output).toBe(3);
      expect(run.output).toContain('phase Degraded');
      const patches = run.calls.filter((c) => c.includes(' patch '));
      expect(patches).toEqual([patchImage(1, IMAGE), ABORT, patchImage(1, OLD)]);
      expect(run.outputs).toMatchObject({ previous_image: OLD, result: 'rolled-back', exit_code: '3' });
      expect(run.image).toBe(OLD);
    });

    it('a Rollout that never finishes (paused) is aborted at the timeout', async () => {
      const run = await rollout({ FAKE_STUCK: IMAGE, ROLLOUT_TIMEOUT: '2s', K8S_POLL_INTERVAL: '1' });
      expect(run.code, run.output).toBe(3);
      expect(run.output).toContain('rollout web not done within 2s');
      expect(run.calls).toContain(ABORT);
      expect(run.image).toBe(OLD);
    }, 20_000);

    it('says so when setting the previous image back fails too: exit 4', async () => {
      const run = await rollout({ FAKE_ALL_BAD: '1' });
      expect(run.code).toBe(4);
      expect(run.outputs).toMatchObject({ result: 'rollback-failed', exit_code: '4' });
    });

    it('undo sets the image of the previous revision (its ReplicaSet) back', async () => {
      const run = await rollout({ K8S_COMMAND: 'undo', DEPLOY_IMAGE: '' });
      expect(run.code, run.output).toBe(0);
      expect(run.calls).toContain(patchImage(1, 'registry.example/shop/app@sha256:two'));
      expect(run.outputs.result).toBe('rolled-back');
    });
  });

  describe('with the kubectl-argo-rollouts plugin', () => {
    it('sets the image and waits with `argo rollouts status --timeout`', async () => {
      const run = await rollout({ FAKE_PLUGIN: '1' });
      expect(run.code, run.output).toBe(0);
      expect(run.calls.filter((c) => c.includes(' argo '))).toEqual([
        '--namespace shop argo rollouts version',
        `--namespace shop argo rollouts set image web app=${IMAGE}`,
        '--namespace shop argo rollouts status web --timeout 90s',
      ]);
    });

    it('aborts a failed rollout and sets the previous image back: exit 3', async () => {
      const run = await rollout({ FAKE_PLUGIN: '1', FAKE_BAD: IMAGE });
      expect(run.code, run.output).toBe(3);
      expect(run.calls.filter((c) => c.includes(' argo rollouts ') && !c.endsWith('version'))).toEqual([
        `--namespace shop argo rollouts set image web app=${IMAGE}`,
        '--namespace shop argo rollouts status web --timeout 90s',
        '--namespace shop argo rollouts abort web',
        `--namespace shop argo rollouts set image web app=${OLD}`,
        '--namespace shop argo rollouts status web --timeout 90s',
      ]);
      expect(existsSync(state('aborted'))).toBe(false);
      expect(run.image).toBe(OLD);
    });

    it('undo runs `argo rollouts undo`', async () => {
      const run = await rollout({ FAKE_PLUGIN: '1', K8S_COMMAND: 'undo', DEPLOY_IMAGE: '' });
      expect(run.code, run.output).toBe(0);
      expect(run.calls).toContain('--namespace shop argo rollouts undo web');
    });
  });

  it.each<Record<string, string>>([
    { K8S_KIND: 'statefulset' },
    { K8S_KIND: 'rollout;id' },
    { DEPLOY_IMAGE: 'registry.example/shop/app:v1' },
    { K8S_POLL_INTERVAL: '1s' },
  ])('refuses %j with exit 2 before calling kubectl', async (env) => {
    const run = await rollout(env);
    expect(run.code, run.output).toBe(2);
    expect(run.calls).toEqual([]);
  });
});

describe('examples/argo-rollouts', () => {
  const docs = readdirSync(join(repoRoot, 'examples/argo-rollouts'))
    .filter((f) => f.endsWith('.yaml'))
    .flatMap((f) =>
      parseAllDocuments(readFileSync(join(repoRoot, 'examples/argo-rollouts', f), 'utf8')).map(
        (d) => d.toJS() as Manifest,
      ),
    );
  const named = (kind: string) => docs.filter((d) => d.kind === kind).map((d) => d.metadata.name);
  const rollouts = docs.filter((d) => d.kind === 'Rollout');

  it('are Rollouts, Services and an AnalysisTemplate', () => {
    expect(named('Rollout')).toEqual(['web', 'web']);
    expect(named('Service').sort()).toEqual(['web-active', 'web-canary', 'web-preview', 'web-stable']);
    expect(named('AnalysisTemplate')).toEqual(['error-rate']);
    for (const r of rollouts) expect(r.apiVersion).toBe('argoproj.io/v1alpha1');
  });

  it.each(rollouts.map((r) => [Object.keys(r.spec.strategy)[0], r] as const))(
    'the %s Rollout fits the pipeline: container app by digest, a rollback window, nothing waits for a person',
    (_strategy, r) => {
      const app = r.spec.template.spec.containers.find((c) => c.name === 'app');
      expect(app?.image).toMatch(/^[a-z0-9.-]+\/[a-z0-9/._-]+@sha256:[a-f0-9]{64}$/);
      expect(r.spec.rollbackWindow?.revisions).toBeGreaterThan(0);
      const { canary, blueGreen } = r.spec.strategy;
      if (canary) {
        expect(canary.steps.map((s) => s.setWeight).filter((w) => w !== undefined)).toEqual([5, 25, 50, 100]);
        // A pause without a duration waits for a manual promotion: the pipeline would time out.
        for (const step of canary.steps) if ('pause' in step) expect(step.pause?.duration).toBeTruthy();
        expect(named('Service')).toEqual(
          expect.arrayContaining([canary.stableService, canary.canaryService]),
        );
      }
      if (blueGreen) {
        expect(blueGreen.autoPromotionEnabled).toBe(true);
        expect(named('Service')).toEqual(
          expect.arrayContaining([blueGreen.activeService, blueGreen.previewService]),
        );
      }
      const templates = [canary?.analysis, blueGreen?.prePromotionAnalysis].flatMap(
        (a) => a?.templates ?? [],
      );
      expect(templates.map((t) => t.templateName)).toEqual(['error-rate']);
    },
  );
});

interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string };
  spec: {
    rollbackWindow?: { revisions: number };
    template: { spec: { containers: Array<{ name: string; image: string }> } };
    strategy: {
      canary?: {
        stableService: string;
        canaryService: string;
        steps: Array<{ setWeight?: number; pause?: { duration?: string } }>;
        analysis?: { templates: Array<{ templateName: string }> };
      };
      blueGreen?: {
        activeService: string;
        previewService: string;
        autoPromotionEnabled: boolean;
        prePromotionAnalysis?: { templates: Array<{ templateName: string }> };
      };
    };
  };
}
