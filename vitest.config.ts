import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // A PostgreSQL server for the scale-out suites (REELAY_TEST_DATABASE_URL, or one from npm).
    // And a record of what every route answers, checked against openapi.json at the end.
    globalSetup: ["test/global-postgres.ts", "test/global-answers.ts"],
    // Renders run real ffmpeg on two cores: allow them time; no test asserts on timing.
    testTimeout: 180_000,
    hookTimeout: 60_000,
    pool: "forks",
    // Two files at a time: every e2e file starts its own renders, and CI has two cores.
    maxWorkers: 2,
  },
});
