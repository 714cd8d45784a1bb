import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { functionLengths } from './function-lengths.ts';

const ROOT = join(import.meta.dirname, '../..');
/** A function longer than this no longer reads in one screen; the list below may only shrink. */
const MAX_LINES = 100;

describe('functions in src/', () => {
  it(`are at most ${MAX_LINES} lines long`, () => {
    const lengths = functionLengths('src/**/*.ts', ROOT);
    expect(lengths.length).toBeGreaterThan(100);
    expect(lengths.filter((f) => f.lines > MAX_LINES).map((f) => `${f.where} (${f.lines} lines)`)).toEqual(
      [],
    );
  });

  it('are measured from the source: a long function is found', () => {
    const [longest] = functionLengths('test/architecture/function-lengths.ts', ROOT);
    expect(longest?.where).toMatch(/function-lengths\.ts:\d+ functionLengths$/);
    expect(longest?.lines).toBeGreaterThan(15);
  });
});
