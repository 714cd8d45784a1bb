import { serviceOfRepository } from '../core/service.ts';
import { requestIdFromTitle } from '../github/dispatch-inputs.ts';
import {
  type Delivery,
  isRunOfWorkflow,
  READ_EVENTS,
  readDelivery,
  repositoryOf,
} from '../github/read-delivery.ts';
import { mayNameRepository } from '../github/repository-mention.ts';
import type { GitHubRun } from '../github/run-events-from-github.ts';
import { fetchApproval } from '../github/run-lookups.ts';
import { isTrustedDeployRun } from '../github/trusted-run.ts';
import { mayNameWorkflow } from '../github/workflow-mention.ts';
import { applyEvents } from './apply-events.ts';
import { auditDeployment, type DeployDeps } from './deploy-deps.ts';
import { addFailureLog, findRecordOfRun } from './follow-run.ts';
import { withService } from './service-deps.ts';
import { trackExternalRun } from './track-external-run.ts';

/** What happened to a delivery: stable codes for logs and tests. */
export type DeliveryOutcome =
  | 'applied'
  | 'duplicate'
  | 'other_repository'
  | 'other_workflow'
  /** A run of a workflow of that name on another branch or from another event: nobody reviewed its code. */
  | 'untrusted_run'
  | 'unknown_run'
  /** A second run of a request that already has its run (a dispatch sent again): cancelled. */
  | 'second_run'
  | 'ignored';

/**
 * Handles a GitHub webhook delivery whose signature was already verified: drops deliveries for other
 * repositories cheaply, then what the bot has no use for (other events and workflows, runs of no
 * deployment: pure checks and a read, so an organisation's stream of deliveries writes nothing), then
 * repeats (by `X-GitHub-Delivery`, claimed before anything takes effect), matches the run to its
 * deployment and applies the news before answering. A run is matched or followed only when it is of the deploy
 * workflow on the default branch from `workflow_dispatch` or `push` (or already known by its id):
 * a copy of deploy.yml pushed on any branch cannot pose as a deployment. What needs more of GitHub's API (the reviewers of a waiting
 * run, a failed job's log) runs as a follow-up, after the answer.
 */
export async function handleDelivery(base: DeployDeps, delivery: Delivery): Promise<DeliveryOutcome> {
  const repository = repositoryOf(delivery);
  const service = repository && serviceOfRepository(base.services.config.services, repository);
  if (!service) return 'other_repository';
  // Everything below acts for the service whose repository sent it.
  const deps = withService(base, service);
  const news = readDelivery(delivery);
  if (news.kind === 'ignored') return 'ignored';
  const first = () => deps.store.rememberDelivery('github', delivery.id, deps.now());

  if (news.kind === 'run') {
    const { run } = news;
    if (!isRunOfWorkflow(run, deps.config.github.workflow)) return 'other_workflow';
    if (!(await first())) return 'duplicate';
    const known = await deps.store.findDeploymentByRunId(run.id);
    const trusted =
      known !== null || isTrustedDeployRun(run, deps.config.github.workflow, await deps.defaultBranch());
    if (!trusted) return 'untrusted_run';
    if (!known && (await cancelIfSecondRun(deps, run))) return 'second_run';
    const record =
      known ??
      (await findRecordOfRun(deps, run.id, run.display_title)) ??
      (await trackExternalRun(deps, run));
    if (!record) return 'unknown_run';
    const updated = await applyEvents(deps, record.id, news.events);
    deps.followUps.defer(`log of run ${run.id}`, () => addFailureLog(deps, updated));
    return 'applied';
  }

  const record = await deps.store.findDeploymentByRunId(news.runId);
  if (!record || record.service !== service.name) return 'unknown_run';
  if (!(await first())) return 'duplicate';
  const updated = await applyEvents(deps, record.id, news.events);
  if (news.kind === 'job') {
    if (news.waiting) {
      deps.followUps.defer(`reviewers of run ${news.runId}`, async () => {
        const approval = await fetchApproval(deps.github, deps.repo, news.runId, record.runUrl);
        if (approval) await applyEvents(deps, record.id, [approval]);
      });
    }
    deps.followUps.defer(`log of run ${news.runId}`, () => addFailureLog(deps, updated));
  }
  return 'applied';
}

/**
 * What the GitHub webhook route is given: {@link handleDelivery} (each outcome told to `onOutcome`),
 * and a look at a verified body before it is parsed, false only when the delivery provably comes to
 * nothing: an event {@link readDelivery} does not read (`ignored`), a body in which none of the
 * services' repositories can be named ({@link mayNameRepository}: `other_repository`, most of an
 * organisation's webhook), or a `workflow_run` that cannot be of a deploy workflow
 * ({@link mayNameWorkflow}: `other_workflow`, the repository's CI). Each is decided by the handler
 * before anything is stored, so skipping the parse changes nothing but its cost.
 */
export function deliveryRoute(
  base: DeployDeps,
  onOutcome: (delivery: Delivery, outcome: DeliveryOutcome) => void,
): {
  mayConcern: (body: Buffer, event: string) => boolean;
  handleDelivery: (delivery: Delivery) => Promise<void>;
} {
  const { services } = base.services.config;
  const mayName = mayNameRepository(services.map((s) => s.repository));
  const mayBeDeployRun = mayNameWorkflow(services.map((s) => s.workflow));
  return {
    mayConcern: (body, event) =>
      READ_EVENTS.has(event) && mayName(body) && (event !== 'workflow_run' || mayBeDeployRun(body)),
    handleDelivery: async (delivery) => onOutcome(delivery, await handleDelivery(base, delivery)),
  };
}

/**
 * A run whose title names a request that already has another run is a second run of that request
 * (GitHub listed the first too late, and the dispatch was sent again): it is cancelled, not followed
 * as a deployment of its own, so one request never deploys twice. Recorded in the audit trail.
 */
async function cancelIfSecondRun(deps: DeployDeps, run: GitHubRun): Promise<boolean> {
  const requestId = requestIdFromTitle(run.display_title);
  const owner = requestId === null ? null : await deps.store.getDeployment(requestId);
  if (!owner || owner.service !== deps.service.name || owner.runId === null || owner.runId === run.id)
    return false;
  if (run.status !== 'completed') {
    await auditDeployment(
      deps,
      null,
      owner,
      'second_run_cancelled',
      `run ${run.id} (kept run ${owner.runId})`,
    );
    deps.followUps.defer(`cancel of second run ${run.id}`, () =>
      deps.github.rest.actions.cancelWorkflowRun({ ...deps.repo, run_id: run.id, request: { retries: 0 } }),
    );
  }
  return true;
}
