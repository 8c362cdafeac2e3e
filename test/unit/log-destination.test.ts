/**
 * The batched stdout log destination: lines logged in one turn leave together, a line logged when
 * idle leaves in its own turn, and lines still pending when the process exits are not lost.
 * Runs the destination in a child process, since it writes to the process's own stdout.
 */
import { spawnSync } from "node:child_process";
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect, it } from "vitest";

const ROOT = join(import.meta.dirname, "..", "..");

function run(script: string): { stdout: string; status: number | null } {
  const r = spawnSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], {
    cwd: ROOT,
    encoding: "utf8",
    timeout: 30_000,
  });
  return { stdout: r.stdout, status: r.status };
}

it("writes every line, even those pending when the process exits at once", () => {
  const r = run(`
    import { batchedStdout } from "./src/main/log_destination.ts";
    const out = batchedStdout();
    for (let i = 0; i < 1000; i++) out.write(JSON.stringify({ n: i }) + "\\n");
    process.exit(0);
  `);
  expect(r.status).toBe(0);
  const lines = r.stdout.trim().split("\n");
  expect(lines).toHaveLength(1000);
  expect(lines.map((l) => (JSON.parse(l) as { n: number }).n)).toEqual([...Array(1000).keys()]);
});

it("writes a line logged while idle in that turn, not at exit", () => {
  // Stdout is a file here: 200 ms after the line was logged, still running, the child reads how
  // many bytes its stdout holds and says so on stderr.
  const dir = mkdtempSync(join(tmpdir(), "reelay-log-dest-"));
  const fd = openSync(join(dir, "out.log"), "w");
  try {
    const r = spawnSync(
      process.execPath,
      [
        "--import",
        "tsx",
        "--input-type=module",
        "-e",
        `
        import { fstatSync } from "node:fs";
        import { batchedStdout } from "./src/main/log_destination.ts";
        batchedStdout().write("ready\\n");
        setTimeout(() => process.stderr.write("size " + fstatSync(1).size), 200);
        `,
      ],
      { cwd: ROOT, encoding: "utf8", timeout: 30_000, stdio: ["ignore", fd, "pipe"] },
    );
    expect(r.status).toBe(0);
    expect(r.stderr).toBe("size 6");
    expect(readFileSync(join(dir, "out.log"), "utf8")).toBe("ready\n");
  } finally {
    closeSync(fd);
    rmSync(dir, { recursive: true, force: true });
  }
});
