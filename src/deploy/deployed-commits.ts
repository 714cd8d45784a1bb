import type { DeploymentRecord } from '../core/deployment.ts';
import { toGitHubError } from '../github/github-error.ts';
import { deployedByWorkflow } from '../github/trusted-run.ts';
import type { DeployDeps } from './deploy-deps.ts';

/** One GitHub deployment of an environment, with the commit it really deployed. */
export type DeployedCommit = {
  deploymentId: number;
  /** The commit deployed: see {@link listDeployedCommits} for where it comes from. */
  sha: string;
  ref: string;
  creator: string;
  /** ms */
  createdAt: number;
  /** From all statuses: `succeeded` when any is `success` (a later `inactive` does not undo it). */
  outcome: string;
  /** When it succeeded or failed (ms); null while going on. */
  endedAt: number | null;
  succeeded: boolean;
  environmentUrl: string | null;
  /** The Actions run that created it, from the statuses' job links; null for deployments made otherwise. */
  runId: number | null;
  /** The bot's record of that run, when the bot dispatched it. */
  record: DeploymentRecord | null;
  /**
   * Whether the deployment ties to a run the bot dispatched, or to a run of the deploy workflow on
   * the default branch (from workflow_dispatch or push) that deployed this environment. Anyone with
   * write access can create deployments and statuses through the API, pointing at any run: only
   * trusted ones count as what runs, as a rollback target, or as the base of a comparison.
   */
  trusted: boolean;
};

const RUN_LINK = /\/actions\/runs\/(\d+)(?:\/|$)/;

/**
 * The newest deployments of an environment per GitHub's Deployments API (deployments made without
 * the bot count), newest first, at most `limit` (or the first `limit` successful ones).
 *
 * A deployment that a job's `environment:` created carries the *run's* commit (the default branch the
 * workflow was dispatched on), not the `sha` input that was deployed. So the commit is taken from the
 * bot's record of the run (matched by the run id in the statuses' job link), else from the full SHA in
 * the name of a trusted run of deploy.yml (it puts `inputs.sha` there); see {@link DeployedCommit.trusted}.
 * @throws {GitHubError}
 */
export async function listDeployedCommits(
  deps: DeployDeps,
  environment: string,
  options: { limit: number; successfulOnly?: boolean },
): Promise<DeployedCommit[]> {
  try {
    const { data } = await deps.github.rest.repos.listDeployments({
      ...deps.repo,
      environment,
      per_page: options.successfulOnly ? 30 : Math.min(100, options.limit),
    });
    const found: DeployedCommit[] = [];
    // A few at a time: up to 50 status requests must not trip GitHub's secondary rate limit.
    for (let i = 0; i < data.length && found.length < options.limit; i += 6) {
      const batch = await Promise.all(
        data.slice(i, i + 6).map(async (d): Promise<DeployedCommit> => {
          const { data: statuses } = await deps.github.rest.repos.listDeploymentStatuses({
            ...deps.repo,
            deployment_id: d.id,
            per_page: 100,
          });
          return {
            deploymentId: d.id,
            sha: d.sha,
            ref: d.ref,
            creator: d.creator?.login ?? 'unknown',
            createdAt: Date.parse(d.created_at),
            ...outcomeOf(statuses),
            runId: runIdOf(statuses),
            record: null,
            trusted: false,
          };
        }),
      );
      for (const entry of batch) {
        if (found.length >= options.limit) break;
        if (options.successfulOnly && !entry.succeeded) continue;
        found.push(await attribute(deps, environment, entry));
      }
    }
    return found;
  } catch (error) {
    throw toGitHubError(error, `deployments of ${environment}`);
  }
}

/**
 * Ties a deployment to the run that made it: the bot's own record of that run (same environment),
 * else the run itself when it is a trusted run of the deploy workflow for this environment, with
 * the commit named in its title. Anything else stays untrusted, with GitHub's own fields.
 */
async function attribute(
  deps: DeployDeps,
  environment: string,
  entry: DeployedCommit,
): Promise<DeployedCommit> {
  if (entry.runId === null) return entry;
  const record = await deps.store.findDeploymentByRunId(entry.runId);
  if (record) {
    if (record.environment !== environment || record.service !== deps.service.name) return entry;
    return { ...entry, sha: record.sha, ref: record.ref, record, trusted: true };
  }
  try {
    const { data: run } = await deps.github.rest.actions.getWorkflowRun({
      ...deps.repo,
      run_id: entry.runId,
    });
    const deployed = deployedByWorkflow(run, {
      workflow: deps.config.github.workflow,
      defaultBranch: await deps.defaultBranch(),
      environment,
      succeeded: entry.succeeded,
    });
    // The deployment's ref is the branch the workflow ran from; what it deployed is the named commit.
    return deployed ? { ...entry, sha: deployed, ref: deployed, trusted: true } : entry;
  } catch {
    // The run may be gone (retention): nothing ties the deployment to a trusted run any more.
    return entry;
  }
}

type Status = {
  state: string;
  created_at: string;
  environment_url?: string | null;
  log_url?: string | null;
  target_url?: string | null;
};

/**
 * The run that made the deployment, from the job link of its earliest status. Later `inactive`
 * statuses are skipped: they are posted when a newer deployment replaced this one.
 */
function runIdOf(statuses: readonly Status[]): number | null {
  for (const s of [...statuses].reverse()) {
    if (s.state === 'inactive') continue;
    const match = RUN_LINK.exec(s.log_url ?? '') ?? RUN_LINK.exec(s.target_url ?? '');
    if (match?.[1]) return Number(match[1]);
  }
  return null;
}

/** GitHub lists statuses newest first. */
function outcomeOf(
  statuses: readonly Status[],
): Pick<DeployedCommit, 'outcome' | 'endedAt' | 'succeeded' | 'environmentUrl'> {
  const success = statuses.find((s) => s.state === 'success');
  const environmentUrl =
    success?.environment_url || statuses.find((s) => s.environment_url)?.environment_url || null;
  if (success)
    return { outcome: 'succeeded', endedAt: Date.parse(success.created_at), succeeded: true, environmentUrl };
  const failed = statuses.find((s) => s.state === 'failure' || s.state === 'error');
  if (failed) {
    return {
      outcome: failed.state === 'error' ? 'error' : 'failed',
      endedAt: Date.parse(failed.created_at),
      succeeded: false,
      environmentUrl,
    };
  }
  const latest = statuses[0]?.state;
  return {
    outcome: latest ? latest.replace('_', ' ') : 'pending',
    endedAt: null,
    succeeded: false,
    environmentUrl,
  };
}
