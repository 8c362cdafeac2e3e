#!/usr/bin/env node
/**
 * Builds dist/ from src/ with tsc, only when dist/ is out of date (`npm start`, `prepare`), or
 * always with --force (`npm run build`). Out of date: no dist/.build-stamp, or a file under src/,
 * a tsconfig or the lock file is newer than it. A plain restart therefore starts in well under a
 * second instead of paying for tsc (8–12 s). Plain JavaScript: it has to run before anything is built.
 */
import { spawnSync } from "node:child_process";
import {
  chmodSync,
  closeSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
  writeSync,
} from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const DIST = join(ROOT, "dist");
const STAMP = join(DIST, ".build-stamp");
const LOCK = join(DIST, ".build-lock");
const INPUTS = ["src", "tsconfig.json", "tsconfig.build.json", "package-lock.json"];

const say = (line) => process.stderr.write(`reelay: ${line}\n`);

/** The newest modification time under a file or directory (0 if it does not exist). */
function newest(path) {
  let st;
  try {
    st = statSync(path);
  } catch {
    return 0;
  }
  if (!st.isDirectory()) return st.mtimeMs;
  let max = st.mtimeMs;
  for (const name of readdirSync(path)) max = Math.max(max, newest(join(path, name)));
  return max;
}

function stampTime() {
  try {
    return statSync(STAMP).mtimeMs;
  } catch {
    return -1;
  }
}

const upToDate = () => stampTime() >= Math.max(...INPUTS.map((p) => newest(join(ROOT, p))));

/** Whether the process that wrote the lock file still runs. */
function lockHolderAlive() {
  const text = readFileSync(LOCK, "utf8");
  // Empty: its builder has just created it and not yet written its pid (or died right then).
  if (text === "") return Date.now() - statSync(LOCK).mtimeMs < 10_000;
  const pid = Number(text);
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return e.code === "EPERM";
  }
}

/** One build at a time (two starts, or tests, at once): waits for another builder, bounded. */
async function withLock(fn) {
  mkdirSync(DIST, { recursive: true });
  const until = Date.now() + 5 * 60_000;
  for (;;) {
    try {
      const fd = openSync(LOCK, "wx");
      writeSync(fd, String(process.pid));
      closeSync(fd);
      break;
    } catch (e) {
      if (e.code !== "EEXIST") throw e;
      let alive = true;
      try {
        alive = lockHolderAlive();
      } catch {
        // The holder has just released it (or not written its pid yet): look again.
      }
      if (!alive) rmSync(LOCK, { force: true });
      if (Date.now() > until) throw new Error(`${LOCK} is held by another build for 5 minutes`);
      await new Promise((r) => setTimeout(r, alive ? 200 : 0));
    }
  }
  try {
    return fn();
  } finally {
    rmSync(LOCK, { force: true });
  }
}

function build() {
  let tsc;
  try {
    tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc");
  } catch {
    say("TypeScript is not installed (npm ci --omit=dev?): dist/ cannot be built here");
    // Installing without dev dependencies must not fail; `npm start` without dist/ then says why.
    return process.env.npm_lifecycle_event === "prepare" ? 0 : 1;
  }
  // The stamp takes the time the build started: a source saved during the build is newer than it.
  const started = new Date();
  say("building dist/ from src/ (tsc)");
  const r = spawnSync(process.execPath, [tsc, "-p", join(ROOT, "tsconfig.build.json")], {
    cwd: ROOT,
    stdio: "inherit",
  });
  if (r.status !== 0) return r.status ?? 1;
  // npm makes a bin executable when it links it; a checkout run by path needs the bit too.
  const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8"));
  for (const bin of Object.values(pkg.bin ?? {})) chmodSync(join(ROOT, bin), 0o755);
  writeFileSync(STAMP, `${started.toISOString()}\n`);
  utimesSync(STAMP, started, started);
  return 0;
}

const force = process.argv.includes("--force");
if (force || !upToDate()) {
  process.exitCode = await withLock(() => (!force && upToDate() ? 0 : build()));
}
