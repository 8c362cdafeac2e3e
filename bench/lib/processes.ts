/**
 * Child processes for the benchmarks that need a server of their own (so the load generator does
 * not share its event loop): building and spawning Reelay, spawning bare node baselines, waiting
 * for them to answer, reading their RSS, and always stopping them.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { closeSync, openSync } from "node:fs";
import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { request } from "node:http";
import { type AddressInfo, createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

export const ROOT = resolve(import.meta.dirname, "../..");
export const ADMIN_TOKEN = "bench-admin-token-0123456789";
export const CREATE_BODY = {
  model: "sora-2",
  prompt: "bench",
  orientation: "portrait",
  size: "small",
  duration: 10,
} as const;

/**
 * Every child still running. A benchmark stops its children in `finally`; this is the backstop
 * for a crash or Ctrl-C between spawn and that `finally`, so no server outlives `npm run bench`.
 */
const live = new Set<ChildProcess>();
process.once("exit", () => {
  for (const p of live) p.kill("SIGKILL");
});
for (const [signal, code] of [
  ["SIGINT", 130],
  ["SIGTERM", 143],
] as const) {
  process.once(signal, () => {
    for (const p of live) p.kill("SIGKILL");
    process.exit(code);
  });
}

/** How to start Reelay: its argv after the node binary, and what that is, for the results. */
export interface ReelayCommand {
  readonly args: readonly string[];
  readonly description: string;
}

/**
 * Builds Reelay as `npm start` does (`npm run -s build` → dist/) and runs `node dist/main/serve.js`:
 * the production way, without tsx's loader in the measured process. Other engineers edit src/
 * while benchmarks run, so tsc may report type errors in their files; it emits JS anyway, and that
 * JS is used when it was written by this build. If nothing was emitted, falls back to tsx.
 */
export async function buildReelay(): Promise<ReelayCommand> {
  const started = Date.now();
  const { code, output } = await run("npm", ["run", "-s", "build"], 180_000);
  const entry = join(ROOT, "dist", "main", "serve.js");
  const emitted = await stat(entry).then(
    (s) => s.mtimeMs >= started - 2000,
    () => false,
  );
  if (emitted) {
    if (code !== 0) {
      const first = output.split("\n").find((l) => l.includes("error TS")) ?? output.trim().slice(0, 300);
      console.log(`  note: tsc reported type errors (files in flux), its emitted JS is used: ${first}`);
    }
    // The same V8 heap budgets as `npm start` (its REELAY_HEAP_MB and REELAY_SEMI_SPACE_MB defaults).
    const heap = await npmStartHeapFlags();
    return {
      args: [...heap, "dist/main/serve.js"],
      description: `node ${heap.join(" ")} dist/main/serve.js (npm run -s build)`,
    };
  }
  console.log(`  note: the build emitted nothing (exit ${code}); running from source with tsx`);
  return {
    args: ["--import", "tsx", "src/main/serve.ts"],
    description: "node --import tsx src/main/serve.ts",
  };
}

/**
 * The heap flags of package.json's start script, with its defaults or the REELAY_HEAP_MB and
 * REELAY_SEMI_SPACE_MB of this environment, as `npm start` would pass them.
 */
async function npmStartHeapFlags(): Promise<string[]> {
  const pkg = JSON.parse(await readFile(join(ROOT, "package.json"), "utf8")) as {
    scripts: { start: string };
  };
  return [...pkg.scripts.start.matchAll(/(--max-[a-z-]+-size)=\$\{(\w+):-(\d+)\}/g)].map(
    ([, flag, env, value]) => `${flag}=${process.env[env as string] ?? value}`,
  );
}

