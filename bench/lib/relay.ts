/**
 * The emulated unified relay as its own process, and the Reelay config file that makes it the only
 * channel: what the upstream-bound benchmarks share.
 */
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { type Child, freePort, spawnNode, waitUntilOk } from "./processes.js";

/** The relay's key; Reelay reads it from BENCH_UPSTREAM (see `relayEnv`). */
export const RELAY_SECRET = "bench-upstream-secret";
export const relayEnv = { BENCH_UPSTREAM: RELAY_SECRET } as const;

/** Starts `test/emulators/serve.ts unified` with `args` (e.g. `--never`, `--latency-ms 250`) and waits until it answers. */
export async function startRelay(args: readonly string[]): Promise<{ child: Child; url: string }> {
  const port = await freePort();
  const child = await spawnNode(
    [
      ...["--import", "tsx", "test/emulators/serve.ts", "unified"],
      ...["--port", String(port), "--secret", RELAY_SECRET, ...args],
    ],
    {},
  );
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitUntilOk(child, `${url}/__emulator/stats`, 30_000, 50);
  } catch (e) {
    await child.stop();
    throw e;
  }
  return { child, url };
}

/** The relay's polling figures (`reset` starts a new window of gap measurements). */
export async function relayStats<T = { tasks: number; polls: number }>(
  url: string,
  reset = false,
): Promise<T> {
  const res = await fetch(`${url}/__emulator/stats${reset ? "?reset" : ""}`, {
    signal: AbortSignal.timeout(10_000),
  });
  return (await res.json()) as T;
}

/** Writes `<dir>/reelay.json` with the relay as the only channel; returns its path (REELAY_CONFIG_FILE). */
export async function writeRelayConfig(
  dir: string,
  url: string,
  channel: Record<string, unknown>,
): Promise<string> {
  const path = join(dir, "reelay.json");
  const relay = { id: "relay", kind: "unified", baseUrl: url, secretEnv: "BENCH_UPSTREAM", ...channel };
  await writeFile(path, JSON.stringify({ channels: [relay] }));
  return path;
}
