/**
 * `node bench/profile-summary.ts DIR|FILE [N]`: what a `--cpu-prof` profile spent its time on, as
 * text: self time by function and by package, then inclusive time by function (top N each).
 *
 *   BENCH_BOT_NODE_OPTIONS="--cpu-prof --cpu-prof-dir=/tmp/prof" npm run bench -- --only ingest --reps 1
 *   node bench/profile-summary.ts /tmp/prof
 *
 * The newest profile in DIR is read. Module loading at start is in it too (a few per cent).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

type ProfileNode = {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
};
type Profile = { nodes: ProfileNode[]; samples: number[] };

const [target = '.', count = '30'] = process.argv.slice(2);
const file = statSync(target).isDirectory()
  ? join(
      target,
      readdirSync(target)
        .filter((f) => f.endsWith('.cpuprofile'))
        .sort((a, b) => statSync(join(target, a)).mtimeMs - statSync(join(target, b)).mtimeMs)
        .at(-1) ?? '',
    )
  : target;
const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
const top = Number(count);

const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const parent = new Map<number, number>();
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const hits = new Map<number, number>();
for (const s of profile.samples) hits.set(s, (hits.get(s) ?? 0) + 1);

/** `src/…` for the bot's files, the package name for dependencies, node:… for Node's own. */
function where(url: string): string {
  if (!url) return '(native)';
  const dependency = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (dependency) return dependency[1] as string;
  if (url.startsWith('node:')) return url;
  return /\/((?:src|bench|test)\/.*)$/.exec(url)?.[1] ?? url;
}
const label = (n: ProfileNode) =>
  `${n.callFrame.functionName || '(anonymous)'} ${where(n.callFrame.url)}:${n.callFrame.lineNumber + 1}`;

const self = new Map<string, number>();
const selfByPackage = new Map<string, number>();
const inclusive = new Map<string, number>();
for (const [id, count] of hits) {
  const node = byId.get(id) as ProfileNode;
  self.set(label(node), (self.get(label(node)) ?? 0) + count);
  const pkg = where(node.callFrame.url);
  selfByPackage.set(pkg, (selfByPackage.get(pkg) ?? 0) + count);
  const seen = new Set<string>();
  for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
    const key = label(byId.get(at) as ProfileNode);
    if (seen.has(key)) continue;
    seen.add(key);
    inclusive.set(key, (inclusive.get(key) ?? 0) + count);
  }
}

const total = profile.samples.length;
const list = (map: Map<string, number>) =>
  [...map]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([key, n]) => `${((n / total) * 100).toFixed(1).padStart(6)}%  ${key}`)
    .join('\n');
process.stdout.write(
  `${file}: ${total} samples\n\nself, by function\n${list(self)}\n\nself, by package\n${list(selfByPackage)}\n\n` +
    `inclusive, by function\n${list(inclusive)}\n`,
);
