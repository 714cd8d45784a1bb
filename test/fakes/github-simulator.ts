import { randomUUID } from 'node:crypto';
import { type Emitted, GATE, GitHubPlans, type Yielded } from './github-plans.ts';
import type { GitHubState, RunRecord } from './github-state.ts';
import { signWebhook } from './github-webhooks.ts';

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
  private readonly plans: GitHubPlans;

  constructor(state: GitHubState, webhook?: { url: string; secret: string }) {
    this.state = state;
    this.webhook = webhook;
    this.plans = new GitHubPlans(state, this.players);
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
      gen: this.plans.play(run, plan, build),
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
}
