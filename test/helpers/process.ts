/**
 * Runs Reelay as its own process (`node --import tsx src/main/serve.ts`), for what only a real
 * process shows: start-up errors, the data-dir lock, SIGKILL mid-render.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { readdir, readFile } from "node:fs/promises";
import { hostname } from "node:os";
import { join, resolve } from "node:path";
import { freePort } from "./app.js";
import { pollUntil, sleep, waitFor } from "./wait.js";

const ROOT = resolve(import.meta.dirname, "../..");

export interface ServerProcess {
  readonly proc: ChildProcess;
  readonly url: string;
  /** Everything the process wrote to stdout and stderr so far. */
  output(): string;
  /** Resolves with the exit code (or signal name) once the process ends. */
  readonly exited: Promise<number | string>;
  kill(signal?: NodeJS.Signals): Promise<number | string>;
}

/**
 * Starts `src/main/serve.ts ROLE` (default `all`; `serve` and `worker` need REELAY_DATABASE_URL),
 * or `how.command` (e.g. `npm start`) in the repository root. A command runs in its own process
 * group, and kill() signals the whole group: npm's child would outlive a SIGKILLed npm.
 * `how.nodeArgs` go to node before the script (e.g. `npm start`'s heap cap, see `npmStartNodeArgs`).
 */
/** The recorder of answered statuses (test/global-answers.ts), passed on to the spawned server. */
function answerRecording(): Record<string, string> {
  const { REELAY_ANSWER_LOG, NODE_OPTIONS } = process.env;
  return REELAY_ANSWER_LOG && NODE_OPTIONS ? { REELAY_ANSWER_LOG, NODE_OPTIONS } : {};
}

export async function spawnServer(
  env: Record<string, string>,
  role: "serve" | "worker" | "all" = "all",
  how: { command?: readonly [string, ...string[]]; nodeArgs?: readonly string[] } = {},
): Promise<ServerProcess> {
  const { command, nodeArgs = [] } = how;
  const port = env.PORT ?? String(await freePort());
  const [file, ...args] = command ?? [
    process.execPath,
    ...nodeArgs,
    "--import",
    "tsx",
    "src/main/serve.ts",
    role,
  ];
  const proc = spawn(file, args, {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH ?? "",
      HOST: "127.0.0.1",
      PORT: port,
      REELAY_LOG_LEVEL: "info",
      ...answerRecording(),
      ...env,
    },
    stdio: ["ignore", "pipe", "pipe"],
    detached: command !== undefined,
  });
  let out = "";
  proc.stdout?.on("data", (d: Buffer) => {
    out += d.toString();
  });
  proc.stderr?.on("data", (d: Buffer) => {
    out += d.toString();
  });
  const exited = new Promise<number | string>((res) => {
    proc.on("exit", (code, signal) => res(code ?? signal ?? -1));
  });
  return {
    proc,
    url: `http://127.0.0.1:${port}`,
    output: () => out,
    exited,
    async kill(signal = "SIGTERM") {
      if (proc.exitCode === null && proc.signalCode === null) {
        if (command && proc.pid) process.kill(-proc.pid, signal);
        else proc.kill(signal);
      }
      return exited;
    },
  };
}

/** The node flags `npm start` passes (its default heap caps), read from package.json's start script. */
export async function npmStartNodeArgs(): Promise<string[]> {
  const pkg = JSON.parse(await readFile(join(ROOT, "package.json"), "utf8")) as {
    scripts: { start: string };
  };
  const heap = /--max-old-space-size=\$\{REELAY_HEAP_MB:-(\d+)\}/.exec(pkg.scripts.start)?.[1];
  const young = /--max-semi-space-size=\$\{REELAY_SEMI_SPACE_MB:-(\d+)\}/.exec(pkg.scripts.start)?.[1];
  if (!heap || !young) throw new Error(`no heap caps in npm start: ${pkg.scripts.start}`);
  return [`--max-old-space-size=${heap}`, `--max-semi-space-size=${young}`];
}

/** Mints an API key on a running server with its admin token. */
export async function mintKey(server: ServerProcess, adminToken: string): Promise<string> {
  const res = await fetch(`${server.url}/admin/keys`, {
    method: "POST",
    headers: { authorization: `Bearer ${adminToken}` },
  });
  if (res.status !== 201) throw new Error(`POST /admin/keys → ${res.status}`);
  return ((await res.json()) as { key: string }).key;
}

/** Waits (bounded) until /healthz answers, or fails with the process's output. */
export async function waitHealthy(server: ServerProcess, timeoutMs = 30_000): Promise<void> {
  let ended = false;
  void server.exited.then(() => {
    ended = true;
  });
  const healthy = async () => {
    try {
      return (await fetch(`${server.url}/healthz`)).ok;
    } catch {
      return false; // not listening yet
    }
  };
  const state = await pollUntil(
    async () => ((await healthy()) ? "healthy" : ended ? "exited" : "starting"),
    (s) => s !== "starting",
    { what: "/healthz", timeoutMs },
  );
  if (state !== "healthy") throw new Error(`server did not become healthy:\n${server.output()}`);
}

/** Waits (bounded) until the process has written `text`; fails with its output if it exits first. */
export async function waitForLog(p: ServerProcess, text: string, timeoutMs = 60_000): Promise<void> {
  const seen = await pollUntil(
    () => p.output().includes(text),
    (found) => found || p.proc.exitCode !== null,
    { what: text, timeoutMs },
  );
  if (!seen) throw new Error(`no "${text}" in:\n${p.output()}`);
}

/**
 * Waits (bounded) until the worker is rendering: an attempt's scratch dir exists in the worker's
 * own scratch dir (DATA_DIR/tmp/HOST-PID/JOB-ATTEMPT), seen twice 30 ms apart (a render, not the
 * moment between a job's completion and its clean-up).
 */
export async function waitRendering(worker: ServerProcess, dataDir: string): Promise<void> {
  const scratch = join(dataDir, "tmp", `${hostname().replace(/[^a-zA-Z0-9_.-]/g, "_")}-${worker.proc.pid}`);
  const rendering = async () => {
    const before = await readdir(scratch).catch(() => [] as string[]);
    await sleep(30);
    const after = await readdir(scratch).catch(() => [] as string[]);
    return before.filter((d) => after.includes(d));
  };
  await waitFor(rendering, (dirs) => dirs.length > 0, {
    what: "the worker rendering",
    timeoutMs: 60_000,
    intervalMs: 10,
    detail: () => worker.output(),
  });
}

/** The spawned servers of one test file, started up and killed together at its end. */
export class ServerGroup {
  private readonly all: ServerProcess[] = [];

  /**
   * Spawns ROLE with `env` and waits (bounded) until it is up: /healthz answers, or for a worker,
   * which serves no API port (PORT 0), its ready line.
   */
  async start(env: Record<string, string>, role: "serve" | "worker" | "all" = "all"): Promise<ServerProcess> {
    const p = await spawnServer(role === "worker" ? { ...env, PORT: "0" } : env, role);
    this.all.push(p);
    if (role === "worker") await waitForLog(p, "reelay is ready");
    else await waitHealthy(p);
    return p;
  }

  /** SIGKILLs every server still running (a test's teardown: nothing to hand back). */
  async killAll(): Promise<void> {
    await Promise.all(this.all.splice(0).map((p) => p.kill("SIGKILL")));
  }
}
