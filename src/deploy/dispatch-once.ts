import { type DispatchOptions, postDispatch } from '../github/dispatch-workflow.ts';
import type { GitHubError } from '../github/github-error.ts';
import { type FoundRun, findRunsByRequest } from '../github/run-lookups.ts';
import type { DeployDeps } from './deploy-deps.ts';

/**
 * How an unanswered dispatch is settled. GitHub lists a dispatched run a few seconds late, so the
 * search looks several times; "no run" is believed only once the search has looked for at least
 * `listingDelayMs` after the POST.
 */
export type DispatchPolicy = {
  /** Waits before each look for the run (the first may be 0). */
  searchDelaysMs: readonly number[];
  /** GitHub lists a dispatched run within this long (ms): an empty answer earlier proves nothing. */
  listingDelayMs: number;
  /** POSTs per request at most: the first, and one more after a search that proved GitHub did nothing. */
  maxPosts: number;
  sleep: (ms: number) => Promise<void>;
};

/** About 20 s of looking, at growing intervals; two POSTs at most. */
export const DEFAULT_DISPATCH_POLICY: DispatchPolicy = {
  searchDelaysMs: [0, 1000, 2000, 3000, 4000, 5000, 5000],
  listingDelayMs: 10_000,
  maxPosts: 2,
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

/**
 * How a dispatch ended, with a stable code:
 * - `created`: GitHub started the run and named it;
 * - `accepted`: GitHub took it (204) and the run was found, or is not listed yet (`run` null);
 * - `adopted`: a POST went unanswered (5xx, timeout, reset) but its run was found: that run is the one;
 * - `refused`: GitHub certainly did not act (the message says why);
 * - `no_run`: every POST went unanswered and GitHub, asked long enough, lists no run: nothing runs;
 * - `unconfirmed`: a POST went unanswered and GitHub could not be asked whether a run started.
 */
export type DispatchResult = {
  outcome: 'created' | 'accepted' | 'adopted' | 'refused' | 'no_run' | 'unconfirmed';
  run: FoundRun | null;
  /** POSTs sent (at most `maxPosts`). */
  posts: number;
  /** The failures GitHub answered (or did not answer) the POSTs with, in order. */
  failures: GitHubError[];
  /** Extra runs of the same request found and cancelled (should never happen; belt and braces). */
  duplicatesCancelled: number[];
};

type Search = { runs: FoundRun[]; conclusive: boolean };

/**
 * Dispatches the deploy workflow for one request so that it runs at most once, whatever GitHub
 * answers. After an unanswered POST it looks for the run by the request id in its run-name before
 * doing anything else: a run found is adopted; the POST is sent again only when GitHub, asked long
 * enough, lists none. `onSearch` is told when a search starts (the chat can say why it waits).
 */
export async function dispatchOnce(
  deps: Pick<DeployDeps, 'github' | 'repo' | 'store' | 'config'>,
  options: DispatchOptions,
  policy: DispatchPolicy = DEFAULT_DISPATCH_POLICY,
  onSearch: (failure: GitHubError) => Promise<void> = async () => {},
): Promise<DispatchResult> {
  const failures: GitHubError[] = [];
  let posts = 0;
  const result = (outcome: DispatchResult['outcome'], run: FoundRun | null): DispatchResult => ({
    outcome,
    run,
    posts,
    failures,
    duplicatesCancelled: [],
  });
  while (posts < policy.maxPosts) {
    posts++;
    const attempt = await postDispatch(deps.github, deps.repo, options);
    if (attempt.kind === 'created') return keepOne(deps, options, result('created', attempt.run), posts > 1);
    if (attempt.kind === 'accepted') {
      const found = await searchRun(deps, options, policy);
      return keepOne(deps, options, result('accepted', found.runs[0] ?? null), found.runs.length > 1);
    }
    failures.push(attempt.error);
    if (attempt.kind === 'refused') return result('refused', null);
    await onSearch(attempt.error);
    const found = await searchRun(deps, options, policy);
    if (found.runs[0]) return keepOne(deps, options, result('adopted', found.runs[0]), found.runs.length > 1);
    if (!found.conclusive) return result('unconfirmed', null);
  }
  return result('no_run', null);
}

/**
 * Looks for the request's run: first in the store (a webhook may have matched it already), then in
 * GitHub's list. Conclusive when GitHub answered "none" at least `listingDelayMs` after the POST.
 */
async function searchRun(
  deps: Pick<DeployDeps, 'github' | 'repo' | 'store' | 'config'>,
  options: DispatchOptions,
  policy: DispatchPolicy,
): Promise<Search> {
  const { request_id: requestId } = options.inputs;
  let elapsed = 0;
  let conclusive = false;
  for (const delay of policy.searchDelaysMs) {
    await policy.sleep(delay);
    elapsed += delay;
    const known = await deps.store.getDeployment(requestId);
    if (known?.runId) return { runs: [{ runId: known.runId, runUrl: known.runUrl }], conclusive: true };
    try {
      const runs = await findRunsByRequest(
        deps.github,
        deps.repo,
        deps.config.github.workflow,
        requestId,
        options.ref,
      );
      if (runs.length > 0) return { runs, conclusive: true };
      if (elapsed >= policy.listingDelayMs) conclusive = true;
    } catch {
      // GitHub is still in trouble: look again; without an answer nothing is concluded.
    }
  }
  return { runs: [], conclusive };
}

/**
 * Where a request may have two runs (a POST sent again, or a list that shows two), keeps the run the
 * result names and cancels the others, so one request never deploys twice.
 */
async function keepOne(
  deps: Pick<DeployDeps, 'github' | 'repo' | 'config'>,
  options: DispatchOptions,
  result: DispatchResult,
  check: boolean,
): Promise<DispatchResult> {
  const keep = result.run;
  if (!check || !keep) return result;
  let runs: FoundRun[];
  try {
    runs = await findRunsByRequest(
      deps.github,
      deps.repo,
      deps.config.github.workflow,
      options.inputs.request_id,
      options.ref,
    );
  } catch {
    return result;
  }
  const extra = runs.filter((r) => r.runId !== keep.runId).map((r) => r.runId);
  for (const runId of extra) {
    await deps.github.rest.actions
      .cancelWorkflowRun({ ...deps.repo, run_id: runId, request: { retries: 0 } })
      .catch(() => {});
  }
  return { ...result, duplicatesCancelled: extra };
}
