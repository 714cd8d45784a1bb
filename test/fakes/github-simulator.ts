import { randomUUID } from 'node:crypto';
import type { DeploymentRecord, GitHubState, JobRecord, RunRecord, StepRecord } from './github-state.ts';
import {
  buildWebhook,
  restDeployment,
  restDeploymentStatus,
  restJob,
  restRun,
  signWebhook,
  webhookEnvelope,
} from './github-webhooks.ts';

/** Scenarios a run can play. `cancel` runs until the deploy step and waits for a REST cancel. */
export type Plan = 'success' | 'health_fail_rollback' | 'fail_build' | 'rejected' | 'cancel';

/** How webhooks reach the receiver. */
export interface DeliveryOptions {
  /** Share (0..1) of deliveries sent a second time with the same `X-GitHub-Delivery`. */
  duplicates?: number;
  /** Deliver a run's events out of order (seeded). */
  shuffle?: boolean;
  /** Send no webhook at all: only polling can follow the run. */
  drop?: boolean;
  seed?: number;
}

export interface SimulateOptions {
  /** Virtual time each event adds to the fake's clock (default 3000 ms). */
  stepMs?: number;
  /** Real delay between events, ms; default random 0–50 (seeded). */
  delayMs?: number;
  /** Include the `Build image` job (always on for `fail_build`). */
  build?: boolean;
  delivery?: DeliveryOptions;
  /** Nothing advances until `advance(runId)` is called, one event per call. */
  manual?: boolean;
}

/** One webhook sent (or attempted), with what the receiver answered. */
export interface Delivery {
  id: string;
  event: string;
  action: string;
  runId: number;
  body: string;
  /** HTTP status the receiver answered; null when it failed or timed out (10 s, like GitHub). */
  status: number | null;
  error: string | null;
  redelivery: boolean;
}

type Emitted = { event: string; action: string; payload: Record<string, unknown> };
const GATE = Symbol('gate');
type Yielded = Emitted[] | typeof GATE;

interface Player {
  run: RunRecord;
  gen: Generator<Yielded, void, void>;
  options: SimulateOptions;
  random: () => number;
  gated: boolean;
  decision: 'approve' | 'reject' | null;
  batch: Emitted[];
  done: Promise<RunRecord>;
  finish: (run: RunRecord) => void;
  wake: (() => void) | null;
}

/** mulberry32: small, seedable, good enough to shuffle deliveries reproducibly. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Plays runs against a {@link GitHubState} and delivers the webhooks GitHub would send. */
export class Simulator {
  readonly deliveries: Delivery[] = [];
  webhook: { url: string; secret: string } | undefined;
  private readonly state: GitHubState;
  private readonly players = new Map<number, Player>();
  private queue: Promise<void> = Promise.resolve();
  private readonly hookId = 448_213_907;

  constructor(state: GitHubState, webhook?: { url: string; secret: string }) {
    this.state = state;
    this.webhook = webhook;
  }

  /**
   * Plays `plan` on a dispatched run.
   * @returns resolves with the run once it completed and its webhooks were delivered.
   * @throws {Error} for an unknown run or a run already being played.
   */
  simulate(runId: number, plan: Plan, options: SimulateOptions = {}): Promise<RunRecord> {
    const run = this.state.runs.get(runId);
    if (!run) throw new Error(`simulate: no run ${runId}`);
    if (this.players.has(runId)) throw new Error(`simulate: run ${runId} is already playing`);
    const build = options.build === true || plan === 'fail_build';
    let finish: (run: RunRecord) => void = () => {};
    const done = new Promise<RunRecord>((resolve) => {
      finish = resolve;
    });
    const player: Player = {
      run,
      gen: this.play(run, plan, build),
      options,
      random: seeded(options.delivery?.seed ?? runId),
      gated: false,
      decision: null,
      batch: [],
      done,
      finish,
      wake: null,
    };
    this.players.set(runId, player);
    if (!options.manual) void this.autoplay(player);
    return done;
  }

  /**
   * Plays the next event of a manual run.
   * @returns false when nothing could advance (run completed, or waiting for a reviewer).
   */
  async advance(runId: number): Promise<boolean> {
    const player = this.players.get(runId);
    if (!player) throw new Error(`advance: run ${runId} is not being simulated`);
    return this.step(player);
  }

  /** A reviewer approves the waiting deploy job. @throws {Error} when the run is not waiting. */
  approve(runId: number): void {
    this.decide(runId, 'approve');
  }

