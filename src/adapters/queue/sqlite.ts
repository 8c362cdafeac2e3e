/**
 * The embedded job queue: a lease-based jobs table in the same database as the tasks, so a task
 * and its job commit in one transaction. A worker leases jobs; a lease that is not extended
 * expires and the job becomes claimable again (a crashed worker's jobs run again).
 */
import { randomUUID } from "node:crypto";
import { type ExpressionBuilder, type Kysely, sql } from "kysely";
import { newId } from "../../core/ids.js";
import type { ClaimedJob, JobPayload, JobQueue } from "../../core/jobs/ports.js";
import type { Tx } from "../../core/ports.js";
import { compiledWrite } from "../sql/compiled_write.js";
import { type Conn, connOf, type DB } from "../sql/schema.js";

type Due = (eb: ExpressionBuilder<DB, "jobs">) => ReturnType<ExpressionBuilder<DB, "jobs">["and"]>;

/** Up to `limit` jobs matching `where` (and of `kinds`), the earliest due first. */
const dueJobs = (trx: Conn, limit: number, kinds: readonly string[] | undefined, where: Due) =>
  trx
    .selectFrom("jobs")
    .select(["id", "payload", "status", "attempt", "max_attempts", "interrupted", "run_at"])
    .where(where)
    .$if(kinds !== undefined, (q) => q.where("kind", "in", kinds ?? []))
    .orderBy("run_at")
    .limit(limit)
    .execute();

