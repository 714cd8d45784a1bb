import type { Repository } from '../core/service.ts';

/** `\u` and `\/`: JSON escapes that can spell a letter or the slash of a repository's full name. */
const UNICODE_ESCAPE = Buffer.from('\\u', 'latin1');
const SLASH_ESCAPE = Buffer.from('\\/', 'latin1');
/** U+212A KELVIN SIGN in UTF-8: the one character outside ASCII whose `toLowerCase()` is an ASCII one ('k'). */
const KELVIN_SIGN = Buffer.from('\u212a', 'utf8');

/**
 * A look at a webhook body's raw bytes, before any parse: false only when no JSON string in the body
 * can be the `repository.full_name` of one of `repositories` as {@link repositoryOf} and
 * `serviceOfRepository` read it (owner and name compared case-insensitively, anything after a second
 * slash ignored). Such a delivery is another repository's, and an organisation's webhook sends mostly
 * those: they are answered without a `JSON.parse` of their 13 kB (docs/architecture.md, "The GitHub
 * webhook route").
 *
 * Why false is proof: a string that decodes to `owner/repo…` (in any case) holds those characters
 * either as their bytes, found by the case-insensitive search, or through a `\uXXXX` or `\/` escape
 * or a Kelvin sign (lower-cased to 'k'), any of which in the body answers true. UTF-8 decoding never
 * turns a byte over 0x7f into ASCII, so reading the bytes as Latin-1 (one character per byte) keeps
 * every ASCII character where it is. True promises nothing: the caller parses as usual.
 */
export function mayNameRepository(repositories: readonly Repository[]): (body: Buffer) => boolean {
  if (repositories.length === 0) return () => true;
  // One search per owner (`acme/(?:shop|billing)`): a literal prefix keeps each search fast.
  const byOwner = new Map<string, string[]>();
  for (const { owner, repo } of repositories) {
    const key = owner.toLowerCase();
    byOwner.set(key, [...(byOwner.get(key) ?? []), repo.toLowerCase()]);
  }
  const searches = [...byOwner].map(
    ([owner, repos]) => new RegExp(`${escapeRegExp(owner)}/(?:${repos.map(escapeRegExp).join('|')})`, 'i'),
  );
  return (body) => {
    if (body.indexOf(UNICODE_ESCAPE) >= 0 || body.indexOf(SLASH_ESCAPE) >= 0) return true;
    if (body.indexOf(KELVIN_SIGN) >= 0) return true;
    const text = body.toString('latin1');
    return searches.some((search) => search.test(text));
  };
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');
}
