import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    // A bound for a hung test, not a speed check: on a busy 2-core machine some integration tests
    // without a bound of their own took 10-13.5 s of the 20 s they had (each waits on its own
    // conditions, with their own bounds).
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    reporters: ['default'],
  },
});