/** Runs a command to completion (bounded), collecting its output. */
function run(
  cmd: string,
  args: readonly string[],
  timeoutMs: number,
): Promise<{ code: number; output: string }> {
  return new Promise((resolveRun, reject) => {
    const p = spawn(cmd, args, { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
    live.add(p);
    let output = "";
    p.stdout?.on("data", (d: Buffer) => {
      output += d.toString();
    });
    p.stderr?.on("data", (d: Buffer) => {
      output += d.toString();
    });
    const timer = setTimeout(() => p.kill("SIGKILL"), timeoutMs);
    p.on("error", reject);
    p.on("close", (code) => {
      clearTimeout(timer);
      live.delete(p);
      resolveRun({ code: code ?? -1, output });
    });
  });
}

export interface Child {
  readonly pid: number;
  /** Milliseconds (performance.now()) just before spawn. */
  readonly spawnedAt: number;
  /** What the process wrote to stdout and stderr so far. */
  output(): Promise<string>;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves once it is gone and its scratch dir removed. */
  stop(graceMs?: number): Promise<void>;
}

/**
 * Spawns `node <args>` (the same node binary as this process). Its output goes to a file, not a
 * pipe: a server logging every request under load must never block on a pipe this process is too
 * busy to drain, nor make this process spend CPU reading it.
 */
export async function spawnNode(args: readonly string[], env: Record<string, string>): Promise<Child> {
  const dir = await mkdtemp(join(tmpdir(), "reelay-bench-proc-"));
  const logPath = join(dir, "output.log");
  const fd = openSync(logPath, "a");
  const spawnedAt = performance.now();
  let proc: ChildProcess;
  try {
    proc = spawn(process.execPath, args, {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? "", ...env },
      stdio: ["ignore", fd, fd],
    });
  } finally {
    closeSync(fd);
  }
  live.add(proc);
  const exited = new Promise<void>((res) => {
    if (proc.exitCode !== null || proc.signalCode !== null) res();
    proc.once("exit", () => res());
    // A process that could not be spawned (EAGAIN, ENOMEM) reports it here, and never exits.
    proc.once("error", () => res());
  });
  void exited.then(() => live.delete(proc));
  const pid = proc.pid;
  if (pid === undefined) {
    await rm(dir, { recursive: true, force: true });
    throw new Error(`could not spawn node ${args.join(" ")}`);
  }
  return {
    pid,
    spawnedAt,
    output: () => readFile(logPath, "utf8").catch(() => ""),
    async stop(graceMs = 5000) {
      if (proc.exitCode === null && proc.signalCode === null) {
        proc.kill("SIGTERM");
        const timer = setTimeout(() => proc.kill("SIGKILL"), graceMs);
        await exited;
        clearTimeout(timer);
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export interface ReelayServer {
  readonly child: Child;
  readonly url: string;
  readonly dataDir: string;
  /** Stops the process and removes its data dir. */
  stop(): Promise<void>;
}

/** Starts Reelay on a free loopback port with a fresh temporary data dir; does not wait for it. */
export async function spawnReelay(cmd: ReelayCommand, env: Record<string, string>): Promise<ReelayServer> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const dataDir = await mkdtemp(join(tmpdir(), "reelay-bench-data-"));
  const child = await spawnNode(cmd.args, {
    HOST: "127.0.0.1",
    PORT: String(port),
    REELAY_PUBLIC_URL: url,
    REELAY_DATA_DIR: dataDir,
    REELAY_ADMIN_TOKEN: ADMIN_TOKEN,
    REELAY_LOG_LEVEL: "warn",
    ...env,
  });
  return {
    child,
    url,
    dataDir,
    async stop() {
      try {
        await child.stop();
      } finally {
        await rm(dataDir, { recursive: true, force: true });
      }
    },
  };
}

/**
 * Polls `url` every `intervalMs` until it answers 200 and returns the time that took since the
 * child was spawned. Uses node:http, not fetch: fetch loads undici on first use, a cost that would
 * land in the first start-time sample.
 */
export async function waitUntilOk(
  child: Child,
  url: string,
  timeoutMs = 30_000,
  intervalMs = 5,
): Promise<number> {
  const until = performance.now() + timeoutMs;
  while (performance.now() < until) {
    if ((await statusOf(url)) === 200) return performance.now() - child.spawnedAt;
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  throw new Error(`${url} did not answer 200 within ${timeoutMs} ms; output:\n${await child.output()}`);
}

function statusOf(url: string): Promise<number | undefined> {
  return new Promise((res) => {
    const req = request(url, { agent: false, timeout: 1000 }, (r) => {
      r.resume();
      r.on("end", () => res(r.statusCode));
    });
    req.on("timeout", () => req.destroy());
    req.on("error", () => res(undefined));
    req.end();
  });
}

/** Resident set size of a process, in KiB (VmRSS from /proc, as `ps -o rss=` reports it). */
export async function rssKiB(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, "utf8");
  const m = /^VmRSS:\s+(\d+)\s+kB$/m.exec(status);
  if (!m?.[1]) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(m[1]);
}

/** A loopback port nobody listens on right now. */
export function freePort(): Promise<number> {
  return new Promise((res, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address() as AddressInfo;
      srv.close(() => res(port));
    });
  });
}

/** Mints an API key through the admin API. */
export async function createKey(url: string): Promise<string> {
  const res = await fetch(`${url}/admin/keys`, {
    method: "POST",
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" },
    body: "{}",
  });
  if (res.status !== 201) throw new Error(`POST /admin/keys → ${res.status} ${await res.text()}`);
  return ((await res.json()) as { key: string }).key;
}

/** Creates one task through the unified API; returns its id. */
export async function createTask(url: string, key: string): Promise<string> {
  const res = await fetch(`${url}/v1/video/create`, {
    method: "POST",
    headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
    body: JSON.stringify(CREATE_BODY),
  });
  if (res.status !== 200) throw new Error(`POST /v1/video/create → ${res.status} ${await res.text()}`);
  return ((await res.json()) as { id: string }).id;
}
