import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    // Each file boots its own app on its own database, so files run in parallel safely.
    pool: 'forks',
    fileParallelism: true,
    // Vitest's default is one worker fewer than the cores: one on a 2-core machine. Workers often wait
    // (password hashing runs on libuv's threads, start-up tests on child processes), so use more.
    maxWorkers: Math.max(3, availableParallelism()),
    // A worker runs file after file in one process, so each pays once, not per file, for loading the
    // app's modules and warming up PGlite's WebAssembly. Files share no state: each builds its own
    // app on its own database, and nothing in src keeps module-level state.
    isolate: false,
    // Makes the migrated template database every test app starts from.
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    reporters: ['default'],
  },
});
