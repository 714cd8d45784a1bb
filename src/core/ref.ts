/**
 * Ref validation, before any API call. A ref typed in a chat ends up in a URL path and in a
 * workflow input, so it is checked against git's own rules (git-check-ref-format) and then
 * narrowed further: no shell metacharacters at all, even where git would allow them.
 */

/** Longest ref accepted (GitHub allows 255 bytes for a ref name). */
export const MAX_REF_LENGTH = 200;

export type RefCheck =
  | { ok: true; ref: string; kind: 'sha' | 'name' }
  | { ok: false; reason: 'empty' | 'too_long' | 'bad_characters' | 'bad_form'; message: string };

const FULL_SHA = /^[0-9a-f]{40}$/;
// Letters, digits and the few punctuation marks branch and tag names really use.
const SAFE = /^[A-Za-z0-9._/-]+$/;

/** Checks a ref given by a user. Pure; never throws. */
export function checkRef(input: string): RefCheck {
  const ref = input.trim();
  if (ref === '') return { ok: false, reason: 'empty', message: 'Give a branch, tag or commit SHA.' };
  if (ref.length > MAX_REF_LENGTH) {
    return { ok: false, reason: 'too_long', message: `A ref is at most ${MAX_REF_LENGTH} characters.` };
  }
  if (FULL_SHA.test(ref)) return { ok: true, ref, kind: 'sha' };
  if (!SAFE.test(ref)) {
    return {
      ok: false,
      reason: 'bad_characters',
      message: 'A ref may contain only letters, digits, ".", "_", "-" and "/".',
    };
  }
  const badForm =
    ref.startsWith('/') ||
    ref.endsWith('/') ||
    ref.startsWith('-') ||
    ref.startsWith('.') ||
    ref.endsWith('.') ||
    ref.endsWith('.lock') ||
    ref.includes('..') ||
    ref.includes('//') ||
    ref.split('/').some((part) => part.startsWith('.') || part.endsWith('.lock') || part === '');
  if (badForm) {
    return { ok: false, reason: 'bad_form', message: `"${ref}" is not a valid branch or tag name.` };
  }
  return { ok: true, ref, kind: 'name' };
}
