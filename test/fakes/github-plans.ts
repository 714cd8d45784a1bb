import type { Plan } from './github-simulator.ts';
import type { DeploymentRecord, GitHubState, JobRecord, RunRecord, StepRecord } from './github-state.ts';
import {
  buildWebhook,
  restDeployment,
  restDeploymentStatus,
  restJob,
  restRun,
  webhookEnvelope,
} from './github-webhooks.ts';

/** One webhook to send: its event, action and payload. */
export type Emitted = { event: string; action: string; payload: Record<string, unknown> };
/** Yielded where a run waits for something outside it (a review decision, a cancel). */
export const GATE = Symbol('gate');
/** What a plan yields: a batch of webhooks, or {@link GATE}. */
export type Yielded = Emitted[] | typeof GATE;

/**
 * The scenarios ({@link Plan}s) a workflow run can play: the jobs and steps of deploy.yml with their
 * logs, the deployment and its statuses, changed on the {@link GitHubState} as GitHub would, and the
 * webhooks each change sends.
 */
export class GitHubPlans {
  private readonly state: GitHubState;
  private readonly players: ReadonlyMap<number, { decision: 'approve' | 'reject' | null }>;

  /** `players` holds the review decision of each run being played (a `rejected` plan sets its own). */
  constructor(state: GitHubState, players: ReadonlyMap<number, { decision: 'approve' | 'reject' | null }>) {
    this.state = state;
    this.players = players;
  }

  private runEvent(run: RunRecord, action: 'requested' | 'in_progress' | 'completed'): Emitted {
    const s = this.state;
    const payload = buildWebhook('workflow_run', action, {
      ...webhookEnvelope(s, run.actor),
      workflow: {
        id: s.id.workflowId,
        name: 'Deploy',
        path: `.github/workflows/${s.id.workflowFile}`,
        url: `${s.id.apiUrl}/repos/${s.id.owner}/${s.id.repo}/actions/workflows/${s.id.workflowId}`,
        html_url: `https://github.com/${s.id.owner}/${s.id.repo}/blob/main/.github/workflows/${s.id.workflowFile}`,
        badge_url: `https://github.com/${s.id.owner}/${s.id.repo}/workflows/Deploy/badge.svg`,
      },
      workflow_run: restRun(s, run),
    });
    return { event: 'workflow_run', action, payload };
  }

  private jobEvent(run: RunRecord, job: JobRecord, deployment?: DeploymentRecord): Emitted {
    const action = job.status;
    const extra = deployment ? { deployment: restDeployment(this.state, deployment) } : {};
    const payload = buildWebhook('workflow_job', action, {
      ...webhookEnvelope(this.state, run.actor),
      ...extra,
      workflow_job: restJob(this.state, job, run),
    });
    return { event: 'workflow_job', action, payload };
  }

  private deploymentEvent(run: RunRecord, d: DeploymentRecord): Emitted {
    const payload = buildWebhook('deployment', 'created', {
      ...webhookEnvelope(this.state, 'github-actions[bot]'),
      deployment: restDeployment(this.state, d),
      workflow_run: restRun(this.state, run),
    });
    return { event: 'deployment', action: 'created', payload };
  }

  private statusEvent(run: RunRecord, d: DeploymentRecord): Emitted {
    const status = d.statuses.at(-1);
    if (!status) throw new Error('deployment has no status');
    const payload = buildWebhook('deployment_status', 'created', {
      ...webhookEnvelope(this.state, 'github-actions[bot]'),
      deployment: restDeployment(this.state, d),
      deployment_status: restDeploymentStatus(this.state, d, status),
      workflow_run: restRun(this.state, run),
    });
    // The example carries `environment_url: ""`, which the x-webhooks schema (format uri) refuses:
    // leave the field out until the deployment has a URL.
    const sent = payload.deployment_status as Record<string, unknown>;
    if (!status.environmentUrl) delete sent.environment_url;
    return { event: 'deployment_status', action: 'created', payload };
  }

  private touch(run: RunRecord): void {
    run.updatedAt = this.state.time();
  }

  private newJob(
    run: RunRecord,
    name: string,
    steps: string[],
    environment: string | null = null,
  ): JobRecord {
    const now = this.state.time();
    const job: JobRecord = {
      id: 30_000_000_000 + this.state.newId(),
      runId: run.id,
      name,
      status: 'queued',
      conclusion: null,
      steps: steps.map((stepName, i) => ({
        name: stepName,
        status: 'queued',
        conclusion: null,
        number: i + 1,
        started_at: null,
        completed_at: null,
      })),
      created_at: now,
      started_at: now,
      completed_at: null,
      environment,
      log: [],
    };
    run.jobs.push(job);
    this.touch(run);
    return job;
  }

