import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { parse } from 'yaml';

/** Root of the repository. */
export const repoRoot = resolve(import.meta.dirname, '../../..');

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? walk(path) : [path];
  });
}

/** Workflow files (`.github/workflows/*.yml`), repo-relative. */
export function workflowFiles(): string[] {
  return readdirSync(join(repoRoot, '.github/workflows'))
    .filter((f) => /\.ya?ml$/.test(f))
    .map((f) => `.github/workflows/${f}`)
    .sort();
}

/** Every `action.yml` under `actions/`, repo-relative. */
export function actionFiles(): string[] {
  return walk(join(repoRoot, 'actions'))
    .filter((f) => /\/action\.ya?ml$/.test(f))
    .map((f) => relative(repoRoot, f))
    .sort();
}

/** True for a `*.sh` file, or a file without an extension that starts with a bash shebang. */
function isShellScript(file: string): boolean {
  if (file.endsWith('.sh')) return true;
  if (/\.[A-Za-z0-9]+$/.test(file)) return false;
  return readFileSync(file, 'utf8').startsWith('#!/usr/bin/env bash\n');
}

/** Every shell script of the pipeline (`scripts/`, `actions/`, the gate too), repo-relative. */
export function shellScripts(): string[] {
  return [...walk(join(repoRoot, 'scripts')), ...walk(join(repoRoot, 'actions'))]
    .filter(isShellScript)
    .map((f) => relative(repoRoot, f))
    .sort();
}

/** Reads a repo file as text. */
export function readRepoFile(path: string): string {
  return readFileSync(join(repoRoot, path), 'utf8');
}

/** A YAML mapping as parsed, at the trust boundary between the file and the test. */
export type YamlMap = Record<string, unknown>;

/** Parses a repo YAML file into a mapping. @throws {Error} when the top level is not a mapping. */
export function readYaml(path: string): YamlMap {
  const doc: unknown = parse(readRepoFile(path));
  if (!isMap(doc)) throw new Error(`${path}: top level is not a mapping`);
  return doc;
}

/** True for a plain mapping. */
export function isMap(value: unknown): value is YamlMap {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A step of a job or a composite action. */
export interface Step {
  name?: string;
  id?: string;
  uses?: string;
  run?: string;
  shell?: string;
  if?: string;
  with?: YamlMap;
  env?: YamlMap;
}

/** Steps of a job or a composite action, with where they come from. */
export interface LocatedSteps {
  where: string;
  steps: Step[];
}

function asSteps(value: unknown): Step[] {
  return Array.isArray(value) ? value.filter(isMap).map((s) => s as Step) : [];
}

/** Jobs of a parsed workflow, by id. */
export function jobsOf(workflow: YamlMap): Record<string, YamlMap> {
  const jobs = workflow.jobs;
  if (!isMap(jobs)) return {};
  return Object.fromEntries(Object.entries(jobs).filter((e): e is [string, YamlMap] => isMap(e[1])));
}

/** All steps in every workflow job and every composite action. */
export function allSteps(): LocatedSteps[] {
  const fromWorkflows = workflowFiles().flatMap((file) =>
    Object.entries(jobsOf(readYaml(file))).map(([id, job]) => ({
      where: `${file} job ${id}`,
      steps: asSteps(job.steps),
    })),
  );
  const fromActions = actionFiles().map((file) => {
    const runs = readYaml(file).runs;
    return { where: file, steps: asSteps(isMap(runs) ? runs.steps : undefined) };
  });
  return [...fromWorkflows, ...fromActions];
}

/** `on.workflow_dispatch.inputs` of deploy.yml. */
export function dispatchInputs(): YamlMap {
  const on = readYaml('.github/workflows/deploy.yml').on;
  const dispatch = isMap(on) ? on.workflow_dispatch : undefined;
  const inputs = isMap(dispatch) ? dispatch.inputs : undefined;
  if (!isMap(inputs)) throw new Error('deploy.yml has no workflow_dispatch inputs');
  return inputs;
}
