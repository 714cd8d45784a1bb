import { createHmac } from 'node:crypto';
import { createRequire } from 'node:module';
import { openApiExample } from './github-openapi.ts';
import type {
  CommitRecord,
  DeploymentRecord,
  DeploymentStatusRecord,
  GitHubState,
  Identity,
  JobRecord,
  RunRecord,
} from './github-state.ts';

/**
 * Shapes of what the fake sends: REST objects filled into GitHub's documented examples, and
 * webhook payloads filled into `@octokit/webhooks-examples`, so every field a real payload has is
 * there, with the fake's ids, names, shas and URLs.
 */

type Obj = Record<string, unknown>;

interface WebhookExample {
  name: string;
  examples: Obj[];
}

const require = createRequire(import.meta.url);
let webhookExamples: WebhookExample[] | undefined;

function isObj(value: unknown): value is Obj {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Recursively lays `data` over `base`: objects merge, anything else (arrays included) replaces. */
function merge(base: unknown, data: unknown): unknown {
  if (!isObj(base) || !isObj(data)) return data === undefined ? base : data;
  const out: Obj = { ...base };
  for (const [key, value] of Object.entries(data)) out[key] = merge(base[key], value);
  return out;
}

/** Points an example's repository URLs and API root at the fake's repository. */
export function rebrand<T>(value: T, id: Identity): T {
  const text = JSON.stringify(value)
    .replace(
      /(api\.github\.com\/repos\/|github\.com[/:])(?!apps\/|orgs\/|users\/|images\/)[\w.-]+\/[\w.-]+?(?=\.git\b|[/"{?#\\])/g,
      (_m, prefix: string) => `${prefix}${id.owner}/${id.repo}`,
    )
    .replaceAll('https://api.github.com', id.apiUrl);
  return JSON.parse(text) as T;
}

/** A user (or organization/bot) object as GitHub embeds it. */
export function user(id: Identity, login: string, type = 'User'): Obj {
  const numeric = Number.parseInt(login.replace(/[^a-z0-9]/gi, '').slice(0, 6), 36) % 90_000_000;
  const base = `${id.apiUrl}/users/${encodeURIComponent(login)}`;
  return {
    login,
    id: numeric,
    node_id: Buffer.from(`04:User${numeric}`).toString('base64'),
    avatar_url: `https://avatars.githubusercontent.com/u/${numeric}?v=4`,
    gravatar_id: '',
    url: base,
    html_url: login.endsWith('[bot]')
      ? `https://github.com/apps/${login.slice(0, -5)}`
      : `https://github.com/${login}`,
    followers_url: `${base}/followers`,
    following_url: `${base}/following{/other_user}`,
    gists_url: `${base}/gists{/gist_id}`,
    starred_url: `${base}/starred{/owner}{/repo}`,
    subscriptions_url: `${base}/subscriptions`,
    organizations_url: `${base}/orgs`,
    repos_url: `${base}/repos`,
    events_url: `${base}/events{/privacy}`,
    received_events_url: `${base}/received_events`,
    type: login.endsWith('[bot]') ? 'Bot' : type,
    site_admin: false,
    user_view_type: 'public',
  };
}

function repoFields(id: Identity): Obj {
  return {
    id: id.repoId,
    name: id.repo,
    full_name: `${id.owner}/${id.repo}`,
    owner: user(id, id.owner, 'Organization'),
    private: true,
    default_branch: 'main',
  };
}

/** `GET /repos/{owner}/{repo}`: a full repository. */
export function restRepository(state: GitHubState): Obj {
  const example = rebrand(openApiExample('full-repository'), state.id);
  return merge(example, {
    ...repoFields(state.id),
    default_branch: state.defaultBranch,
    has_discussions: false,
    organization: user(state.id, state.id.owner, 'Organization'),
    parent: undefined,
    source: undefined,
  }) as Obj;
}

/** A commit as `GET /repos/{owner}/{repo}/commits/{ref}` answers it. */
export function restCommit(state: GitHubState, c: CommitRecord, withFiles = true): Obj {
  const { apiUrl, owner, repo } = state.id;
  const person = { name: c.authorName, email: c.authorEmail, date: c.date };
  const data: Obj = {
    url: `${apiUrl}/repos/${owner}/${repo}/commits/${c.sha}`,
    sha: c.sha,
    node_id: Buffer.from(`06:Commit${c.sha}`).toString('base64'),
    html_url: `https://github.com/${owner}/${repo}/commit/${c.sha}`,
    comments_url: `${apiUrl}/repos/${owner}/${repo}/commits/${c.sha}/comments`,
    commit: {
      url: `${apiUrl}/repos/${owner}/${repo}/git/commits/${c.sha}`,
      author: person,
      committer: { name: 'GitHub', email: 'noreply@github.com', date: c.date },
      message: c.message,
      tree: { url: `${apiUrl}/repos/${owner}/${repo}/git/trees/${c.sha}`, sha: c.sha },
    },
    author: user(state.id, c.login),
    committer: user(state.id, 'web-flow'),
    parents: c.parents.map((sha) => ({
      url: `${apiUrl}/repos/${owner}/${repo}/commits/${sha}`,
      html_url: `https://github.com/${owner}/${repo}/commit/${sha}`,
      sha,
    })),
  };
  const example = rebrand(openApiExample('commit'), state.id);
  delete example.stats;
  delete example.files;
  // The fake models no trees: a commit changes no file, which the schema allows.
  if (withFiles) Object.assign(data, { stats: { additions: 0, deletions: 0, total: 0 }, files: [] });
  return merge(example, data) as Obj;
}

/** A workflow run, as REST answers it and `workflow_run` payloads carry it. */
export function restRun(state: GitHubState, run: RunRecord): Obj {
  const { apiUrl, owner, repo, workflowId, workflowFile } = state.id;
  const runUrl = `${apiUrl}/repos/${owner}/${repo}/actions/runs/${run.id}`;
  const head = state.commits.get(run.headSha);
  const repository = rebrand(openApiExample('minimal-repository'), state.id);
  const data: Obj = {
    id: run.id,
    name: 'Deploy',
    node_id: Buffer.from(`WFR_${run.id}`).toString('base64'),
    check_suite_id: run.id + 1,
    check_suite_node_id: Buffer.from(`CS_${run.id}`).toString('base64'),
    head_branch: run.headBranch,
    head_sha: run.headSha,
    path: run.path ?? `.github/workflows/${workflowFile}`,
    run_number: run.runNumber,
    event: run.event,
    display_title: run.displayTitle,
    status: run.status,
    conclusion: run.conclusion,
    workflow_id: workflowId,
    url: runUrl,
    html_url: `https://github.com/${owner}/${repo}/actions/runs/${run.id}`,
    pull_requests: [],
    created_at: run.createdAt,
    updated_at: run.updatedAt,
    actor: user(state.id, run.actor),
    triggering_actor: user(state.id, run.actor),
    run_attempt: 1,
    referenced_workflows: [],
    run_started_at: run.runStartedAt,
    jobs_url: `${runUrl}/jobs`,
    logs_url: `${runUrl}/logs`,
    check_suite_url: `${apiUrl}/repos/${owner}/${repo}/check-suites/${run.id + 1}`,
    artifacts_url: `${runUrl}/artifacts`,
    cancel_url: `${runUrl}/cancel`,
    rerun_url: `${runUrl}/rerun`,
    previous_attempt_url: null,
    workflow_url: `${apiUrl}/repos/${owner}/${repo}/actions/workflows/${workflowId}`,
    head_commit: head
      ? {
          id: head.sha,
          tree_id: head.sha,
          message: head.message,
          timestamp: head.date,
          author: { name: head.authorName, email: head.authorEmail },
          committer: { name: 'GitHub', email: 'noreply@github.com' },
        }
      : null,
    repository: merge(repository, repoFields(state.id)),
    head_repository: merge(repository, repoFields(state.id)),
  };
  return merge(rebrand(openApiExample('workflow-run'), state.id), data) as Obj;
}

/** A job of a run (REST and `workflow_job` payloads). */
export function restJob(state: GitHubState, job: JobRecord, run: RunRecord): Obj {
  const { apiUrl, owner, repo } = state.id;
  const data: Obj = {
    id: job.id,
    run_id: run.id,
    run_url: `${apiUrl}/repos/${owner}/${repo}/actions/runs/${run.id}`,
    run_attempt: 1,
    node_id: Buffer.from(`CR_${job.id}`).toString('base64'),
    head_sha: run.headSha,
    url: `${apiUrl}/repos/${owner}/${repo}/actions/jobs/${job.id}`,
    html_url: `https://github.com/${owner}/${repo}/actions/runs/${run.id}/job/${job.id}`,
    status: job.status,
    conclusion: job.conclusion,
    created_at: job.created_at,
    started_at: job.started_at,
    completed_at: job.completed_at,
    name: job.name,
    steps: job.steps.map((s) => ({ ...s })),
    check_run_url: `${apiUrl}/repos/${owner}/${repo}/check-runs/${job.id}`,
    labels: ['ubuntu-latest'],
    runner_id: job.status === 'in_progress' || job.status === 'completed' ? 7 : null,
    runner_name: job.status === 'in_progress' || job.status === 'completed' ? 'GitHub Actions 7' : null,
    runner_group_id: job.status === 'in_progress' || job.status === 'completed' ? 2 : null,
    runner_group_name: job.status === 'in_progress' || job.status === 'completed' ? 'GitHub Actions' : null,
    workflow_name: 'Deploy',
    head_branch: run.headBranch,
  };
  return merge(rebrand(openApiExample('job'), state.id), data) as Obj;
}

/** A deployment (REST and `deployment`/`deployment_status` payloads). */
export function restDeployment(state: GitHubState, d: DeploymentRecord): Obj {
  const { apiUrl, owner, repo } = state.id;
  const url = `${apiUrl}/repos/${owner}/${repo}/deployments/${d.id}`;
  return merge(rebrand(openApiExample('deployment'), state.id), {
    url,
    id: d.id,
    node_id: Buffer.from(`DE_${d.id}`).toString('base64'),
    sha: d.sha,
    ref: d.ref,
    task: d.task,
    payload: {},
    original_environment: d.environment,
    environment: d.environment,
    description: d.description,
    creator: user(state.id, d.creator),
    created_at: d.createdAt,
    updated_at: d.statuses.at(-1)?.createdAt ?? d.createdAt,
    statuses_url: `${url}/statuses`,
    repository_url: `${apiUrl}/repos/${owner}/${repo}`,
    transient_environment: false,
    production_environment: d.environment === 'production',
  }) as Obj;
}

/** One status of a deployment. */
export function restDeploymentStatus(
  state: GitHubState,
  d: DeploymentRecord,
  s: DeploymentStatusRecord,
): Obj {
  const { apiUrl, owner, repo } = state.id;
  const url = `${apiUrl}/repos/${owner}/${repo}/deployments/${d.id}`;
  // GitHub Actions points target/log URLs at the job; seeded history has none, so the repository's
  // deployments page stands in (the schema wants a URI, not '').
  const logUrl = s.logUrl || `https://github.com/${owner}/${repo}/deployments`;
  const example = rebrand(openApiExample('deployment-status'), state.id);
  delete example.environment_url;
  return merge(example, {
    url: `${url}/statuses/${s.id}`,
    id: s.id,
    node_id: Buffer.from(`DES_${s.id}`).toString('base64'),
    state: s.state,
    creator: user(state.id, s.creator),
    description: s.description,
    environment: d.environment,
    target_url: logUrl,
    created_at: s.createdAt,
    updated_at: s.createdAt,
    deployment_url: url,
    repository_url: `${apiUrl}/repos/${owner}/${repo}`,
    ...(s.environmentUrl ? { environment_url: s.environmentUrl } : {}),
    log_url: logUrl,
  }) as Obj;
}

/**
 * `pending_deployments` of a run whose deploy job waits for reviewers; `canApprove` is
 * `current_user_can_approve` for whoever asks.
 */
export function restPendingDeployments(state: GitHubState, run: RunRecord, canApprove = false): Obj[] {
  if (!run.pending) return [];
  const env = state.environment(run.pending.environment);
  const { apiUrl, owner, repo } = state.id;
  return [
    merge(rebrand(openApiExample('pending-deployment-items'), state.id), {
      environment: {
        id: env.id,
        node_id: Buffer.from(`EN_${env.id}`).toString('base64'),
        name: env.name,
        url: `${apiUrl}/repos/${owner}/${repo}/environments/${env.name}`,
        html_url: `https://github.com/${owner}/${repo}/deployments/activity_log?environments_filter=${env.name}`,
      },
      wait_timer: env.waitTimer,
      wait_timer_started_at: run.pending.since,
      current_user_can_approve: canApprove,
      reviewers: env.reviewers.map((login) => ({ type: 'User', reviewer: user(state.id, login) })),
    }) as Obj,
  ];
}

/** Webhook events the fake emits, and the actions each has. */
export type WebhookEvent = 'workflow_run' | 'workflow_job' | 'deployment' | 'deployment_status';

function exampleFor(event: string, action: string): Obj {
  webhookExamples ??= require('@octokit/webhooks-examples/api.github.com/index.json') as WebhookExample[];
  const all = webhookExamples.find((e) => e.name === event)?.examples ?? [];
  // workflow_run.in_progress has no published example: the completed one has the same shape.
  const wanted = event === 'workflow_run' && action === 'in_progress' ? 'completed' : action;
  const candidates = all.filter((e) => e.action === wanted);
  // Prefer the richest example: the ones GitHub Actions itself sends carry workflow/workflow_run.
  const best = candidates.sort((a, b) => Object.keys(b).length - Object.keys(a).length)[0];
  if (!best) throw new Error(`no @octokit/webhooks-examples payload for ${event}.${action}`);
  return structuredClone(best);
}

/**
 * A webhook payload: the published example for `event`.`action`, with `data` laid over it
 * (objects merge field by field, so fields the fake does not model keep the example's values).
 * @throws {Error} for an event/action with no published example.
 */
export function buildWebhook(event: string, action: string, data: Obj = {}): Obj {
  // A workflow_job's status is its action; some published examples disagree (queued while waiting).
  const status = event === 'workflow_job' ? { workflow_job: { status: action } } : {};
  return merge(merge(exampleFor(event, action), status), { ...data, action }) as Obj;
}

/** Fills a payload's `repository`, `organization` and `sender` with the fake's own. */
export function webhookEnvelope(state: GitHubState, sender: string): Obj {
  const example = exampleFor('workflow_run', 'requested');
  return {
    repository: merge(rebrand(example.repository, state.id), repoFields(state.id)),
    organization: merge(example.organization, { login: state.id.owner, id: state.id.ownerId }),
    sender: user(state.id, sender),
  };
}

/**
 * The `X-Hub-Signature-256` value GitHub sends: `sha256=` + hex HMAC-SHA256 of the exact raw body.
 */
export function signWebhook(secret: string, body: string | Buffer): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}
