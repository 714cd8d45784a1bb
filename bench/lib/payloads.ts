import { createHmac } from 'node:crypto';
import { createRequire } from 'node:module';

/**
 * The webhook deliveries the ingest benchmark sends, built from `@octokit/webhooks-examples` (real
 * payloads, 2–26 KB, minified as GitHub sends them) and signed with the secret. The mix is what an
 * organisation-wide App sees: most deliveries belong to other repositories; the rest are this
 * repository's `workflow_run` / `workflow_job` events (of its CI workflows, not of deploy.yml, so the
 * bot checks, de-duplicates and looks the run up, and finds nothing to do).
 */

export type Delivery = { event: string; body: Buffer; signature: string; ours: boolean };

type Example = { name: string; examples: Array<Record<string, unknown>> };

/** Event types an organisation's repositories send most (each example of each is used). */
const OTHER_EVENTS = [
  'push',
  'pull_request',
  'pull_request_review',
  'issues',
  'issue_comment',
  'check_run',
  'check_suite',
  'status',
  'create',
  'delete',
  'workflow_run',
  'workflow_job',
];

const require = createRequire(import.meta.url);

function examples(): Example[] {
  return require('@octokit/webhooks-examples/api.github.com/index.json') as Example[];
}

export function sign(secret: string, body: Buffer | string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

/** mulberry32: a small seeded generator, so every server gets the same sequence. */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Points an example at `owner/repo` (the fields the bot and Probot read). */
function ofRepository(
  payload: Record<string, unknown>,
  owner: string,
  repo: string,
): Record<string, unknown> {
  const text = JSON.stringify(payload);
  const original = (payload.repository as { full_name?: string } | undefined)?.full_name;
  const moved = original ? text.split(original).join(`${owner}/${repo}`) : text;
  const out = JSON.parse(moved) as Record<string, unknown>;
  const repository = out.repository as Record<string, unknown>;
  repository.full_name = `${owner}/${repo}`;
  repository.name = repo;
  (repository.owner as Record<string, unknown>).login = owner;
  return out;
}

/**
 * `count` deliveries, `oursShare` of them this repository's, in a seeded order. Payloads that name no
 * repository are left out (they are not what the mix is about).
 */
export function deliveryMix(options: {
  secret: string;
  owner: string;
  repo: string;
  count: number;
  oursShare: number;
  seed?: number;
}): Delivery[] {
  const all = examples();
  const pool = (names: string[]) =>
    all
      .filter((e) => names.includes(e.name))
      .flatMap((e) => e.examples.filter((x) => x.repository).map((x) => ({ event: e.name, payload: x })));
  const others = pool(OTHER_EVENTS).filter(
    (d) => (d.payload.repository as { full_name: string }).full_name !== `${options.owner}/${options.repo}`,
  );
  const ours = pool(['workflow_run', 'workflow_job']).map((d) => ({
    event: d.event,
    payload: ofRepository(d.payload, options.owner, options.repo),
  }));
  const random = seeded(options.seed ?? 16);
  const out: Delivery[] = [];
  for (let i = 0; i < options.count; i++) {
    const mine = random() < options.oursShare;
    const from = mine ? ours : others;
    const pick = from[Math.floor(random() * from.length)] ?? from[0];
    if (!pick) throw new Error('no example payloads');
    const body = Buffer.from(JSON.stringify(pick.payload));
    out.push({ event: pick.event, body, signature: sign(options.secret, body), ours: mine });
  }
  return out;
}
