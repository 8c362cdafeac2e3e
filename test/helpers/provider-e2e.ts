/**
 * What the provider e2e tests share: closing what a test started, a scratch directory, and the
 * admin view of channels.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll } from "vitest";
import { createHostGuard } from "../../src/adapters/net/guard.js";
import { type ChannelHttp, createChannelHttp } from "../../src/adapters/providers/upstream/http.js";
import type { ChannelApp } from "./channels.js";

/** A list whose entries (apps, emulators) are closed after each test, last started first. */
export function closedAfterEach(): { close(): Promise<unknown> }[] {
  const running: { close(): Promise<unknown> }[] = [];
  afterEach(async () => {
    await Promise.all(
      running
        .splice(0)
        .reverse()
        .map((r) => r.close()),
    );
  });
  return running;
}

/** A temp directory made before the file's tests and removed after them (`.path` inside a test). */
export function scratchDir(prefix: string): { readonly path: string } {
  let dir: string | null = null;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), prefix));
  });
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });
  return {
    get path() {
      if (dir === null) throw new Error("scratchDir is made in beforeAll: use .path inside a test");
      return dir;
    },
  };
}

/**
 * A channel's HTTP client as the wiring builds it, with test timeouts, for driving an adapter
 * directly (closed after the test through `running`).
 */
export function testChannelHttp(
  running: { close(): Promise<unknown> }[],
  baseUrl: string,
  secret: string,
  authHeaders?: () => Record<string, string>,
): ChannelHttp {
  const http = createChannelHttp({
    ...(authHeaders ? { authHeaders } : {}),
    channelId: "a",
    baseUrl,
    secret,
    connectTimeoutMs: 1000,
    requestTimeoutMs: 3000,
    downloadTimeoutMs: 10_000,
    maxDownloadBytes: 50e6,
    connections: 2,
    offOriginGuard: createHostGuard({ allowHosts: [] }),
  });
  running.push(http);
  return http;
}

/** `GET /admin/channels`: each channel's state (healthy, failing, cooling_down) and failures in a row. */
export async function channelsView(s: ChannelApp) {
  const res = await s.request("/admin/channels", { key: s.adminToken });
  return ((await res.json()) as { data: { id: string; state: string; failures: number }[] }).data;
}
