/**
 * Scale-out mode as deployed: 2 API and 2 worker processes on one PostgreSQL database, all
 * started at once (migrations under the advisory lock). 50 tasks go in through both APIs with
 * billing on; one worker is SIGKILLed mid-way. Every task completes, and the ledger holds
 * exactly one charge per task and nothing else. The other worker is then stopped with SIGTERM
 * mid-render (it hands its jobs back) and a third one finishes the work.
 */
import pg from "pg";
import { expect, it } from "vitest";
import { freePort } from "../helpers/app.js";
import { waitForLog, waitRendering } from "../helpers/process.js";
import { createTiny, scaleOutEnv, scaleOutFixture, scaleOutKey } from "../helpers/scale-out.js";
import { pollUntil } from "../helpers/wait.js";

const ADMIN = "scale-out-admin-token-0123456789";
const TASKS = 50;
const PRICE = 3;
const fixture = scaleOutFixture("reelay-scale-");
const { servers } = fixture;

it("2 API + 2 worker processes: 50 tasks through both APIs, one worker killed, all complete, each charged once", async () => {
  const { database, dir } = fixture.get();
  // One host: the processes share a data dir (results on disk); each has its own scratch dir.
  const env = await scaleOutEnv({
    database,
    dir,
    name: "data",
    adminToken: ADMIN,
    signingSecret: "scale-out-signing-secret-0123456789abcdef",
    config: {
      models: [{ name: "tiny", family: "sora-2", sizes: ["small"], durations: [1], maxImages: 0 }],
      pricing: { perTask: [{ model: "tiny", credits: PRICE }] },
    },
    extra: { REELAY_WORKER_CONCURRENCY: "2" },
  });
  // All four at once: they race to migrate the empty database.
  const [api1, api2, w1, w2] = await Promise.all([
    servers.start(env, "serve"),
    servers.start(env, "serve"),
    servers.start(env, "worker"),
    servers.start(env, "worker"),
  ]);

  const admin = { authorization: `Bearer ${ADMIN}`, "content-type": "application/json" };
  const key = await scaleOutKey(api1.url, ADMIN, "scale");
  // Top up through the other API: both read and write the same ledger.
  const topUp = await fetch(`${api2.url}/admin/accounts/scale/credits`, {
    method: "POST",
    headers: admin,
    body: JSON.stringify({ amount: 1000 }),
  });
  expect(topUp.status).toBe(200);

  const auth = { authorization: `Bearer ${key}` };
  const ids = await Promise.all(
    Array.from({ length: TASKS }, (_, i) => createTiny(i % 2 === 0 ? api1.url : api2.url, key, `scale ${i}`)),
  );

  // Kill one worker once it has finished some work and has a render under way.
  await waitForLog(w1, "task completed", 120_000);
  await waitRendering(w1, env.REELAY_DATA_DIR);
  expect(await w1.kill("SIGKILL")).toBe("SIGKILL");
  // Stop the other one gracefully mid-render: it hands its jobs back and exits 0; a third
  // worker, started now, finishes the work.
  await waitRendering(w2, env.REELAY_DATA_DIR);
  expect(await w2.kill("SIGTERM")).toBe(0);
  // This one also serves its health and metrics (REELAY_WORKER_PORT).
  const opsPort = await freePort();
  const w3 = await servers.start({ ...env, REELAY_WORKER_PORT: String(opsPort) }, "worker");

  const status = async (id: string, i: number) => {
    const api = i % 2 === 0 ? api2 : api1;
    const res = await fetch(`${api.url}/v1/video/query?id=${encodeURIComponent(id)}`, { headers: auth });
    return String(((await res.json()) as { status: string }).status);
  };
  const statuses = await pollUntil(
    () => Promise.all(ids.map(status)),
    (all) => all.every((s) => s === "completed" || s === "failed"),
    { what: "every task to end", timeoutMs: 170_000, intervalMs: 500 },
  );
  expect(statuses).toEqual(Array(TASKS).fill("completed"));

  const client = new pg.Client({ connectionString: database.url });
  await client.connect();
  try {
    const charges = await client.query<{ task_id: string; n: string; amount: string }>(
      "select task_id, count(*) as n, sum(amount) as amount from ledger where kind = 'hold' group by task_id",
    );
    expect(charges.rows).toHaveLength(TASKS);
    expect(new Set(charges.rows.map((r) => r.task_id))).toEqual(new Set(ids));
    for (const r of charges.rows) expect([Number(r.n), Number(r.amount)]).toEqual([1, -PRICE]);
    // Each delivered task is settled once (a settlement of 0 when it delivered all it was held for).
    const settled = await client.query<{ task_id: string; n: string }>(
      "select task_id, count(*) as n from ledger where kind = 'settle' group by task_id",
    );
    expect(new Set(settled.rows.map((r) => r.task_id))).toEqual(new Set(ids));
    for (const r of settled.rows) expect(Number(r.n)).toBe(1);
    const other = await client.query("select kind from ledger where kind not in ('hold', 'settle', 'topup')");
    expect(other.rows).toEqual([]);
    // The killed worker's jobs were taken over: pg-boss expired them and the other worker ran them again.
    const retried = await client.query("select id from pgboss.job where name = 'render' and retry_count > 0");
    expect(retried.rows.length).toBeGreaterThan(0);
    // The gracefully stopped worker's jobs were handed back as interrupted, not as failed attempts.
    const handedBack = await client.query(
      "select retry_count from pgboss.job where name = 'render' and (data->>'interrupted')::int > 0",
    );
    expect(handedBack.rows.length).toBeGreaterThan(0);
  } finally {
    await client.end();
  }
  // The third worker's own metrics show the renders it ran; only ops routes are served there.
  const ops = `http://127.0.0.1:${opsPort}`;
  expect((await fetch(`${ops}/healthz`)).status).toBe(200);
  expect((await fetch(`${ops}/readyz`)).status).toBe(200);
  expect((await fetch(`${ops}/metrics`)).status).toBe(401);
  const scraped = await fetch(`${ops}/metrics`, { headers: admin });
  expect(scraped.status).toBe(200);
  const text = await scraped.text();
  const renders = /^reelay_provider_call_seconds_count\{[^}]*outcome="ok"[^}]*\} (\d+)/m.exec(text);
  expect(Number(renders?.[1] ?? 0)).toBeGreaterThan(0);
  expect((await fetch(`${ops}/v1/video/query?id=x`, { headers: auth })).status).toBe(404);

  const account = await fetch(`${api2.url}/admin/accounts/scale`, { headers: admin });
  expect(await account.json()).toMatchObject({ balance: 1000 - TASKS * PRICE, used: TASKS * PRICE });

  // Graceful stop: SIGTERM ends every remaining process cleanly.
  expect(await Promise.all([api1, api2, w3].map((p) => p.kill("SIGTERM")))).toEqual([0, 0, 0]);
});
