/**
 * Scale-out mode under SIGKILL, with real `reelay serve` and `reelay worker` processes on one
 * PostgreSQL database and short leases: a killed worker's run is an interruption, not a failed
 * attempt (README, "How tasks run").
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { afterAll, afterEach, beforeAll, expect, it } from "vitest";
import type { RunningEmulator } from "../emulators/common.js";
import { startUnifiedRelay } from "../emulators/unified-relay.js";
import { channel, secretEnv } from "../helpers/channels.js";
import { createTestDatabase, type TestDatabase } from "../helpers/postgres.js";
import { mintKey, ServerGroup, type ServerProcess, waitRendering } from "../helpers/process.js";
import { scaleOutEnv } from "../helpers/scale-out.js";
import { pollUntil } from "../helpers/wait.js";

const ADMIN = "scale-kills-admin-token-0123456789";
const servers = new ServerGroup();
const emulators: RunningEmulator[] = [];
const databases: TestDatabase[] = [];
let dir = "";

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "reelay-kills-"));
});
afterEach(async () => {
  await servers.killAll();
  await Promise.all(emulators.splice(0).map((e) => e.close()));
  await Promise.all(databases.splice(0).map((d) => d.drop()));
});
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** A database of the test's own, and the settings every process of the test shares. */
async function setUp(name: string, file: object, extra: Record<string, string> = {}) {
  const database = await createTestDatabase();
  databases.push(database);
  const env = await scaleOutEnv({
    database,
    dir,
    name,
    adminToken: ADMIN,
    signingSecret: "scale-kills-signing-secret-0123456789abcdef",
    config: file,
    extra,
  });
  return { database, env };
}

const start = (env: Record<string, string>, role: "serve" | "worker"): Promise<ServerProcess> =>
  servers.start(env, role);

it("three SIGKILLs of the worker rendering a task do not spend its attempts: the fourth worker completes it", async () => {
  const { database, env } = await setUp(
    "render",
    { models: [{ name: "slow", family: "sora-2", sizes: ["small"], durations: [4], maxImages: 0 }] },
    // Three attempts per task (the default), one render at a time.
    { REELAY_WORKER_CONCURRENCY: "1", REELAY_MAX_ATTEMPTS: "3" },
  );
  const api = await start(env, "serve");
  const key = await mintKey(api, ADMIN);
  const auth = { authorization: `Bearer ${key}`, "content-type": "application/json" };
  const res = await fetch(`${api.url}/v1/video/create`, {
    method: "POST",
    headers: auth,
    body: JSON.stringify({
      model: "slow",
      prompt: "killed thrice",
      orientation: "portrait",
      size: "small",
      duration: 4,
    }),
  });
  expect(res.status).toBe(200);
  const { id } = (await res.json()) as { id: string };

  for (let kill = 1; kill <= 3; kill++) {
    const worker = await start(env, "worker");
    await waitRendering(worker, env.REELAY_DATA_DIR);
    expect(await worker.kill("SIGKILL")).toBe("SIGKILL");
  }
  await start(env, "worker");

  const query = async () => {
    const r = await fetch(`${api.url}/v1/video/query?id=${encodeURIComponent(id)}`, { headers: auth });
    return (await r.json()) as {
      status: string;
      error: unknown;
      detail: { pending_info: { attempts: number } };
    };
  };
  const task = await pollUntil(query, (t) => t.status === "completed" || t.status === "failed", {
    what: `task ${id} to end`,
    timeoutMs: 150_000,
    intervalMs: 250,
  });
  expect(task.status, JSON.stringify(task)).toBe("completed");
  expect(task.detail.pending_info.attempts).toBe(1);

  // pg-boss expired each killed run; each was recorded as an interruption, not an attempt.
  const client = new pg.Client({ connectionString: database.url });
  await client.connect();
  try {
    const job = await client.query<{ expired: string }>(
      "select data->>'expired' as expired from pgboss.job where name = 'render' and data->'payload'->>'taskId' = $1",
      [id],
    );
    expect(job.rows.map((r) => Number(r.expired))).toEqual([3]);
  } finally {
    await client.end();
  }
});

it("a SIGKILLed worker's upstream tasks are leased only while polled, for REELAY_JOB_LEASE_S; another worker ends them", async () => {
  const emu = await startUnifiedRelay({ secret: "scale-kills-relay-secret" });
  emulators.push(emu);
  // Tasks run long enough to be polled many times; every answer is slow, so polls are in flight.
  emu.core.defaultBehaviour = { runMs: 6000, outcome: "complete" };
  emu.core.latencyMs = 300;
  const TASKS = 10;
  const { database, env } = await setUp(
    "upstream",
    { channels: [channel("up", "unified", emu.url)] },
    { ...secretEnv("up", "scale-kills-relay-secret"), REELAY_POLL_CONCURRENCY: "3" },
  );
  const api = await start(env, "serve");
  const key = await mintKey(api, ADMIN);
  const auth = { authorization: `Bearer ${key}`, "content-type": "application/json" };
  const ids = await Promise.all(
    Array.from({ length: TASKS }, async (_, i) => {
      const res = await fetch(`${api.url}/v1/video/create`, {
        method: "POST",
        headers: auth,
        body: JSON.stringify({
          model: "sora-2",
          prompt: `upstream ${i}`,
          orientation: "portrait",
          size: "small",
          duration: 10,
        }),
      });
      expect(res.status).toBe(200);
      return ((await res.json()) as { id: string }).id;
    }),
  );

  const first = await start(env, "worker");
  // Every task accepted upstream and polled at least once by this worker, then it dies mid-poll.
  const polled = () => new Set(emu.core.requests.filter((r) => r.route === "query").map((r) => r.path)).size;
  await pollUntil(() => emu.core.tasks.size >= TASKS && polled() >= TASKS, Boolean, {
    what: "every task accepted and polled upstream",
    timeoutMs: 90_000,
  });
  expect(polled()).toBe(TASKS);
  expect(await first.kill("SIGKILL")).toBe("SIGKILL");

  // What the dead poller left: at most its lanes leased, none for longer than REELAY_JOB_LEASE_S.
  const client = new pg.Client({ connectionString: database.url });
  await client.connect();
  try {
    const rows = await client.query<{ next_poll_at: string; now: string }>(
      `select next_poll_at, (extract(epoch from clock_timestamp()) * 1000)::bigint as now
       from upstream_tasks where phase = 'polling'`,
    );
    expect(rows.rows).toHaveLength(TASKS);
    const ahead = rows.rows.map((r) => Number(r.next_poll_at) - Number(r.now));
    // Polled tasks wait a poll interval (100 ms); leased ones at most the lease (2 s).
    expect(Math.max(...ahead)).toBeLessThanOrEqual(2000);
    expect(ahead.filter((ms) => ms > 100).length).toBeLessThanOrEqual(3);
  } finally {
    await client.end();
  }

  await start(env, "worker");
  const status = async (id: string) => {
    const r = await fetch(`${api.url}/v1/video/query?id=${encodeURIComponent(id)}`, { headers: auth });
    return String(((await r.json()) as { status: string }).status);
  };
  const statuses = await pollUntil(
    () => Promise.all(ids.map(status)),
    (all) => all.every((s) => s === "completed" || s === "failed"),
    { what: "every task to end", timeoutMs: 120_000, intervalMs: 250 },
  );
  expect(statuses).toEqual(Array(TASKS).fill("completed"));
});
