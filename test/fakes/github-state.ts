import { createHash } from 'node:crypto';
import { DISPATCH_INPUT_NAMES } from '../../src/github/dispatch-inputs.ts';

/** A commit of the fake repository. */
export interface CommitRecord {
  sha: string;
  message: string;
  authorName: string;
  authorEmail: string;
  login: string;
  date: string;
  parents: string[];
}

/** A step of a job, as the REST API and `workflow_job` payloads show it. */
export interface StepRecord {
  name: string;
  status: 'queued' | 'in_progress' | 'completed';
  conclusion: 'success' | 'failure' | 'skipped' | 'cancelled' | null;
  number: number;
  started_at: string | null;
  completed_at: string | null;
}

export type RunStatus = 'requested' | 'queued' | 'waiting' | 'in_progress' | 'completed';
export type Conclusion = 'success' | 'failure' | 'cancelled' | 'skipped';

/** A job of a run; `log` holds the lines the logs endpoint serves once the job completed. */
export interface JobRecord {
  id: number;
  runId: number;
  name: string;
  status: 'queued' | 'waiting' | 'in_progress' | 'completed';
  conclusion: Conclusion | null;
  steps: StepRecord[];
  created_at: string;
  started_at: string;
  completed_at: string | null;
  environment: string | null;
  log: string[];
}

/** A workflow run of the deploy workflow. */
export interface RunRecord {
  id: number;
  runNumber: number;
  displayTitle: string;
  event: string;
  status: RunStatus;
  conclusion: Conclusion | null;
  headBranch: string;
  headSha: string;
  inputs: Record<string, string>;
  actor: string;
  createdAt: string;
  updatedAt: string;
  runStartedAt: string;
  jobs: JobRecord[];
  /** Set while the deploy job waits for the environment's reviewers. */
  pending: { environment: string; since: string } | null;
  /** The review log (`GET …/approvals`): approvals and rejections, oldest first. */
  reviews?: ReviewRecord[];
  /** The workflow file the run came from, when not the deploy workflow (a writer's own workflow). */
  path?: string;
  cancelRequested: boolean;
  /** Listed by the runs endpoints only from this instant (fake clock, ms): a run GitHub is slow to show. */
  listedFrom?: number;
}

/** One status of a deployment. */
export interface DeploymentStatusRecord {
  id: number;
  state: 'error' | 'failure' | 'inactive' | 'pending' | 'success' | 'queued' | 'in_progress' | 'waiting';
  description: string;
  environmentUrl: string;
  logUrl: string;
  creator: string;
  createdAt: string;
}

/** A deployment record, as GitHub Actions creates it for a job with `environment:`. */
export interface DeploymentRecord {
  id: number;
  sha: string;
  ref: string;
  task: string;
  environment: string;
  description: string | null;
  creator: string;
  createdAt: string;
  /** Oldest first. */
  statuses: DeploymentStatusRecord[];
  runId: number | null;
}

/** One entry of a run's review log, as `POST …/pending_deployments` records it. */
export interface ReviewRecord {
  environment: string;
  state: 'approved' | 'rejected';
  login: string;
  comment: string;
  at: string;
}

/** How an environment is protected and where it answers. */
export interface EnvironmentRecord {
  id: number;
  name: string;
  reviewers: string[];
  /** "Prevent self-review": the user who started the run may not approve it. */
  preventSelfReview?: boolean;
  url: string | null;
  waitTimer: number;
  createdAt: string;
}

/** A declared `workflow_dispatch` input. */
export interface WorkflowInput {
  required: boolean;
  type: 'string' | 'choice' | 'boolean' | 'environment' | 'number';
}

/** Names and ids every payload and response of one fake shares. */
export interface Identity {
  owner: string;
  repo: string;
  repoId: number;
  ownerId: number;
  apiUrl: string;
  htmlUrl: string;
  workflowId: number;
  workflowFile: string;
}

const DEFAULT_INPUTS: Record<string, WorkflowInput> = Object.fromEntries(
  DISPATCH_INPUT_NAMES.map((name) => [name, { required: true, type: 'string' }]),
);

/** Repository, runs, environments and deployments of one fake GitHub. */
export class GitHubState {
  readonly id: Identity;
  readonly commits = new Map<string, CommitRecord>();
  readonly branches = new Map<string, string>();
  readonly tags = new Map<string, string>();
  readonly runs = new Map<number, RunRecord>();
  readonly deployments = new Map<number, DeploymentRecord>();
  /** The repository's OIDC subject template (GitHub's default until someone customises it). */
  oidcSubject: { use_default: boolean; include_claim_keys?: string[] } = { use_default: true };
  readonly environments = new Map<string, EnvironmentRecord>();
  defaultBranch = 'main';
  workflowInputs: Record<string, WorkflowInput> = { ...DEFAULT_INPUTS };
  runNameTemplate = 'Deploy {environment} {sha7} [{request_id}]';
  private counter = 0;
  private nextId: number;
  /** Makes another repository's commit SHAs differ from this one's (`''` for the first repository). */
  private readonly shaSalt: string;
  private runNumber = 0;
  private skewMs = 0;
  private readonly now: () => number;