  private log(job: JobRecord, ...lines: string[]): void {
    for (const line of lines) job.log.push(`${this.state.logTime()} ${line}`);
  }

  /** Runs one step: in_progress then completed, writing its log lines. */
  private *runStep(run: RunRecord, job: JobRecord, step: StepRecord, ok: boolean, lines: string[]) {
    step.status = 'in_progress';
    step.started_at = this.state.time();
    // "Complete job" only cleans up: a failed job's log ends with what went wrong, as on GitHub.
    if (step.name !== 'Complete job') {
      this.log(job, `##[group]Run ${step.name}`, ...lines.slice(0, 1), '##[endgroup]', ...lines.slice(1));
    }
    this.touch(run);
    yield [] as Emitted[];
    step.status = 'completed';
    step.conclusion = ok ? 'success' : 'failure';
    step.completed_at = this.state.time();
    this.touch(run);
    yield [] as Emitted[];
  }

  private finishJob(run: RunRecord, job: JobRecord, conclusion: JobRecord['conclusion']): Emitted {
    for (const step of job.steps) {
      if (step.status !== 'completed') {
        step.conclusion = step.status === 'in_progress' ? 'cancelled' : 'skipped';
        step.status = 'completed';
        step.completed_at = this.state.time();
      }
    }
    job.status = 'completed';
    job.conclusion = conclusion;
    job.completed_at = this.state.time();
    if (conclusion === 'success') this.log(job, 'Cleaning up orphan processes');
    this.touch(run);
    return this.jobEvent(run, job);
  }

  private finishRun(run: RunRecord, conclusion: RunRecord['conclusion']): Emitted[] {
    const out: Emitted[] = [];
    for (const job of run.jobs) {
      if (job.status !== 'completed') out.push(this.finishJob(run, job, 'cancelled'));
    }
    run.status = 'completed';
    run.conclusion = conclusion;
    run.pending = null;
    this.touch(run);
    out.push(this.runEvent(run, 'completed'));
    return out;
  }

