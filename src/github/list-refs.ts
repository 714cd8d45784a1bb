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
 * The refs with their commits' dates, newest first (one commit lookup per distinct SHA, in
 * parallel; the caller keeps the list short). A commit that cannot be read sorts last.
 */
export async function dateRefs(
  octokit: GitHubClient,
  repo: RepoRef,
  refs: readonly NamedRef[],
): Promise<DatedRef[]> {
  const shas = [...new Set(refs.map((r) => r.sha))];
  const dates = new Map<string, number>();
  await Promise.all(
    shas.map(async (sha) => {
      const { data } = await octokit.rest.repos
        .getCommit({ ...repo, ref: sha })
        .catch(() => ({ data: null }));
      const when = data?.commit.committer?.date ?? data?.commit.author?.date;
      dates.set(sha, when ? Date.parse(when) || 0 : 0);
    }),
  );
  return refs
    .map((r) => ({ ...r, committedAt: dates.get(r.sha) ?? 0 }))
    .sort((a, b) => b.committedAt - a.committedAt || (a.name < b.name ? -1 : 1));
}
