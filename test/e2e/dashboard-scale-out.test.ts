/**
 * The dashboard in scale-out mode: one API and two worker processes on one PostgreSQL database,
 * all rolling up every 200 ms (they take turns under an advisory lock). Every finished task is
 * counted exactly once in the rollups and the drill-down, whichever process rolled it, and the
 * "Now" view lists the three processes by role.
 */
import pg from "pg";
import { expect, it } from "vitest";
import { createTiny, scaleOutEnv, scaleOutFixture, scaleOutKey } from "../helpers/scale-out.js";
import { pollUntil } from "../helpers/wait.js";

const ADMIN = "dashboard-scale-admin-token-0123456789";
const TASKS = 12;
const fixture = scaleOutFixture("reelay-dash-scale-");
const { servers } = fixture;

it("1 API + 2 workers: each finished task rolled up once, every process listed", async () => {
  const { database, dir } = fixture.get();
  const env = await scaleOutEnv({
    database,
    dir,
    name: "data",
    adminToken: ADMIN,
    signingSecret: "dashboard-scale-signing-secret-0123456789abcdef",
    config: { models: [{ name: "tiny", family: "sora-2", sizes: ["small"], durations: [1], maxImages: 0 }] },
    extra: { REELAY_WORKER_CONCURRENCY: "2", REELAY_STATS_INTERVAL_MS: "200", REELAY_STATS_SETTLE_MS: "100" },
  });
  const [api] = await Promise.all([
    servers.start(env, "serve"),
    servers.start(env, "worker"),
    servers.start(env, "worker"),
  ]);
  const admin = { authorization: `Bearer ${ADMIN}`, "content-type": "application/json" };
  const key = await scaleOutKey(api.url, ADMIN, "scale");
  for (let i = 0; i < TASKS; i++) await createTiny(api.url, key, `dash ${i}`);
  const overTime = async () => {
    const res = await fetch(`${api.url}/admin/stats/over-time?range=hour`, { headers: admin });
    expect(res.status).toBe(200);
    return (await res.json()) as {
      totals: Record<string, number>;
      channels: { name: string; tasks: number }[];
    };
  };
  const o = await pollUntil(overTime, (x) => x.totals.completed === TASKS, {
    what: "every task rolled up",
    timeoutMs: 120_000,
    intervalMs: 300,
  });
  expect(o.totals).toEqual({ completed: TASKS, failed: 0, cancelled: 0 });
  expect(o.channels.map((c) => [c.name, c.tasks])).toEqual([["local", TASKS]]);

  const client = new pg.Client({ connectionString: database.url });
  await client.connect();
  try {
    const finished = await client.query<{ n: string }>("select count(*) as n from stats_finished");
    expect(Number(finished.rows[0]?.n)).toBe(TASKS);
    for (const grain of ["minute", "hour", "day"]) {
      const r = await client.query<{ n: string }>(
        "select sum(tasks) as n from stats_rollups where grain = $1",
        [grain],
      );
      expect(Number(r.rows[0]?.n), grain).toBe(TASKS);
    }
  } finally {
    await client.end();
  }
  const now = (await (await fetch(`${api.url}/admin/stats/now`, { headers: admin })).json()) as {
    processes: { role: string }[];
  };
  expect(now.processes.map((p) => p.role).sort()).toEqual(["serve", "worker", "worker"]);
  const drill = await fetch(`${api.url}/admin/stats/tasks?from=0&to=${Date.now() + 60_000}&limit=200`, {
    headers: admin,
  });
  expect(((await drill.json()) as { data: unknown[] }).data).toHaveLength(TASKS);
}, 180_000);
