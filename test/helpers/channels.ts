/** Starts the app with channels from a config file (upstream emulators, the local renderer). */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { UpstreamKind } from "../../src/core/upstream/ports.js";
import { startTestApp, type TestApp } from "./app.js";

export interface ChannelApp extends TestApp {
  /** The JSON of a task as the unified query shows it. */
  query(key: string, id: string): Promise<Record<string, unknown>>;
}

export async function startWithChannels(
  file: { channels: object[]; pricing?: object; models?: object[] },
  opts: Parameters<typeof startTestApp>[0] = {},
): Promise<ChannelApp> {
  const dir = await mkdtemp(join(tmpdir(), "reelay-channels-"));
  const configFile = join(dir, "reelay.json");
  await writeFile(configFile, JSON.stringify(file));
  const app = await startTestApp({
    ...opts,
    env: { REELAY_CONFIG_FILE: configFile, ...opts.env },
    engine: { backoffBaseMs: 50, backoffMaxMs: 500, ...opts.engine },
  });
  return {
    ...app,
    async query(key, id) {
      const res = await app.request(`/v1/video/query?id=${encodeURIComponent(id)}`, { key });
      return (await res.json()) as Record<string, unknown>;
    },
    async close(o) {
      await app.close(o);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** An upstream channel entry for the config file, fast-polling for tests. */
export const channel = (
  id: string,
  kind: UpstreamKind,
  baseUrl: string,
  extra: Record<string, unknown> = {},
): Record<string, unknown> => ({
  id,
  kind,
  baseUrl,
  secretEnv: `SECRET_${id.toUpperCase().replace(/[^A-Z0-9]/g, "_")}`,
  pollIntervalS: 0.1,
  timeouts: { connectMs: 1000, requestMs: 3000, downloadMs: 30_000 },
  ...extra,
});

export const secretEnv = (id: string, secret: string): Record<string, string> => ({
  [`SECRET_${id.toUpperCase().replace(/[^A-Z0-9]/g, "_")}`]: secret,
});
