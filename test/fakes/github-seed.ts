import type { GitHubState, RunRecord } from './github-state.ts';

/** How a seeded deployment's run differs from a deploy.yml run on the default branch. */
export type SeedRun = {
  branch?: string;
  event?: string;
  path?: string;
  title?: string;
  conclusion?: 'success' | 'failure';
};

export type SeedOptions = {
  environment: string;
  sha: string;
  statuses: string[];
  creator?: string;
  createdAt?: string;
  via?: 'api' | SeedRun;
};

/**
 * A deployment with its statuses, made the way GitHub makes one: by a completed run of the deploy
 * workflow on the default branch, whose job the statuses link (`log_url`), unless `via` says
 * otherwise. Returns the deployment's id.
 */
export function seedDeployment(state: GitHubState, opts: SeedOptions): number {
  const run = opts.via === 'api' ? null : seedRun(state, opts, opts.via ?? {});
  const d = state.createDeployment({
    ...opts,
    creator: opts.creator ?? 'github-actions[bot]',
    ...(run ? { runId: run.id, ref: run.headBranch } : {}),
  });
  const { owner, repo } = state.id;
  const logUrl = run ? `https://github.com/${owner}/${repo}/actions/runs/${run.id}/job/${run.id + 7}` : '';
  for (const status of opts.statuses) {
    const url = state.environment(opts.environment).url ?? '';
    state.addStatus(d, status as Parameters<GitHubState['addStatus']>[1], {
      createdAt: opts.createdAt,
      environmentUrl: status === 'success' ? url : '',
      logUrl,
    });
  }
  return d.id;
}

/** A completed run that made a seeded deployment (deploy.yml names it `Deploy <env> <sha> [<id>]`). */
function seedRun(state: GitHubState, opts: SeedOptions, via: SeedRun): RunRecord {
  const branch = via.branch ?? state.defaultBranch;
  const inputs = {
    environment: opts.environment,
    sha: opts.sha,
    action: 'deploy',
    request_id: `seed-${state.runs.size + 1}`,
    requested_by: 'seed',
  };
  const run = state.createRun(branch, state.refSha(branch) ?? opts.sha, inputs, 'octocat');
  run.displayTitle = via.title ?? `Deploy ${opts.environment} ${opts.sha} [manual-${run.id}]`;
  run.event = via.event ?? 'workflow_dispatch';
  if (via.path) run.path = via.path;
  run.status = 'completed';
  run.conclusion = via.conclusion ?? (opts.statuses.includes('success') ? 'success' : 'failure');
  if (opts.createdAt) run.createdAt = opts.createdAt;
  return run;
}
