import { defineConfig } from 'vitest/config';

export default defineConfig({
  resolve: { conditions: ['keel-source'] },
  ssr: { resolve: { conditions: ['keel-source'] } },
  test: {
    include: ['packages/*/src/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // `expect.poll` waits up to 10 s, not 1 s: the suite runs many files at once, and a browser
    // page drawing a graph on a loaded machine can take longer than a second.
    expect: { poll: { timeout: 10_000 } },
    pool: 'forks',
  },
});
