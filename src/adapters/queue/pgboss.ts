/**
 * The scale-out job queue: pg-boss 10 on the shared PostgreSQL server. pg-boss does the
 * coordination: jobs are inserted with the task row's transaction (its `db` option runs the
 * insert on that transaction's connection), handed to exactly one worker (`fetch`, FOR UPDATE
 * SKIP LOCKED), and an active job whose worker stopped answering expires and is retried by
 * pg-boss's maintenance, run by whichever process holds its maintenance slot.
 *
 * pg-boss 10 has no lease renewal and its complete/fail do not check who holds the job, so the
 * lease operations of the JobQueue port are single guarded UPDATEs of pg-boss's own job table
 * (the columns of the pinned 10.x schema): a lease is `started_on + expire_in`, renewed by
 * moving `started_on`; the lease token is the run's `retry_count`, which pg-boss raises on
 * every re-fetch, so a worker whose job expired and was handed out again holds a stale token.
 * Times are the database's clock: the `now` arguments of the port are not used here.
 */
import { CompiledQuery, type Kysely, sql } from "kysely";
import type PgBoss from "pg-boss";
import type { ClaimedJob, JobKind, JobPayload, JobQueue } from "../../core/jobs/ports.js";
import type { Tx } from "../../core/ports.js";
import { connOf, type DB } from "../sql/schema.js";

/** What a job carries in pg-boss: the payload, and how often its process died under it. */
interface JobData {
  payload: JobPayload;
  /** Runs handed back by a worker shutting down (`release`; retry_count lowered then). */
  interrupted: number;
  /** Runs whose lease ran out (their worker died): each raised retry_count without being an attempt. */
  expired?: number;
}

/**
 * A run that pg-boss's maintenance ended because its lease ran out: pg-boss writes its own
 * `{ value: { message } }` as the output then (pg-boss 10's failJobsByTimeout). Reelay's own writes
 * are `{ error }` (retry, bury), and a claim clears the output, so nothing else has this shape.
 */
const expiredRun = (output: unknown): boolean =>
  typeof output === "object" && output !== null && "value" in output;

export const RENDER_QUEUE = "render";
/** One pg-boss queue per job kind, named after it: each runner fetches only its own. */
const QUEUES: readonly JobKind[] = ["render", "webhook", "storyboard"];
const SCHEMA = "pgboss";
const job = sql.raw(`${SCHEMA}.job`);

/**
 * pg-boss gives up on a job after this many expirations beyond its attempts; the worker fails
 * the task itself long before (see MAX_INTERRUPTIONS in core/jobs/job_start.ts), so this is a backstop.
 */
const EXPIRY_HEADROOM = 20;

/** pg-boss's `Db`: runs its SQL on one Kysely connection (a transaction's, to commit with it). */
const bossDb = (conn: Kysely<DB>): PgBoss.Db => ({
  async executeSql(text, values) {
    const r = await conn.executeQuery(CompiledQuery.raw(text, values ?? []));
    return { rows: r.rows as unknown[] as never[] };
  },
});