  /** A reviewer rejects the waiting deploy job. @throws {Error} when the run is not waiting. */
  reject(runId: number): void {
    this.decide(runId, 'reject');
  }

  /** What the REST cancel endpoint asks: the run ends `cancelled` at its next event. */
  cancel(runId: number): void {
    const run = this.state.runs.get(runId);
    if (!run) return;
    run.cancelRequested = true;
    const player = this.players.get(runId);
    if (player) {
      player.gated = false;
      player.wake?.();
      return;
    }
    // Nobody plays this run: complete it right away, as GitHub does with a queued run.
    void this.simulate(runId, 'success', { delayMs: 0, delivery: { seed: runId } });
  }

  private decide(runId: number, decision: 'approve' | 'reject'): void {
    const player = this.players.get(runId);
    if (!player?.run.pending) throw new Error(`run ${runId} is not waiting for a review`);
    player.decision = decision;
    player.gated = false;
    player.wake?.();
  }

  private async autoplay(player: Player): Promise<void> {
    for (;;) {
      if (await this.step(player)) {
        const delay = player.options.delayMs ?? Math.floor(player.random() * 50);
        if (delay > 0) await sleep(delay);
        continue;
      }
      if (!this.players.has(player.run.id)) return;
      // Checked and armed in the same tick, so an approve()/cancel() cannot slip in between.
      if (player.gated) {
        await new Promise<void>((resolve) => {
          player.wake = resolve;
        });
      }
      player.wake = null;
    }
  }

  private async step(player: Player): Promise<boolean> {
    if (player.gated) return false;
    this.state.advanceClock(player.options.stepMs ?? 3000);
    const next = player.gen.next();
    if (next.done) {
      await this.flush(player);
      this.players.delete(player.run.id);
      player.finish(player.run);
      return false;
    }
    if (next.value === GATE) {
      player.gated = player.decision === null && !player.run.cancelRequested;
      await this.flush(player);
      return !player.gated;
    }
    player.batch.push(...next.value);
    if (!player.options.delivery?.shuffle) await this.flush(player);
    return true;
  }

  /** Sends what a run emitted so far (shuffled and/or duplicated as asked), in one queue. */
  private flush(player: Player): Promise<void> {
    const batch = player.batch.splice(0);
    const delivery = player.options.delivery ?? {};
    if (delivery.drop || !this.webhook || batch.length === 0) return this.queue;
    const items = batch.map((e) => ({ ...e, id: randomUUID(), redelivery: false }));
    if (delivery.shuffle && items.length > 1) {
      const original = items.map((i) => i.id).join();
      while (items.map((i) => i.id).join() === original) {
        for (let i = items.length - 1; i > 0; i--) {
          const j = Math.floor(player.random() * (i + 1));
          [items[i], items[j]] = [items[j] as (typeof items)[number], items[i] as (typeof items)[number]];
        }
      }
    }
    for (const item of [...items]) {
      if (player.random() < (delivery.duplicates ?? 0)) {
        const at =
          items.indexOf(item) + 1 + Math.floor(player.random() * (items.length - items.indexOf(item)));
        items.splice(at, 0, { ...item, redelivery: true });
      }
    }
    for (const item of items) {
      this.queue = this.queue.then(() => this.deliver(player.run.id, item));
    }
    return this.queue;
  }

  private async deliver(runId: number, item: Emitted & { id: string; redelivery: boolean }): Promise<void> {
    const target = this.webhook;
    if (!target) return;
    const body = JSON.stringify(item.payload);
    const record: Delivery = {
      id: item.id,
      event: item.event,
      action: item.action,
      runId,
      body,
      status: null,
      error: null,
      redelivery: item.redelivery,
    };
    this.deliveries.push(record);
    try {
      const response = await fetch(target.url, {
        method: 'POST',
        body,
        signal: AbortSignal.timeout(10_000),
        headers: {
          'content-type': 'application/json',
          'user-agent': 'GitHub-Hookshot/a1b2c3d',
          'x-github-event': item.event,
          'x-github-delivery': item.id,
          'x-github-hook-id': String(this.hookId),
          'x-github-hook-installation-target-id': String(this.state.id.repoId),
          'x-github-hook-installation-target-type': 'repository',
          'x-hub-signature-256': signWebhook(target.secret, body),
        },
      });
      record.status = response.status;
      await response.arrayBuffer();
    } catch (error) {
      record.error = error instanceof Error ? error.message : String(error);
    }
  }

  // ---- the scenarios ----------------------------------------------------------------------

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

  private *play(run: RunRecord, plan: Plan, build: boolean): Generator<Yielded, void, void> {
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
