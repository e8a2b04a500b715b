import { defineConfig } from 'vitest/config';

/**
 * The fault-injection suite (docs/reliability.md): `npm run test:chaos`, run by .ci/run after the main suite.
 * Every test starts the servers it breaks (redis-server on 127.0.0.1 and a free port, a TCP proxy)
 * and is bounded in time: a test that hangs fails at its timeout instead of stalling CI.
 */
export default defineConfig({
  test: {
    include: ['test/chaos/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 60_000,
    // Two cores: each test runs several processes (redis-servers, workers) of its own.
    maxWorkers: 2,
    reporters: ['default'],
  },
});