  /**
   * `distinct`: another repository of the same fake (its ids start elsewhere, its SHAs differ), since
   * GitHub's run, job and deployment ids are unique across repositories.
   */
  constructor(id: Identity, now: () => number = Date.now, distinct?: { idBase: number; shaSalt: string }) {
    this.id = id;
    this.now = now;
    this.nextId = distinct?.idBase ?? 1000;
    this.shaSalt = distinct?.shaSalt ?? '';
    const first = this.commit({
      branch: 'main',
      message: 'Initial commit',
      author: 'Mona Lisa',
      login: 'octocat',
    });
    this.branches.set('develop', first);
  }

  /** The fake's clock in ms (its `now` moved by `advanceClock`). */
  clockMs(): number {
    return this.now() + this.skewMs;
  }

  /** The fake's clock, ISO without milliseconds like GitHub's timestamps. */
  time(): string {
    return `${new Date(this.now() + this.skewMs).toISOString().slice(0, 19)}Z`;
  }

  /** Same instant with the 7 fractional digits of Actions log lines. */
  logTime(): string {
    return new Date(this.now() + this.skewMs).toISOString().replace(/\.(\d{3})Z$/, '.$10000Z');
  }

  /** Moves the virtual clock, so a simulated run lasts minutes while the test lasts milliseconds. */
  advanceClock(ms: number): void {
    this.skewMs += ms;
  }

  newId(): number {
    this.nextId += 1 + (this.nextId % 7);
    return this.nextId;
  }

  /**
   * Appends a commit to a branch (created from the default branch if missing).
   * @returns the new commit's sha: 40 hex, deterministic from a counter.
   */
  commit(opts: {
    branch?: string;
    message: string;
    author?: string;
    login?: string;
    email?: string;
  }): string {
    const branch = opts.branch ?? this.defaultBranch;
    this.counter++;
    const sha = createHash('sha1').update(`${this.shaSalt}commit ${this.counter}`).digest('hex');
    const parent = this.branches.get(branch) ?? this.branches.get(this.defaultBranch);
    const author = opts.author ?? 'Mona Lisa';
    const login = opts.login ?? 'octocat';
    this.commits.set(sha, {
      sha,
      message: opts.message,
      authorName: author,
      authorEmail: opts.email ?? `${login}@users.noreply.github.com`,
      login,
      date: this.time(),
      parents: parent ? [parent] : [],
    });
    this.branches.set(branch, sha);
    return sha;
  }

  /** Creates or moves a branch; without a sha it starts at the default branch's head. */
  branch(name: string, sha?: string): void {
    const target = sha ?? this.branches.get(this.defaultBranch);
    if (!target || !this.commits.has(target)) throw new Error(`branch ${name}: unknown commit ${sha}`);
    this.branches.set(name, target);
  }

  /** Creates or moves a tag. @throws {Error} on an unknown commit. */
  tag(name: string, sha: string): void {
    if (!this.commits.has(sha)) throw new Error(`tag ${name}: unknown commit ${sha}`);
    this.tags.set(name, sha);
  }

  /**
   * Resolves a branch, a tag, a full sha or an unambiguous prefix of at least 7 hex digits. Like
   * GitHub's `GET /commits/{ref}`, `heads/NAME` (or `refs/heads/NAME`) names only a branch and
   * `tags/NAME` only a tag.
   */
  resolve(ref: string): CommitRecord | null {
    const qualified = /^(?:refs\/)?(heads|tags)\/(.+)$/.exec(ref);
    if (qualified) {
      const sha = (qualified[1] === 'heads' ? this.branches : this.tags).get(qualified[2] ?? '');
      return sha ? (this.commits.get(sha) ?? null) : null;
    }
    const head = this.branches.get(ref) ?? this.tags.get(ref);
    if (head) return this.commits.get(head) ?? null;
    if (!/^[0-9a-f]{7,40}$/i.test(ref)) return null;
    const matches = [...this.commits.keys()].filter((sha) => sha.startsWith(ref.toLowerCase()));
    return matches.length === 1 ? (this.commits.get(matches[0] ?? '') ?? null) : null;
  }

