/**
 * The dashboard with a million tasks in the store: fills an embedded (SQLite) store with
 * 1,000,000 finished tasks over 30 days (bulk, in SQL), runs the roller over them, then times each
 * view's JSON route through the real app (in-process HTTP injection) against a baseline measured
 * in the same run on the same store: `SELECT count(*) FROM tasks`, the cheapest question one can
 * ask of a million tasks. Prints the ratios; writes bench/results/dashboard.json.
 * Run: npx tsx bench/dashboard.ts   (BENCH_DASHBOARD_TASKS to change the count)
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { type Kysely, sql } from "kysely";
import { pino } from "pino";
import type { DB } from "../src/adapters/sql/schema.js";
import { openSqlite } from "../src/adapters/sql/sqlite/db.js";
import { createSqlStatsStore } from "../src/adapters/sql/stats-store.js";
import { buildApp } from "../src/http/app.js";
import { loadConfig } from "../src/main/config.js";
import { buildContainer } from "../src/main/container.js";
import { int, median, ratio3, type SummaryRow, writeResult } from "./lib/report.js";

const DAY = 86_400_000;
const RUNS = 15;

/** A million finished tasks (and pins to three upstream channels) written by two INSERT … SELECTs. */
async function fill(dir: string, n: number, end: number): Promise<void> {
  const db = await openSqlite(dir);
  try {
    const span = 30 * DAY - 60_000;
    await sql`WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < ${n - 1})
      INSERT INTO tasks (id, owner_id, status, progress, request, created_at, status_updated_at, deadline_at,
        attempts, error, failure_reason, enhanced_prompt, result, published, cost)
      SELECT printf('model-%d:task_%08d', i % 5, i), printf('owner_%02d', i % 20),
        CASE WHEN i % 10 = 0 THEN 'failed' WHEN i % 37 = 0 THEN 'cancelled' ELSE 'completed' END, 100,
        printf('{"model":"model-%d","prompt":"a lighthouse at dusk"}', i % 5),
        ${end} - (i * ${span} / ${n}) - 4000 - (i % 97) * 700, ${end} - (i * ${span} / ${n}),
        ${end} + ${DAY}, 1,
        CASE WHEN i % 10 = 0 THEN printf('{"code":"%s","message":"x"}', CASE WHEN i % 20 = 0 THEN 'task_timeout' ELSE 'upstream_failed' END) END,
        NULL, NULL, NULL, 0,
        CASE WHEN i % 10 = 0 OR i % 37 = 0 THEN '{"held":10,"charged":0,"refunded":10,"rule":"per_second","seconds":10}'
          ELSE '{"held":10,"charged":8,"refunded":2,"rule":"per_second","seconds":10,"providerCostUsd":0.05}' END
      FROM n`.execute(db.kysely);
    await sql`INSERT INTO upstream_tasks (task_id, channel_id, upstream_id, phase, submitted_at, next_poll_at,
        poll_errors, fetch_errors, last_status, deadline_at)
      SELECT id, printf('up-%d', abs(created_at) % 3), id, 'done', created_at, 0, 0, 0, 'completed', deadline_at
      FROM tasks WHERE created_at % 4 != 0`.execute(db.kysely);
  } finally {
    await db.close();
  }
}

/** The roller's work over the whole store, as the first roll after an upgrade would do it. */
async function rollAll(dir: string): Promise<number> {
  const db = await openSqlite(dir);
  try {
    const store = createSqlStatsStore(db.kysely);
    let rolled = 0;
    for (;;) {
      const now = Date.now();
      const r = await store.roll({ until: now, now, limit: 20_000, localChannel: "local" });
      rolled += r.rolled;
      if (r.caughtUp) return rolled;
    }
  } finally {
    await db.close();
  }
}

async function timeMs(fn: () => Promise<unknown>): Promise<number> {
  await fn();
  const xs: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const t0 = performance.now();
    await fn();
    xs.push(performance.now() - t0);
  }
  return median(xs);
}

