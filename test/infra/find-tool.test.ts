import { afterEach, describe, expect, it } from 'vitest';
import { findTool } from './find-tool.ts';

describe('findTool', () => {
  const ci = process.env.CI;
  afterEach(() => {
    if (ci === undefined) delete process.env.CI;
    else process.env.CI = ci;
  });

  it('finds an installed executable', () => {
    const sh = findTool('sh', 'always there');
    expect(sh.path).toMatch(/\/sh$/);
    expect(sh.skip).toBe(false);
  });

  it('skips a missing tool outside CI', () => {
    delete process.env.CI;
    expect(findTool('no-such-tool-deploybot', 'nowhere')).toEqual({
      path: null,
      skip: true,
      missing: 'no-such-tool-deploybot is not installed (nowhere)',
    });
  });

  it('does not skip a missing tool in CI, so its tests fail', () => {
    process.env.CI = 'true';
    expect(findTool('no-such-tool-deploybot', 'nowhere').skip).toBe(false);
  });
});