export function createSqlJobQueue(db: Kysely<DB>, clock: { now(): number }): JobQueue {
  // Only the current lease holder may finish a job: a worker whose lease expired and was taken over
  // finds its update matching no row.
  const held = (job: ClaimedJob) => (eb: ExpressionBuilder<DB, "jobs">) =>
    eb.and([eb("id", "=", job.id), eb("lease_token", "=", job.leaseToken), eb("status", "=", "running")]);

  /** Back to the queue without spending the attempt: its process died or is shutting down, the job did not fail. */
  const handBack = (eb: ExpressionBuilder<DB, "jobs">) => ({
    status: "queued",
    lease_token: null,
    lease_until: null,
    updated_at: clock.now(),
    attempt: eb
      .case()
      .when("attempt", ">", 0)
      .then(eb("attempt", "-", 1))
      .else(0)
      .end(),
    interrupted: eb("interrupted", "+", 1),
  });

  // The writes of every task's create, claim and completion: compiled once (compiled_write.ts).
  const insertJob = compiledWrite(
    db,
    (
      d,
      id: string,
      kind: string,
      payload: string,
      runAt: number,
      maxAttempts: number,
      createdAt: number,
      updatedAt: number,
    ) =>
      d.insertInto("jobs").values({
        id,
        kind,
        payload,
        status: sql.lit("queued"),
        run_at: runAt,
        attempt: sql.lit(0),
        max_attempts: maxAttempts,
        lease_token: sql.lit(null),
        lease_until: sql.lit(null),
        last_error: sql.lit(null),
        created_at: createdAt,
        updated_at: updatedAt,
        interrupted: sql.lit(0),
      }),
    ["", "", "", 0, 0, 0, 0],
  );
  const leaseJob = compiledWrite(
    db,
    (
      d,
      leaseToken: string,
      leaseUntil: number,
      attempt: number,
      interrupted: number,
      now: number,
      id: string,
    ) =>
      d
        .updateTable("jobs")
        .set({
          status: sql.lit("running"),
          lease_token: leaseToken,
          lease_until: leaseUntil,
          attempt,
          interrupted,
          updated_at: now,
        })
        .where("id", "=", id),
    ["", 0, 0, 0, 0, ""],
  );
  const deleteHeld = compiledWrite(
    db,
    (d, id: string, leaseToken: string) =>
      d
        .deleteFrom("jobs")
        .where((eb) =>
          eb.and([
            eb("id", "=", id),
            eb("lease_token", "=", leaseToken),
            eb("status", "=", sql.lit("running")),
          ]),
        ),
    ["", ""],
  );

  return {
    async enqueue(job, tx?: Tx) {
      const now = clock.now();
      const id = newId("job", now);
      const payload = JSON.stringify(job.payload);
      await insertJob(connOf(db, tx), id, job.payload.kind, payload, job.runAt, job.maxAttempts, now, now);
      return id;
    },

    async claim({ limit, leaseMs, now, kinds }, tx) {
      if (limit <= 0 || kinds?.length === 0) return [];
      const inTx = async (trx: Conn): Promise<ClaimedJob[]> => {
        // Two index walks, each in its index's order and cut at `limit`, merged here: one query
        // with the OR made SQLite read every due job and sort them all (50,000 queued jobs, each
        // claim: the worker could no longer keep up with the creates; bench/inflight.ts).
        const due = (
          await Promise.all([
            dueJobs(trx, limit, kinds, (eb) =>
              eb.and([eb("status", "=", "queued"), eb("run_at", "<=", now)]),
            ),
            dueJobs(trx, limit, kinds, (eb) =>
              eb.and([eb("status", "=", "running"), eb("lease_until", "<", now)]),
            ),
          ])
        )
          .flat()
          .sort((a, b) => a.run_at - b.run_at)
          .slice(0, limit);
        const claimed: ClaimedJob[] = [];
        for (const row of due) {
          const leaseToken = randomUUID();
          // Still running with its lease run out: its worker died (or stopped answering) under it.
          // That run was cut short, not failed: it counts as an interruption, not as an attempt.
          const cut = row.status === "running" ? 1 : 0;
          const attempt = row.attempt + 1 - cut;
          const interrupted = row.interrupted + cut;
          await leaseJob(trx, leaseToken, now + leaseMs, attempt, interrupted, now, row.id);
          claimed.push({
            id: row.id,
            payload: JSON.parse(row.payload) as JobPayload,
            attempt,
            maxAttempts: row.max_attempts,
            interrupted,
            leaseToken,
          });
        }
        return claimed;
      };
      return tx === undefined ? db.transaction().execute(inTx) : inTx(connOf(db, tx));
    },

    async extendLease(job, { leaseMs, now }) {
      const r = await db
        .updateTable("jobs")
        .set({ lease_until: now + leaseMs, updated_at: now })
        .where(held(job))
        .executeTakeFirst();
      return r.numUpdatedRows > 0n;
    },

    async complete(job, tx) {
      await deleteHeld(connOf(db, tx), job.id, job.leaseToken);
    },

    async retry(job, { runAt, error, free }, tx) {
      await connOf(db, tx)
        .updateTable("jobs")
        .set((eb) => ({
          status: "queued",
          run_at: runAt,
          lease_token: null,
          lease_until: null,
          last_error: error,
          updated_at: clock.now(),
          ...(free
            ? {
                attempt: eb
                  .case()
                  .when("attempt", ">", 0)
                  .then(eb("attempt", "-", 1))
                  .else(0)
                  .end(),
              }
            : {}),
        }))
        .where(held(job))
        .execute();
    },

    async release(job, tx) {
      await connOf(db, tx)
        .updateTable("jobs")
        .set((eb) => ({ ...handBack(eb), run_at: clock.now() }))
        .where(held(job))
        .execute();
    },

    async bury(job, error, tx) {
      await connOf(db, tx)
        .updateTable("jobs")
        .set({
          status: "dead",
          lease_token: null,
          lease_until: null,
          last_error: error,
          updated_at: clock.now(),
        })
        .where(held(job))
        .execute();
    },

    async releaseAllLeases() {
      const r = await db.updateTable("jobs").set(handBack).where("status", "=", "running").executeTakeFirst();
      return Number(r.numUpdatedRows);
    },

    async depth(now) {
      const rows = await db
        .selectFrom("jobs")
        .select((eb) => [
          eb.fn.sum<number>(eb.case().when("status", "=", "queued").then(1).else(0).end()).as("queued"),
          eb.fn
            .sum<number>(
              eb
                .case()
                .when(eb.and([eb("status", "=", "running"), eb("lease_until", ">=", now)]))
                .then(1)
                .else(0)
                .end(),
            )
            .as("running"),
          eb.fn.sum<number>(eb.case().when("status", "=", "dead").then(1).else(0).end()).as("dead"),
        ])
        .executeTakeFirstOrThrow();
      return {
        queued: Number(rows.queued ?? 0),
        running: Number(rows.running ?? 0),
        dead: Number(rows.dead ?? 0),
      };
    },
  };
}
