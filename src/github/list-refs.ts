import type { GitHubClient } from './github-client.ts';
import type { RepoRef } from './resolve-ref.ts';

/** A branch or tag and the commit it points at. */
export type NamedRef = { kind: 'branch' | 'tag'; name: string; sha: string };

/** A ref with its commit's date (ms; 0 when GitHub did not say). */
export type DatedRef = NamedRef & { committedAt: number };

/**
 * The repository's branches and tags (the first 100 of each, GitHub's order by name).
 * @throws Octokit's error; the caller turns it into a `GitHubError`.
 */
export async function listRefs(octokit: GitHubClient, repo: RepoRef): Promise<NamedRef[]> {
  const [branches, tags] = await Promise.all([
    octokit.rest.repos.listBranches({ ...repo, per_page: 100 }),
    octokit.rest.repos.listTags({ ...repo, per_page: 100 }),
  ]);
  return [
    ...branches.data.map((b) => ({ kind: 'branch' as const, name: b.name, sha: b.commit.sha })),
    ...tags.data.map((t) => ({ kind: 'tag' as const, name: t.name, sha: t.commit.sha })),
  ];
}

/**
 * Commit dates by `owner/repo@sha`, per client (a client is one GitHub: its host, its installation):
 * a commit's date never changes, so each is asked for once.
 */
const commitDates = new WeakMap<GitHubClient, Map<string, number>>();
/** Bound on each client's dates; the oldest entries go first. */
const COMMIT_DATES_KEPT = 20_000;

/**
 * The refs with their commits' dates, newest first. A commit is looked up once per client (its date
 * never changes), so only commits not seen before cost a request: the first call for a repository
 * with 200 branches and tags asks for each of their commits (through the client's queues, 10 at
 * once), later calls for the new ones only. A commit that cannot be read sorts last and is asked for
 * again next time.
 */
export async function dateRefs(
  octokit: GitHubClient,
  repo: RepoRef,
  refs: readonly NamedRef[],
): Promise<DatedRef[]> {
  const known = commitDates.get(octokit) ?? new Map<string, number>();
  commitDates.set(octokit, known);
  const key = (sha: string) => `${repo.owner}/${repo.repo}@${sha}`;
  const unknown = [...new Set(refs.map((r) => r.sha))].filter((sha) => !known.has(key(sha)));
  await Promise.all(
    unknown.map(async (sha) => {
      // Not retried: a date only orders the buttons, and a GitHub failing every lookup must not hold
      // the press for minutes (up to 200 lookups, 10 at once, each with its backoff).
      const { data } = await octokit.rest.repos
        .getCommit({ ...repo, ref: sha, request: { retries: 0 } })
        .catch(() => ({ data: null }));
      const when = data?.commit.committer?.date ?? data?.commit.author?.date;
      const at = when ? Date.parse(when) : Number.NaN;
      if (Number.isFinite(at)) remember(known, key(sha), at);
    }),
  );
  return refs
    .map((r) => ({ ...r, committedAt: known.get(key(r.sha)) ?? 0 }))
    .sort((a, b) => b.committedAt - a.committedAt || (a.name < b.name ? -1 : 1));
}

function remember(dates: Map<string, number>, key: string, at: number): void {
  dates.set(key, at);
  if (dates.size <= COMMIT_DATES_KEPT) return;
  const oldest = dates.keys().next();
  if (!oldest.done) dates.delete(oldest.value);
}
