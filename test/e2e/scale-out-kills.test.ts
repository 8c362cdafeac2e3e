/**
 * Scale-out mode under SIGKILL, with real `reelay serve` and `reelay worker` processes on one
 * PostgreSQL database and short leases: a killed worker's run is an interruption, not a failed
 * attempt (README, "How tasks run").
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { afterAll, beforeAll, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../helpers/postgres.js";
import {
  mintKey,
  type ServerProcess,
  spawnServer,
  waitForLog,
  waitHealthy,
  waitRendering,
} from "../helpers/process.js";

const ADMIN = "scale-kills-admin-token-0123456789";
const processes: ServerProcess[] = [];
let dir = "";
let database: TestDatabase | undefined;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "reelay-kills-"));
  database = await createTestDatabase();
});
afterAll(async () => {
  await Promise.all(processes.map((p) => p.kill("SIGKILL")));
  await database?.drop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function start(env: Record<string, string>, role: "serve" | "worker"): Promise<ServerProcess> {
  const p = await spawnServer(role === "worker" ? { ...env, PORT: "0" } : env, role);
  processes.push(p);
  if (role === "serve") await waitHealthy(p);
  else await waitForLog(p, "reelay is ready");
  return p;
}

it("three SIGKILLs of the worker rendering a task do not spend its attempts: the fourth worker completes it", async () => {
  if (!database) throw new Error("no database");
  const configFile = join(dir, "reelay.json");
  await writeFile(
    configFile,
    JSON.stringify({
      models: [{ name: "slow", family: "sora-2", sizes: ["small"], durations: [4], maxImages: 0 }],
    }),
  );
  const env = {
    REELAY_DATABASE_URL: database.url,
    REELAY_ADMIN_TOKEN: ADMIN,
    REELAY_SIGNING_SECRET: "scale-kills-signing-secret-0123456789abcdef",
    REELAY_DATA_DIR: join(dir, "data"),
    REELAY_CONFIG_FILE: configFile,
    REELAY_WORKER_CONCURRENCY: "1",
    // A dead worker's job comes back within seconds; three attempts (the default) per task.
    REELAY_JOB_LEASE_S: "2",
    REELAY_QUEUE_MAINTENANCE_S: "1",
    REELAY_POLL_INTERVAL_MS: "200",
    REELAY_MAX_ATTEMPTS: "3",
  };
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
    await waitRendering(worker, join(dir, "data"));
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
  const deadline = Date.now() + 150_000;
  let task = await query();
  while (!["completed", "failed"].includes(task.status) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 250));
    task = await query();
  }
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
