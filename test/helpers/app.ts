/**
 * Starts the real app in this process on a loopback port, with its own temporary data dir.
 * Tests talk to it over HTTP like any client would.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { type AddressInfo, createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { FastifyInstance } from "fastify";
import { pino } from "pino";
import { buildApp, closeServer } from "../../src/http/app.js";
import type { Config } from "../../src/main/config.js";
import { loadConfig } from "../../src/main/config.js";
import { buildContainer, type Container, type ContainerOverrides } from "../../src/main/container.js";

// Most app tests wait on a task; they find the helper beside the app.
export { waitForTask } from "./tasks.js";

export interface TestApp {
  readonly url: string;
  readonly config: Config;
  readonly container: Container;
  readonly adminToken: string;
  /** The Fastify app itself: `inject` answers through its router, never beside it (hot_reads.ts). */
  readonly fastify: FastifyInstance;
  /** Sends a request; `key` goes in as a Bearer token, a `body` object as JSON. */
  request(
    path: string,
    opts?: { method?: string; key?: string | null; body?: unknown; headers?: Record<string, string> },
  ): Promise<Response>;
  /** Mints an API key through the admin API. */
  newKey(ownerId?: string): Promise<string>;
  close(opts?: { keepData?: boolean }): Promise<void>;
}

export async function startTestApp(
  opts: {
    env?: Record<string, string>;
    overrides?: ContainerOverrides;
    dataDir?: string;
    engine?: Partial<Config["engine"]>;
  } = {},
): Promise<TestApp> {
  const dataDir = opts.dataDir ?? (await mkdtemp(join(tmpdir(), "reelay-test-")));
  const adminToken = "test-admin-token-0123456789";
  const base = loadConfig({
    REELAY_DATA_DIR: dataDir,
    REELAY_ADMIN_TOKEN: adminToken,
    REELAY_LOG_LEVEL: "silent",
    PORT: "0",
    ...opts.env,
  });
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const config: Config = {
    ...base,
    host: "127.0.0.1",
    port,
    publicUrl: url,
    engine: { ...base.engine, pollIntervalMs: 100, ...opts.engine },
  };
  const c = await buildContainer(config, pino({ level: "silent" }), opts.overrides);
  const app = buildApp(c.services, { requestTimeoutMs: config.requestTimeoutMs });
  await app.listen({ port, host: "127.0.0.1" });
  c.worker.start();
  c.webhookRunner.start();

  const request: TestApp["request"] = (path, o = {}) => {
    const headers: Record<string, string> = { ...o.headers };
    if (o.key) headers.authorization = `Bearer ${o.key}`;
    let body: string | undefined;
    if (o.body !== undefined) {
      body = typeof o.body === "string" ? o.body : JSON.stringify(o.body);
      headers["content-type"] ??= "application/json";
    }
    return fetch(`${url}${path}`, {
      method: o.method ?? (body === undefined ? "GET" : "POST"),
      headers,
      ...(body === undefined ? {} : { body }),
    });
  };

  return {
    url,
    config,
    container: c,
    adminToken,
    fastify: app,
    request,
    async newKey(ownerId) {
      const res = await request("/admin/keys", {
        key: adminToken,
        body: ownerId ? { owner_id: ownerId } : {},
      });
      if (res.status !== 201) throw new Error(`POST /admin/keys → ${res.status} ${await res.text()}`);
      return ((await res.json()) as { key: string }).key;
    },
    async close(o = {}) {
      // A short grace: a test client that left a keep-alive connection busy must not stall teardown.
      c.services.events.hub.close();
      await closeServer(app, 1000);
      await c.close();
      if (!o.keepData && !opts.dataDir) await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** Binds `port` (0: any) on loopback and lets it go; resolves the port, or null when it is taken. */
function probePort(port: number): Promise<number | null> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once("error", () => resolve(null));
    srv.listen(port, "127.0.0.1", () => {
      const { port: bound } = srv.address() as AddressInfo;
      srv.close(() => resolve(bound));
    });
  });
}

/**
 * A loopback port nobody listens on right now. Between this answer and the caller's listen another
 * process could take a port the kernel handed out, so inside Vitest each worker draws from a band
 * of its own below the kernel's ephemeral range (20000 + 1000 × its pool id): no other worker, and
 * no listen(0) anywhere, is given the same port, so a spawned server never answers for another.
 */
export async function freePort(): Promise<number> {
  const pool = Number(process.env.VITEST_POOL_ID);
  if (Number.isInteger(pool) && pool > 0) {
    const base = 20_000 + (pool % 12) * 1_000;
    for (let i = 0; i < 50; i++) {
      const port = await probePort(base + Math.floor(Math.random() * 1_000));
      if (port !== null) return port;
    }
  }
  const port = await probePort(0);
  if (port === null) throw new Error("no free loopback port");
  return port;
}
