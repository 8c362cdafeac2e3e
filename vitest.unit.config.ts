/**
 * `npm run test:unit`: the unit tests alone, in seconds. No global setup (they need no
 * PostgreSQL) and no process of their own: tests that run ffmpeg, PostgreSQL or a child process
 * live in test/integration/, and `npm test` runs everything.
 */
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/unit/**/*.test.ts"],
    pool: "forks",
    maxWorkers: 2,
  },
});
