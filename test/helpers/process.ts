/**
 * Runs Reelay as its own process (`node --import tsx src/main/serve.ts`), for what only a real
 * process shows: start-up errors, the data-dir lock, SIGKILL mid-render.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { readFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { freePort } from "./app.js";

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
 * Starts `src/main/serve.ts ROLE` (default `all`; `serve` and `worker` need REELAY_DATABASE_URL);
 * `nodeArgs` go to node before the script (e.g. `npm start`'s heap cap, see `npmStartNodeArgs`).
 */
export async function spawnServer(
  env: Record<string, string>,
  role: "serve" | "worker" | "all" = "all",
  nodeArgs: readonly string[] = [],
): Promise<ServerProcess> {
  const port = env.PORT ?? String(await freePort());
  const proc = spawn(process.execPath, [...nodeArgs, "--import", "tsx", "src/main/serve.ts", role], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? "", HOST: "127.0.0.1", PORT: port, REELAY_LOG_LEVEL: "info", ...env },
    stdio: ["ignore", "pipe", "pipe"],
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
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
      return exited;
    },
  };
}

/** The node flags `npm start` passes (its default heap cap), read from package.json's start script. */
export async function npmStartNodeArgs(): Promise<string[]> {
  const pkg = JSON.parse(await readFile(join(ROOT, "package.json"), "utf8")) as {
    scripts: { start: string };
  };
  const heap = /--max-old-space-size=\$\{REELAY_HEAP_MB:-(\d+)\}/.exec(pkg.scripts.start)?.[1];
  if (!heap) throw new Error(`no heap cap in npm start: ${pkg.scripts.start}`);
  return [`--max-old-space-size=${heap}`];
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
  const until = Date.now() + timeoutMs;
  let ended = false;
  void server.exited.then(() => {
    ended = true;
  });
  while (Date.now() < until && !ended) {
    try {
      const res = await fetch(`${server.url}/healthz`);
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`server did not become healthy:\n${server.output()}`);
}
