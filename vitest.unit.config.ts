/**
 * `npm run test:unit`: the unit tests alone, in seconds. No PostgreSQL and no process of their
 * own: tests that run ffmpeg, PostgreSQL or a child process live in test/integration/, and
 * `npm test` runs everything. The answer recorder stays on, as in every run.
 */
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/unit/**/*.test.ts"],
    globalSetup: ["test/global-answers.ts"],
    pool: "forks",
    maxWorkers: 2,
  },
});