export async function runDashboardBench(): Promise<SummaryRow[]> {
  const n = Number(process.env.BENCH_DASHBOARD_TASKS ?? 1_000_000);
  const dir = mkdtempSync(join(tmpdir(), "reelay-bench-dashboard-"));
  try {
    const end = Date.now() - 60_000;
    let t0 = performance.now();
    await fill(dir, n, end);
    const fillS = (performance.now() - t0) / 1000;
    console.log(`  filled ${int(n)} tasks in ${fillS.toFixed(1)} s`);

    t0 = performance.now();
    const rolled = await rollAll(dir);
    const rollS = (performance.now() - t0) / 1000;
    console.log(`  rolled ${int(rolled)} tasks in ${rollS.toFixed(1)} s`);

    const token = "bench-admin-token-0123456789";
    const config = loadConfig({
      REELAY_DATA_DIR: dir,
      REELAY_ADMIN_TOKEN: token,
      REELAY_LOG_LEVEL: "silent",
      REELAY_STATS_INTERVAL_MS: "3600000",
    });
    const c = await buildContainer(config, pino({ level: "silent" }), { runsWorker: false });
    const app = buildApp(c.services, { requestTimeoutMs: 600_000 });
    try {
      const kysely = (c.services.db as unknown as { kysely: Kysely<DB> }).kysely;
      const rollups = await kysely
        .selectFrom("stats_rollups")
        .select((eb) => eb.fn.countAll<number>().as("n"))
        .executeTakeFirst();

      const baseline = await timeMs(() => sql`SELECT count(*) FROM tasks`.execute(kysely));
      // What a view would cost without rollups: its range's tasks counted by status from the rows.
      const raw = (spanMs: number) => () =>
        sql`SELECT status, count(*) FROM tasks WHERE status_updated_at >= ${end - spanMs} GROUP BY status`.execute(
          kysely,
        );
      const RAW_SPANS: Record<string, number> = { hour: 3_600_000, day: DAY, "30d": 30 * DAY };
      const get = (url: string) => async () => {
        const res = await app.inject({ method: "GET", url, headers: { authorization: `Bearer ${token}` } });
        if (res.statusCode !== 200) throw new Error(`${url} → ${res.statusCode} ${res.body.slice(0, 200)}`);
      };
      const month = `from=${end - 30 * DAY}&to=${end + 60_000}`;
      const views: [string, string][] = [
        ["now", "/admin/stats/now"],
        ["over time, last hour", "/admin/stats/over-time?range=hour"],
        ["over time, last day", "/admin/stats/over-time?range=day"],
        ["over time, 30 days", "/admin/stats/over-time?range=30d"],
        ["drill-down, 30 days", `/admin/stats/tasks?${month}`],
        [
          "drill-down, 30 days, one channel and class",
          `/admin/stats/tasks?${month}&channel=up-1&status=failed&class=timeout`,
        ],
        [
          "drill-down, one day, one owner",
          `/admin/stats/tasks?from=${end - 5 * DAY}&to=${end - 4 * DAY}&owner=owner_07`,
        ],
      ];
      const figures: {
        view: string;
        url: string;
        median_ms: number;
        over_count: number;
        raw_group_by_ms?: number;
        over_raw_group_by?: number;
      }[] = [];
      for (const [view, url] of views) {
        const ms = await timeMs(get(url));
        const range = /range=(\w+)/.exec(url)?.[1];
        const span = range === undefined ? undefined : RAW_SPANS[range];
        const rawMs = span === undefined ? undefined : await timeMs(raw(span));
        figures.push({
          view,
          url,
          median_ms: Number(ms.toFixed(2)),
          over_count: ratio3(ms / baseline),
          ...(rawMs === undefined
            ? {}
            : { raw_group_by_ms: Number(rawMs.toFixed(2)), over_raw_group_by: ratio3(ms / rawMs) }),
        });
        console.log(
          `  ${view}: ${ms.toFixed(1)} ms, ${(ms / baseline).toFixed(2)}× count(*) (${baseline.toFixed(1)} ms)` +
            (rawMs === undefined
              ? ""
              : `, ${(ms / rawMs).toFixed(3)}× a GROUP BY of its range's tasks (${rawMs.toFixed(1)} ms)`),
        );
      }
      const result = {
        tasks: n,
        fill_s: Number(fillS.toFixed(1)),
        roll_s: Number(rollS.toFixed(1)),
        roll_tasks_per_s: Math.round(n / rollS),
        rollup_rows: Number(rollups?.n ?? 0),
        baseline: "SELECT count(*) FROM tasks",
        baseline_median_ms: Number(baseline.toFixed(2)),
        views: figures,
      };
      const path = await writeResult("dashboard", result);
      console.log(`  results written to ${path}`);
      return figures.map((f) => ({
        name: `dashboard ${f.view} (${int(n)} tasks)`,
        figure: `${f.median_ms.toFixed(1)} ms`,
        baseline: `${baseline.toFixed(1)} ms count(*)`,
        ratio: f.over_count,
        goal: null,
      }));
    } finally {
      await app.close();
      await c.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  runDashboardBench().catch((e: unknown) => {
    console.error(e);
    process.exitCode = 1;
  });
}
