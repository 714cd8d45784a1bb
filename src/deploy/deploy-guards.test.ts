import { describe, expect, it } from 'vitest';
import { splitOverride } from './deploy-guards.ts';

describe('splitOverride', () => {
  it.each([
    [undefined, undefined, null],
    ['main', 'main', null],
    ['main --force "hotfix for outage"', 'main', 'hotfix for outage'],
    ['main --force “hotfix for outage”', 'main', 'hotfix for outage'],
    ["--force 'db is down'", undefined, 'db is down'],
    ['v1.2.3 --override freeze exception', 'v1.2.3', 'freeze exception'],
    ['main --force=hotfix', 'main', 'hotfix'],
    ['main --force', 'main', ''],
    ['main --force ""', 'main', ''],
    // A branch that merely contains the word is not a flag.
    ['feature/--forced', 'feature/--forced', null],
  ])('%j → ref %j, override %j', (text, ref, override) => {
    expect(splitOverride(text)).toEqual({ rest: ref, override });
  });

  it('keeps a long reason to 200 characters without control characters', () => {
    const { override } = splitOverride(`main --force ${'x'.repeat(300)}\u0007`);
    expect(override).toHaveLength(200);
    expect(override).not.toMatch(/\p{Cc}/u);
  });
});
