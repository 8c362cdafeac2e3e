/** What `npm ci` shows a new user: the lock installs without engine warnings on the oldest Node `engines` allows. */
import { execFile } from "node:child_process";
import { copyFile, mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const ROOT = resolve(import.meta.dirname, "../..");
const run = promisify(execFile);
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "reelay-install-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("Node versions", () => {
  it("npm ci on the oldest Node that `engines` allows warns of no package (EBADENGINE)", async () => {
    const pkg = JSON.parse(await readFile(join(ROOT, "package.json"), "utf8")) as {
      engines: { node: string };
    };
    const oldest = /^>=\s*(\d+)\.(\d+)$/.exec(pkg.engines.node);
    expect(oldest, `engines.node is ">=MAJOR.MINOR": ${pkg.engines.node}`).not.toBeNull();
    await copyFile(join(ROOT, "package.json"), join(dir, "package.json"));
    await copyFile(join(ROOT, "package-lock.json"), join(dir, "package-lock.json"));
    // A dry run checks every locked package's engines against --node-version, offline and in a temp dir.
    const { stdout, stderr } = await run(
      "npm",
      [
        "ci",
        "--dry-run",
        "--ignore-scripts",
        "--offline",
        "--no-audit",
        "--no-fund",
        `--node-version=${oldest?.[1]}.${oldest?.[2]}.0`,
      ],
      { cwd: dir, env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? dir }, timeout: 120_000 },
    );
    expect(`${stdout}${stderr}`).not.toContain("EBADENGINE");
  });
});
