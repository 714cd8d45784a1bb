import { isRunOfWorkflow } from './read-delivery.ts';

/** The fields of a workflow run that say where it came from (REST and webhook payloads share them). */
export type RunOrigin = {
  path?: string;
  workflow_id?: number;
  head_branch?: string | null;
  event?: string;
  display_title?: string | null;
  conclusion?: string | null;
};

/** Events that start the deploy workflow on purpose: the bot's dispatch, the Actions UI, a push. */
const DEPLOY_EVENTS = new Set(['workflow_dispatch', 'push']);

/**
 * Whether a run is one the bot may follow or believe: a run of the configured deploy workflow, on
 * the default branch, started by `workflow_dispatch` or `push`. A workflow of the same name pushed
 * on any other branch, or started by another event, runs code nobody reviewed.
 */
export function isTrustedDeployRun(run: RunOrigin, workflow: string, defaultBranch: string): boolean {
  return (
    isRunOfWorkflow(run, workflow) &&
    run.head_branch === defaultBranch &&
    typeof run.event === 'string' &&
    DEPLOY_EVENTS.has(run.event)
  );
}

/**
 * The commit a trusted deploy run deployed to `environment`, from its title (deploy.yml's run-name:
 * `Deploy|Rollback <environment> <full sha> …`); null when the run is not trusted, names another
 * environment or no full SHA, or did not succeed while the deployment claims it did.
 */
export function deployedByWorkflow(
  run: RunOrigin,
  expect: { workflow: string; defaultBranch: string; environment: string; succeeded: boolean },
): string | null {
  if (!isTrustedDeployRun(run, expect.workflow, expect.defaultBranch)) return null;
  if (expect.succeeded && run.conclusion !== 'success') return null;
  const named = /^(?:Deploy|Rollback) ([a-z][a-z0-9-]{0,31}) ([0-9a-f]{40})\b/.exec(run.display_title ?? '');
  return named?.[1] === expect.environment ? (named[2] ?? null) : null;
}
