import { defineConfig } from 'vitest/config';

/**
 * The real-Docker-engine tests (`npm run test:engine`, run by .ci/run after the main suite): they
 * start their own dockerd, import a base image and build the app image, so they run alone, one file
 * at a time, with minutes rather than seconds of budget. On a machine that cannot run a dockerd
 * (not root, no docker.io) they print why and skip.
 */
export default defineConfig({
  test: {
    include: ['test/engine/**/*.test.ts'],
    testTimeout: 300_000,
    hookTimeout: 300_000,
    fileParallelism: false,
    maxWorkers: 1,
    reporters: ['default'],
  },
});
