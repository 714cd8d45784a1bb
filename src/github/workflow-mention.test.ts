import { createRequire } from 'node:module';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isRunOfWorkflow, readDelivery } from './read-delivery.ts';
import { mayNameWorkflow } from './workflow-mention.ts';

const WORKFLOWS = ['deploy.yml', 'release-prod.yaml'];
const mayName = mayNameWorkflow(WORKFLOWS);
/** What the handler decides from the parsed payload: whether the run is of a deploy workflow. */
const isDeployRun = (body: Buffer) => {
  const news = readDelivery({ id: 'd', name: 'workflow_run', payload: JSON.parse(body.toString('utf8')) });
  return news.kind === 'run' && WORKFLOWS.some((w) => isRunOfWorkflow(news.run, w));
};

const require = createRequire(import.meta.url);
const runExamples = (
  require('@octokit/webhooks-examples/api.github.com/index.json') as {
    name: string;
    examples: { workflow_run?: Record<string, unknown> }[];
  }[]
)
  .filter((e) => e.name === 'workflow_run')
  .flatMap((e) => e.examples);

/** A JSON string literal for `text`, each character escaped as `\uXXXX` where `mask` says 1, `/` as `\/` where 2. */
function literal(text: string, mask: number[]): string {
  let out = '"';
  [...text].forEach((ch, i) => {
    const m = mask[i % Math.max(mask.length, 1)] ?? 0;
    if (m === 1) out += `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`;
    else if (m === 2 && ch === '/') out += '\\/';
    else out += JSON.stringify(ch).slice(1, -1);
  });
  return `${out}"`;
}

/** Paths near the deploy workflows': other cases, other directories, an `@ref`, a prefix, or anything. */
const nearPath = fc.oneof(
  fc
    .tuple(
      fc.constantFrom(...WORKFLOWS, 'ci.yml', 'deploy.yaml', 'Deploy.yml'),
      fc.constantFrom('.github/workflows/', 'x/', '', '.github/workflows/re'),
      fc.constantFrom('', '@refs/heads/main', '@v1', 'x'),
      fc.boolean(),
    )
    .map(([file, dir, suffix, upper]) => dir + (upper ? file.toUpperCase() : file) + suffix),
  fc.string(),
);

describe('mayNameWorkflow: false only for a workflow_run of no deploy workflow', () => {
  it('never rules out a run of a deploy workflow, however its path is written (property)', () => {
    const template = runExamples[0]?.workflow_run ?? {};
    fc.assert(
      fc.property(nearPath, fc.array(fc.integer({ min: 0, max: 2 }), { maxLength: 12 }), (path, mask) => {
        // A function, not a string: `$&` in a path is no replacement pattern.
        const run = JSON.stringify({ ...template, path: '@@PATH@@' }).replace('"@@PATH@@"', () =>
          literal(path, mask),
        );
        const body = Buffer.from(`{"action":"completed","workflow_run":${run}}`, 'utf8');
        if (isDeployRun(body)) expect(mayName(body)).toBe(true);
        if (!mayName(body)) expect(isDeployRun(body)).toBe(false);
      }),
      { numRuns: 3000 },
    );
  });

  it("rules out @octokit/webhooks-examples' runs of other workflows, and in the same runs of deploy.yml", () => {
    expect(runExamples.length).toBeGreaterThan(0);
    for (const example of runExamples) {
      const ci = Buffer.from(JSON.stringify(example));
      expect(isDeployRun(ci)).toBe(false);
      expect(mayName(ci)).toBe(false);
      const deploy = Buffer.from(
        JSON.stringify({
          ...example,
          workflow_run: { ...example.workflow_run, path: '.github/workflows/deploy.yml' },
        }),
      );
      expect(isDeployRun(deploy)).toBe(true);
      expect(mayName(deploy)).toBe(true);
    }
  });

  it('answers true for every body when a workflow is a numeric id or not plain ASCII', () => {
    const body = Buffer.from(JSON.stringify(runExamples[0]));
    expect(mayNameWorkflow(['deploy.yml', '12345'])(body)).toBe(true);
    expect(mayNameWorkflow(['dé.yml'])(body)).toBe(true);
    expect(mayNameWorkflow(['a"b.yml'])(body)).toBe(true);
    expect(mayNameWorkflow([])(body)).toBe(true);
    expect(mayNameWorkflow(['deploy.yml'])(Buffer.from('{"workflow_run":{"path":"x\\/deploy.yml"}}'))).toBe(
      true,
    );
  });
});
