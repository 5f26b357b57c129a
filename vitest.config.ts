import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    reporters: ['default', './test/support/summary-reporter.ts'],
    // Test files run in child processes, so the code under test sees a real main thread
    // (isMainThread === true) and starts real worker threads of its own.
    pool: 'forks',
    // 2 cores: running files side by side would only add noise to thread-heavy tests.
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 60_000,
  },
});