  /** A branch or tag name (what `workflow_dispatch` accepts as `ref`). */
  refSha(ref: string): string | null {
    const name = ref.replace(/^refs\/(heads|tags)\//, '');
    return this.branches.get(name) ?? this.tags.get(name) ?? null;
  }

  private ancestors(sha: string): string[] {
    const out: string[] = [];
    const seen = new Set<string>();
    const queue = [sha];
    while (queue.length > 0) {
      const next = queue.shift() ?? '';
      if (seen.has(next)) continue;
      seen.add(next);
      out.push(next);
      queue.push(...(this.commits.get(next)?.parents ?? []));
    }
    return out;
  }

  /** Commits in `head` not in `base` (oldest first), the reverse count, and the merge base. */
  compare(
    base: CommitRecord,
    head: CommitRecord,
  ): { ahead: CommitRecord[]; behindBy: number; mergeBase: CommitRecord } {
    const baseList = this.ancestors(base.sha);
    const baseSet = new Set(baseList);
    const headList = this.ancestors(head.sha);
    const headSet = new Set(headList);
    const ahead = headList
      .filter((sha) => !baseSet.has(sha))
      .reverse()
      .map((sha) => this.commits.get(sha))
      .filter((c): c is CommitRecord => c !== undefined);
    const mergeBase = this.commits.get(headList.find((sha) => baseSet.has(sha)) ?? base.sha) ?? base;
    return { ahead, behindBy: baseList.filter((sha) => !headSet.has(sha)).length, mergeBase };
  }

  /** Declares or replaces an environment's protection. */
  setEnvironment(
    name: string,
    opts: { reviewers?: string[]; url?: string; waitTimer?: number; preventSelfReview?: boolean } = {},
  ): void {
    const existing = this.environments.get(name);
    this.environments.set(name, {
      id: existing?.id ?? this.newId(),
      name,
      reviewers: opts.reviewers ?? [],
      preventSelfReview: opts.preventSelfReview ?? false,
      url: opts.url ?? null,
      waitTimer: opts.waitTimer ?? 0,
      createdAt: existing?.createdAt ?? this.time(),
    });
  }

  environment(name: string): EnvironmentRecord {
    if (!this.environments.has(name)) this.setEnvironment(name);
    return this.environments.get(name) as EnvironmentRecord;
  }

  /** Creates the run a dispatch starts (status `queued`). */
  createRun(ref: string, sha: string, inputs: Record<string, string>, actor: string): RunRecord {
    const now = this.time();
    const title = this.runNameTemplate.replace(/\{(\w+)\}/g, (_, key: string) =>
      key === 'sha7' ? (inputs.sha ?? sha).slice(0, 7) : (inputs[key] ?? ''),
    );
    const run: RunRecord = {
      id: 9_000_000_000 + this.newId(),
      runNumber: ++this.runNumber,
      displayTitle: title,
      event: 'workflow_dispatch',
      status: 'queued',
      conclusion: null,
      headBranch: ref.replace(/^refs\/(heads|tags)\//, ''),
      headSha: sha,
      inputs,
      actor,
      createdAt: now,
      updatedAt: now,
      runStartedAt: now,
      jobs: [],
      pending: null,
      cancelRequested: false,
    };
    this.runs.set(run.id, run);
    return run;
  }

  /** A run's job by id, across runs. */
  job(jobId: number): JobRecord | undefined {
    for (const run of this.runs.values()) {
      const job = run.jobs.find((j) => j.id === jobId);
      if (job) return job;
    }
    return undefined;
  }

  /** Creates a deployment (no status yet). */
  createDeployment(opts: {
    environment: string;
    sha: string;
    ref?: string;
    creator?: string;
    createdAt?: string;
    runId?: number;
  }): DeploymentRecord {
    const deployment: DeploymentRecord = {
      id: 1_000_000_000 + this.newId(),
      sha: opts.sha,
      ref: opts.ref ?? opts.sha,
      task: 'deploy',
      environment: opts.environment,
      description: null,
      creator: opts.creator ?? 'github-actions[bot]',
      createdAt: opts.createdAt ?? this.time(),
      statuses: [],
      runId: opts.runId ?? null,
    };
    this.environment(opts.environment);
    this.deployments.set(deployment.id, deployment);
    return deployment;
  }

  /**
   * Adds a status; a `success` marks the environment's earlier successful deployments `inactive`,
   * as GitHub does for non-transient environments.
   */
  addStatus(
    deployment: DeploymentRecord,
    state: DeploymentStatusRecord['state'],
    opts: { environmentUrl?: string; logUrl?: string; createdAt?: string; description?: string } = {},
  ): DeploymentStatusRecord {
    const status: DeploymentStatusRecord = {
      id: 2_000_000_000 + this.newId(),
      state,
      description: opts.description ?? '',
      environmentUrl: opts.environmentUrl ?? '',
      logUrl: opts.logUrl ?? '',
      creator: deployment.creator,
      createdAt: opts.createdAt ?? this.time(),
    };
    if (state === 'success') {
      for (const other of this.deployments.values()) {
        const latest = other.statuses.at(-1)?.state;
        if (other !== deployment && other.environment === deployment.environment && latest === 'success') {
          other.statuses.push({ ...status, id: 2_000_000_000 + this.newId(), state: 'inactive' });
        }
      }
    }
    deployment.statuses.push(status);
    return status;
  }
}
