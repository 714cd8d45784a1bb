import type { Repository } from '../core/service.ts';

/** `\u` and `\/`: JSON escapes that can spell a letter, the underscore or the slash of a key or name. */
const UNICODE_ESCAPE = Buffer.from('\\u', 'latin1');
const SLASH_ESCAPE = Buffer.from('\\/', 'latin1');
/** U+212A KELVIN SIGN in UTF-8: the one character outside ASCII whose `toLowerCase()` is an ASCII one ('k'). */
const KELVIN_SIGN = Buffer.from('\u212a', 'utf8');
/** The key without its opening quote: searches for a needle that starts with `"` crawl through JSON. */
const FULL_NAME_KEY = Buffer.from('full_name"', 'latin1');
const QUOTE = 0x22;
const COLON = 0x3a;

/**
 * A look at a webhook body's raw bytes, before any parse: false only when no `full_name` in the body
 * can name one of `repositories` as {@link repositoryOf} and `serviceOfRepository` read it (owner and
 * name compared case-insensitively, anything after a second slash ignored). Such a delivery is
 * another repository's, and an organisation's webhook sends mostly those: they are answered without
 * a `JSON.parse` of their 13 kB (docs/architecture.md, "The return path").
 *
 * Why false is proof, for a body that is JSON: the top-level `repository.full_name` is a key written
 * `"full_name"`, then JSON whitespace, a colon, whitespace and a string; without a `\uXXXX` or `\/`
 * escape anywhere (either answers true) its bytes are exactly those, and a value that decodes to
 * `owner/repo…` in any case starts with those bytes in some case, or holds a Kelvin sign (lower-cased
 * to 'k', answers true). Every `"full_name"` in the body is looked at, at any depth, so duplicate keys
 * and look-alikes inside other strings can only answer true. True promises nothing: the caller
 * parses as usual. Names outside ASCII (GitHub allows none) always answer true.
 */
export function mayNameRepository(repositories: readonly Repository[]): (body: Buffer) => boolean {
  const names = repositories.map(({ owner, repo }) => `${owner}/${repo}`.toLowerCase());
  // biome-ignore lint/suspicious/noControlCharactersInRegex: the ASCII range is the point
  if (names.length === 0 || names.some((name) => !/^[\x00-\x7f]+$/.test(name))) return () => true;
  const prefixes = names.map((name) => Buffer.from(name, 'latin1'));
  return (body) => {
    if (hasNameEscape(body) || body.indexOf(KELVIN_SIGN) >= 0) return true;
    for (let at = body.indexOf(FULL_NAME_KEY); at >= 0; at = body.indexOf(FULL_NAME_KEY, at + 1)) {
      if (body[at - 1] !== QUOTE) continue;
      let i = skipSpace(body, at + FULL_NAME_KEY.length);
      if (body[i] !== COLON) continue;
      i = skipSpace(body, i + 1);
      if (body[i] !== QUOTE) continue;
      for (const prefix of prefixes) if (startsWithIgnoringCase(body, i + 1, prefix)) return true;
    }
    return false;
  };
}

/**
 * Whether a JSON body holds a `\uXXXX` or `\/` escape: the two that can write a letter, a digit, the
 * underscore, the dot or the slash of a name. Without them, a string value holding a name (of a
 * repository, of a workflow file) has the name's own bytes in the raw body.
 */
export function hasNameEscape(body: Buffer): boolean {
  const backslash = body.indexOf(0x5c);
  return (
    backslash >= 0 &&
    (body.indexOf(UNICODE_ESCAPE, backslash) >= 0 || body.indexOf(SLASH_ESCAPE, backslash) >= 0)
  );
}

/** JSON's whitespace only (space, tab, line feed, carriage return). */
function skipSpace(body: Buffer, start: number): number {
  let i = start;
  for (;;) {
    const c = body[i];
    if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) i++;
    else return i;
  }
}

/** Whether `body` has `lower` (lower-case ASCII) at `start`, ASCII letters compared in either case. */
function startsWithIgnoringCase(body: Buffer, start: number, lower: Buffer): boolean {
  for (let k = 0; k < lower.length; k++) {
    const c = body[start + k];
    if (c === undefined) return false;
    if ((c >= 0x41 && c <= 0x5a ? c | 0x20 : c) !== lower[k]) return false;
  }
  return true;
}