  /**
   * The run as a generator: each yield is a batch of webhooks to send (after its state changes), or
   * {@link GATE} where the run waits (for a review decision, or for a cancel under the `cancel` plan).
   */
  *play(run: RunRecord, plan: Plan, build: boolean): Generator<Yielded, void, void> {
    const s = this.state;
    const env = run.inputs.environment ?? 'staging';
    const sha7 = run.headSha.slice(0, 7);
    const image = `123456789012.dkr.ecr.eu-west-1.amazonaws.com/${s.id.repo}:${run.inputs.sha ?? run.headSha}`;
    if (run.cancelRequested) return yield this.finishRun(run, 'cancelled');
    yield [this.runEvent(run, 'requested')];

    const jobs: [string, string[], boolean][] = [
      ['Resolve', ['Set up job', 'Validate inputs', 'Check image', 'Complete job'], true],
    ];
    if (build) {
      const steps = ['Set up job', 'Checkout', 'Configure AWS credentials', 'Build and push', 'Complete job'];
      jobs.push(['Build image', steps, plan !== 'fail_build']);
    }
    for (const [name, steps, ok] of jobs) {
      const job = this.newJob(run, name, steps);
      yield [this.jobEvent(run, job)];
      job.status = 'in_progress';
      job.started_at = s.time();
      const started: Emitted[] = [this.jobEvent(run, job)];
      if (run.status !== 'in_progress') {
        run.status = 'in_progress';
        started.unshift(this.runEvent(run, 'in_progress'));
      }
      yield started;
      for (const step of job.steps) {
        if (run.cancelRequested) return yield this.finishRun(run, 'cancelled');
        const fails = !ok && step.name === 'Build and push';
        const lines = fails
          ? [
              `docker buildx build --push -t ${image}`,
              '##[error]buildx failed with: ERROR: failed to solve: process "/bin/sh -c npm ci" did not complete successfully: exit code: 1',
            ]
          : [`${step.name}: ok`];
        yield* this.runStep(run, job, step, !fails, lines);
        if (fails) {
          yield [this.finishJob(run, job, 'failure')];
          const deploy = this.newJob(run, `Deploy (${env})`, [], env);
          deploy.status = 'completed';
          deploy.conclusion = 'skipped';
          deploy.completed_at = s.time();
          return yield [this.jobEvent(run, deploy), ...this.finishRun(run, 'failure')];
        }
      }
      yield [this.finishJob(run, job, 'success')];
    }

    const steps = ['Set up job', 'Configure AWS credentials', 'Deploy over SSH', 'Health check'];
    if (plan === 'health_fail_rollback') steps.push('Roll back to previous image');
    steps.push('Complete job');
    const job = this.newJob(run, `Deploy (${env})`, steps, env);
    const environment = s.environment(env);
    const deployment = s.createDeployment({
      environment: env,
      sha: run.headSha,
      ref: run.headBranch,
      runId: run.id,
    });
    const logUrl = `https://github.com/${s.id.owner}/${s.id.repo}/actions/runs/${run.id}/job/${job.id}`;
    if (environment.reviewers.length > 0 || plan === 'rejected') {
      s.addStatus(deployment, 'waiting', { logUrl });
      job.status = 'waiting';
      run.status = 'waiting';
      run.pending = { environment: env, since: s.time() };
      yield [
        this.deploymentEvent(run, deployment),
        this.statusEvent(run, deployment),
        this.jobEvent(run, job),
      ];
      const player = this.players.get(run.id);
      if (player && plan === 'rejected') player.decision = 'reject';
      yield GATE;
      run.pending = null;
      if (run.cancelRequested || player?.decision === 'reject') {
        s.addStatus(deployment, 'failure', { logUrl });
        const cancelled = run.cancelRequested;
        // GitHub's rejection: the job fails with no steps ("The deployment was rejected or didn't
        // satisfy other protection rules"), and so does the run.
        job.steps = [];
        const end = this.finishJob(run, job, cancelled ? 'cancelled' : 'failure');
        return yield [
          this.statusEvent(run, deployment),
          end,
          ...this.finishRun(run, cancelled ? 'cancelled' : 'failure'),
        ];
      }
      job.status = 'queued';
      run.status = 'in_progress';
      yield [this.jobEvent(run, job, deployment)];
    } else {
      yield [this.deploymentEvent(run, deployment), this.jobEvent(run, job, deployment)];
    }
    job.status = 'in_progress';
    job.started_at = s.time();
    s.addStatus(deployment, 'in_progress', { logUrl });
    yield [this.jobEvent(run, job, deployment), this.statusEvent(run, deployment)];

    const url = environment.url ?? `https://${env}.${s.id.repo}.example.com`;
    let failed = false;
    for (const step of job.steps) {
      if (plan === 'cancel' && step.name === 'Deploy over SSH') {
        step.status = 'in_progress';
        step.started_at = s.time();
        this.log(job, '##[group]Run ./scripts/deploy.sh', '##[endgroup]', `Pulling ${image}`);
        while (!run.cancelRequested) yield GATE;
      }
      if (run.cancelRequested) {
        s.addStatus(deployment, 'failure', { logUrl });
        this.log(job, '##[error]The operation was canceled.');
        const end = this.finishJob(run, job, 'cancelled');
        return yield [this.statusEvent(run, deployment), end, ...this.finishRun(run, 'cancelled')];
      }
      if (step.name === 'Health check' && plan === 'health_fail_rollback') {
        const tries = Array.from(
          { length: 10 },
          (_, i) =>
            `Health check ${i + 1}/10: GET ${url}/healthz -> 502 Bad Gateway (upstream <app> & proxy disagree)`,
        );
        yield* this.runStep(run, job, step, false, [
          `curl -fsS ${url}/healthz`,
          ...tries,
          `##[error]Health check failed after 10 tries: ${url}/healthz never answered 200 (last: 502 <html> & timeout)`,
        ]);
        failed = true;
        continue;
      }
      if (step.name === 'Roll back to previous image') {
        yield* this.runStep(run, job, step, true, [
          './scripts/rollback.sh',
          `Rolling back ${env} to the previous image (the one before ${sha7})`,
          `Rollback complete: ${env} serves the previous image again, health check OK`,
        ]);
        continue;
      }
      if (failed && step.name !== 'Complete job') continue;
      yield* this.runStep(run, job, step, true, [`${step.name}: ok`]);
    }
    const outcome = failed ? 'failure' : 'success';
    s.addStatus(deployment, outcome, { logUrl, environmentUrl: failed ? '' : url });
    const status = this.statusEvent(run, deployment);
    yield [status, this.finishJob(run, job, outcome), ...this.finishRun(run, outcome)];
  }
}
