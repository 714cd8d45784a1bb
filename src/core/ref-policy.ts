import type { RefRule } from './environment.ts';

/** Which kinds of ref an environment would accept for this name (before asking GitHub what it is). */
export type RefKinds = { branch: boolean; tag: boolean; sha: boolean };

/**
 * Matches a git ref name against a glob: `*` is any run of characters but `/`, `**` is anything.
 * Pure; the pattern comes from the operator's config, the name from a user (already syntax-checked).
 */
export function globMatch(pattern: string, name: string): boolean {
  let source = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern.charAt(i);
    if (c === '*' && pattern.charAt(i + 1) === '*') {
      source += '.*';
      i++;
    } else if (c === '*') {
      source += '[^/]*';
    } else {
      source += c.replace(/[.+?^${}()|[\]\\]/g, '\\$&');
    }
  }
  return new RegExp(`^${source}$`).test(name);
}

/** The kinds of ref the rules allow for `ref`; all false means the environment refuses it outright. */
export function allowedRefKinds(rules: readonly RefRule[], ref: string, isFullSha: boolean): RefKinds {
  return {
    branch: rules.some((r) => r.kind === 'branch' && globMatch(r.pattern, ref)),
    tag: rules.some((r) => r.kind === 'tag' && globMatch(r.pattern, ref)),
    sha: isFullSha && rules.some((r) => r.kind === 'sha'),
  };
}

/** A short human description of what an environment accepts ("branch main", "any branch, tag or SHA"). */
export function describeRefRules(rules: readonly RefRule[]): string {
  const parts = rules.map((r) => {
    if (r.kind === 'sha') return 'a full commit SHA';
    const what = r.kind === 'tag' ? 'tag' : 'branch';
    return r.pattern === '**' ? `any ${what}` : `${what} ${r.pattern}`;
  });
  return parts.join(', ');
}
