import { describe, expect, it } from 'vitest';
import { checkRef } from './ref.ts';
import { allowedRefKinds, globMatch } from './ref-policy.ts';

describe('checkRef', () => {
  it.each(['main', 'develop', 'feature/login-form', 'v1.2.3', 'release/2026.11', 'a'.repeat(200)])(
    'accepts %s',
    (ref) => {
      expect(checkRef(ref)).toMatchObject({ ok: true, kind: 'name' });
    },
  );

  it('recognises a full SHA', () => {
    expect(checkRef('0123456789abcdef0123456789abcdef01234567')).toMatchObject({ ok: true, kind: 'sha' });
  });

  it.each([
    ['main;rm -rf /', 'bad_characters'],
    ['$(id)', 'bad_characters'],
    ['`id`', 'bad_characters'],
    ['main && curl x', 'bad_characters'],
    ['feat\u0000x', 'bad_characters'],
    ['feat\nx', 'bad_characters'],
    ['../../etc', 'bad_form'],
    ['a/../b', 'bad_form'],
    ['-delete', 'bad_form'],
    ['.hidden', 'bad_form'],
    ['x.lock', 'bad_form'],
    ['a//b', 'bad_form'],
    ['a'.repeat(201), 'too_long'],
    ['   ', 'empty'],
  ])('refuses %j (%s)', (ref, reason) => {
    expect(checkRef(ref)).toMatchObject({ ok: false, reason });
  });
});

describe('ref rules', () => {
  it('matches globs the way operators expect', () => {
    expect(globMatch('main', 'main')).toBe(true);
    expect(globMatch('main', 'main2')).toBe(false);
    expect(globMatch('hotfix/*', 'hotfix/a')).toBe(true);
    expect(globMatch('hotfix/*', 'hotfix/a/b')).toBe(false);
    expect(globMatch('**', 'feature/a/b')).toBe(true);
    expect(globMatch('v1.*', 'v1x2')).toBe(false);
  });

  it('production by default takes only main', () => {
    const rules = [{ kind: 'branch', pattern: 'main' }] as const;
    expect(allowedRefKinds(rules, 'main', false)).toEqual({ branch: true, tag: false, sha: false });
    expect(allowedRefKinds(rules, 'develop', false)).toEqual({ branch: false, tag: false, sha: false });
    expect(allowedRefKinds(rules, '0123456789abcdef0123456789abcdef01234567', true).sha).toBe(false);
  });
});