export function createPgBossQueue(deps: { boss: PgBoss; db: Kysely<DB> }): JobQueue {
  const { boss, db } = deps;
  /** Only the current holder's run matches: same id, still active, same fetch. */
  const held = (j: ClaimedJob) =>
    sql`name = ${j.payload.kind} and id = ${j.id}::uuid and state = 'active' and retry_count = ${Number(j.leaseToken)}`;

  return {
    async enqueue(newJob, tx?: Tx) {
      const data: JobData = { payload: newJob.payload, interrupted: 0 };
      const id = await boss.send(newJob.payload.kind, data, {
        startAfter: new Date(newJob.runAt),
        retryLimit: newJob.maxAttempts + EXPIRY_HEADROOM,
        db: bossDb(connOf(db, tx) as Kysely<DB>),
      });
      if (!id) throw new Error("pg-boss did not create the job");
      return id;
    },

    async claim({ limit, leaseMs, kinds }, tx) {
      if (limit <= 0) return [];
      const conn = connOf(db, tx);
      const jobs: PgBoss.JobWithMetadata<JobData>[] = [];
      for (const kind of kinds ?? QUEUES) {
        if (jobs.length >= limit) break;
        jobs.push(
          ...(await boss.fetch<JobData>(kind, {
            batchSize: limit - jobs.length,
            includeMetadata: true,
            ...(tx === undefined ? {} : { db: bossDb(conn as Kysely<DB>) }),
          })),
        );
      }
      if (jobs.length === 0) return [];
      // The lease is the worker's, not the one fixed at send time.
      await sql`update ${job} set expire_in = ${leaseMs} * interval '1 millisecond', output = null
        where id = any(${jobs.map((j) => j.id)}::uuid[]) and state = 'active'`.execute(conn);
      // A run cut short by its worker's death is not an attempt (README: killed attempts are not
      // counted): it is recorded as an interruption. retry_count is left as pg-boss raised it, so
      // the dead worker's lease token stays stale.
      const expired = jobs.filter((j) => expiredRun(j.output)).map((j) => j.id);
      if (expired.length > 0) {
        await sql`update ${job} set data = jsonb_set(data, '{expired}',
          to_jsonb(coalesce((data->>'expired')::int, 0) + 1))
          where id = any(${expired}::uuid[]) and state = 'active'`.execute(conn);
      }
      return jobs.map((j) => {
        const cut = (j.data.expired ?? 0) + (expired.includes(j.id) ? 1 : 0);
        return {
          id: j.id,
          payload: j.data.payload,
          // retry_count counts earlier runs: those that failed and those whose lease ran out.
          attempt: j.retryCount + 1 - cut,
          maxAttempts: j.retryLimit - EXPIRY_HEADROOM,
          interrupted: (j.data.interrupted ?? 0) + cut,
          leaseToken: String(j.retryCount),
        };
      });
    },

    async extendLease(j, { leaseMs }) {
      const r =
        await sql`update ${job} set started_on = now(), expire_in = ${leaseMs} * interval '1 millisecond'
        where ${held(j)}`.execute(db);
      return (r.numAffectedRows ?? 0n) > 0n;
    },

    async complete(j, tx) {
      await sql`update ${job} set state = 'completed', completed_on = now() where ${held(j)}`.execute(
        connOf(db, tx),
      );
    },

    async retry(j, { runAt, error, free }, tx) {
      // The next fetch raises retry_count: the attempt is counted, unless it is `free` (the job
      // waited for capacity), which lowers it here first.
      await sql`update ${job} set state = 'retry', start_after = ${new Date(runAt).toISOString()}::timestamptz,
        retry_count = retry_count - ${free ? 1 : 0},
        output = ${JSON.stringify({ error })}::jsonb where ${held(j)}`.execute(connOf(db, tx));
    },

    async release(j, tx) {
      // Lowered here because the next fetch raises it: the cut attempt is not counted.
      await sql`update ${job} set state = 'retry', start_after = now() - interval '1 millisecond',
        retry_count = retry_count - 1,
        data = jsonb_set(data, '{interrupted}', to_jsonb(coalesce((data->>'interrupted')::int, 0) + 1))
        where ${held(j)}`.execute(connOf(db, tx));
    },

    async bury(j, error, tx) {
      await sql`update ${job} set state = 'failed', completed_on = now(),
        output = ${JSON.stringify({ error })}::jsonb where ${held(j)}`.execute(connOf(db, tx));
    },

    async releaseAllLeases() {
      // Other processes may hold leases: an active job is never taken from them here. A dead
      // process's jobs come back through pg-boss's expiry.
      return 0;
    },

    async depth() {
      const r = await sql<{ state: string; n: number }>`select state::text as state, count(*)::int as n
        from ${job} where name = any(${[...QUEUES]}::text[]) group by state`.execute(db);
      const n = (s: string) => r.rows.find((row) => row.state === s)?.n ?? 0;
      return { queued: n("created") + n("retry"), running: n("active"), dead: n("failed") };
    },
  };
}

/** Any number, the same in every Reelay process: serialises pg-boss start-up (see below). */
const START_LOCK = 0x7265656d;

/** Starts pg-boss on the shared pool: its schema migrations are advisory-locked by pg-boss itself. */
export async function startPgBoss(opts: {
  db: Kysely<DB>;
  maintenanceIntervalS: number;
  onError: (e: unknown) => void;
}): Promise<PgBoss> {
  const { default: PgBossCtor } = await import("pg-boss");
  const boss = new PgBossCtor({
    db: bossDb(opts.db),
    schema: SCHEMA,
    // Expiry of dead workers' jobs and archiving run in whichever process gets the slot.
    supervise: true,
    maintenanceIntervalSeconds: opts.maintenanceIntervalS,
    schedule: false,
  });
  boss.on("error", opts.onError);
  // Processes starting together deadlock in pg-boss 10's create_queue (measured here): one at a
  // time, under a session advisory lock held on a connection of its own.
  await opts.db.connection().execute(async (conn) => {
    await sql`select pg_advisory_lock(${START_LOCK})`.execute(conn);
    try {
      await boss.start();
      for (const name of QUEUES) if (!(await boss.getQueue(name))) await boss.createQueue(name);
    } finally {
      await sql`select pg_advisory_unlock(${START_LOCK})`.execute(conn);
    }
  });
  return boss;
}
