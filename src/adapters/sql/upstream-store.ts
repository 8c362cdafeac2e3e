/** Upstream task records and channel health in the embedded database (plain Kysely, portable SQL). */
import { type Kysely, type Selectable, sql } from "kysely";
import type { Tx } from "../../core/ports.js";
import type {
  ChannelHealth,
  ChannelHealthStore,
  UpstreamPhase,
  UpstreamTaskRecord,
  UpstreamTaskStore,
} from "../../core/upstream/ports.js";
import { dialectOf } from "./dialect.js";
import { type Conn, connOf, type DB, type UpstreamTasksTable } from "./schema.js";

/** Epoch ms as stored: whole milliseconds (PostgreSQL's bigint refuses a fraction, SQLite would keep it). */
const ms = (t: number) => Math.round(t);

const toRecord = (r: Selectable<UpstreamTasksTable>): UpstreamTaskRecord => ({
  taskId: r.task_id,
  channelId: r.channel_id,
  upstreamId: r.upstream_id,
  phase: r.phase as UpstreamPhase,
  submittedAt: r.submitted_at,
  nextPollAt: r.next_poll_at,
  pollErrors: r.poll_errors,
  fetchErrors: r.fetch_errors,
  lastStatus: r.last_status,
  deadlineAt: r.deadline_at,
});

export function createSqlUpstreamTaskStore(db: Kysely<DB>): UpstreamTaskStore {
  async function expedite(taskId: string, now: number): Promise<boolean> {
    const res = await db
      .updateTable("upstream_tasks")
      .set({ next_poll_at: ms(now) })
      .where("task_id", "=", taskId)
      .where("phase", "=", "polling")
      .where("next_poll_at", ">", ms(now))
      .executeTakeFirst();
    return Number(res.numUpdatedRows) > 0;
  }
  const manyWriters = !dialectOf(db).oneWriter;
  return {
    async begin({ taskId, channelId, now, deadlineAt }, tx?: Tx) {
      await connOf(db, tx)
        .insertInto("upstream_tasks")
        .values({
          task_id: taskId,
          channel_id: channelId,
          upstream_id: null,
          phase: "submitting",
          submitted_at: now,
          next_poll_at: now,
          poll_errors: 0,
          fetch_errors: 0,
          last_status: null,
          deadline_at: deadlineAt,
        })
        .onConflict((oc) =>
          oc.column("task_id").doUpdateSet({
            channel_id: channelId,
            upstream_id: null,
            phase: "submitting",
            submitted_at: now,
            next_poll_at: now,
          }),
        )
        .execute();
    },
    async get(taskId, tx?: Tx) {
      const r = await connOf(db, tx)
        .selectFrom("upstream_tasks")
        .selectAll()
        .where("task_id", "=", taskId)
        .executeTakeFirst();
      return r ? toRecord(r) : undefined;
    },
    async getMany(taskIds) {
      if (taskIds.length === 0) return new Map();
      const rows = await db
        .selectFrom("upstream_tasks")
        .selectAll()
        .where("task_id", "in", [...taskIds])
        .execute();
      return new Map(rows.map((r) => [r.task_id, toRecord(r)]));
    },
    async accepted(taskId, { upstreamId, status, nextPollAt }, tx?: Tx) {
      await connOf(db, tx)
        .updateTable("upstream_tasks")
        .set({ upstream_id: upstreamId, phase: "polling", last_status: status, next_poll_at: ms(nextPollAt) })
        .where("task_id", "=", taskId)
        .execute();
    },
    async drop(taskId, tx?: Tx) {
      await connOf(db, tx)
        .deleteFrom("upstream_tasks")
        .where("task_id", "=", taskId)
        .where("phase", "=", "submitting")
        .execute();
    },
    async release(taskId, { channelId, upstreamId }, tx) {
      const r = await connOf(db, tx)
        .deleteFrom("upstream_tasks")
        .where("task_id", "=", taskId)
        .where("channel_id", "=", channelId)
        .where((eb) =>
          upstreamId === null ? eb("upstream_id", "is", null) : eb("upstream_id", "=", upstreamId),
        )
        .executeTakeFirst();
      return Number(r.numDeletedRows) > 0;
    },
    async claimDue({ limit, now, leaseMs }, tx?: Tx) {
      if (limit <= 0) return [];
      const claim = async (trx: Conn) => {
        if (!manyWriters) {
          // One writer (SQLite): one statement of fixed text (its prepared statement is reused),
          // not a select and an update naming each row (a new statement per batch size).
          const leased = await trx
            .updateTable("upstream_tasks")
            .set({ next_poll_at: ms(now + leaseMs) })
            .where("task_id", "in", (eb) =>
              eb
                .selectFrom("upstream_tasks")
                .select("task_id")
                .where("phase", "=", "polling")
                .where("next_poll_at", "<=", ms(now))
                .orderBy("next_poll_at")
                .limit(limit),
            )
            .returningAll()
            .execute();
          return leased.map(toRecord);
        }
        const due = await trx
          .selectFrom("upstream_tasks")
          .selectAll()
          .where("phase", "=", "polling")
          .where("next_poll_at", "<=", ms(now))
          .orderBy("next_poll_at")
          .limit(limit)
          // Several pollers on one PostgreSQL: each takes rows the others are not taking.
          .$if(manyWriters, (q) => q.forUpdate().skipLocked())
          .execute();
        if (due.length === 0) return [];
        await trx
          .updateTable("upstream_tasks")
          .set({ next_poll_at: ms(now + leaseMs) })
          .where(
            "task_id",
            "in",
            due.map((r) => r.task_id),
          )
          .execute();
        return due.map((r) => toRecord({ ...r, next_poll_at: ms(now + leaseMs) }));
      };
      return tx ? claim(connOf(db, tx)) : db.transaction().execute(claim);
    },
    async saveMany(rows, tx?: Tx) {
      if (rows.length === 0) return;
      // A statement per row, by primary key: one UPDATE of the whole batch (CASE task_id WHEN …)
      // took a fifth of the poller's time on SQLite (every row tests every WHEN), and one per
      // batch size would crowd the prepared-statement cache. In order: the later outcome wins.
      // Written as SQL, not built: Kysely's builder made and froze a dozen nodes per row.
      const save = async (trx: Conn) => {
        for (const r of rows) {
          await sql`UPDATE upstream_tasks SET next_poll_at = ${ms(r.nextPollAt)}, poll_errors = ${r.pollErrors},
            fetch_errors = ${r.fetchErrors}, last_status = ${r.lastStatus}
            WHERE task_id = ${r.taskId} AND phase = 'polling'`.execute(trx);
        }
      };
      await (tx ? save(connOf(db, tx)) : db.transaction().execute(save));
    },
    async hold(taskId, until) {
      await db
        .updateTable("upstream_tasks")
        .set({ next_poll_at: ms(until) })
        .where("task_id", "=", taskId)
        .where("phase", "=", "polling")
        .execute();
    },
    expedite,
    async expediteUpstream(channelId, upstreamId, now) {
      const row = await db
        .updateTable("upstream_tasks")
        .set({ next_poll_at: ms(now) })
        .where("channel_id", "=", channelId)
        .where("upstream_id", "=", upstreamId)
        .where("phase", "=", "polling")
        .where("next_poll_at", ">", ms(now))
        .returning("task_id")
        .executeTakeFirst();
      return row?.task_id ?? null;
    },
    async finish(taskId, tx?: Tx) {
      await connOf(db, tx)
        .updateTable("upstream_tasks")
        .set({ phase: "done" })
        .where("task_id", "=", taskId)
        .execute();
    },
    async inFlight() {
      const rows = await db
        .selectFrom("upstream_tasks")
        .select(["channel_id", (eb) => eb.fn.countAll<number>().as("n")])
        .where("phase", "in", ["submitting", "polling"])
        .groupBy("channel_id")
        .execute();
      return new Map(rows.map((r) => [r.channel_id, Number(r.n)]));
    },
    async releaseAll(now) {
      const res = await db
        .updateTable("upstream_tasks")
        .set({ next_poll_at: ms(now) })
        .where("phase", "=", "polling")
        .where("next_poll_at", ">", ms(now))
        .executeTakeFirst();
      return Number(res.numUpdatedRows);
    },
  };
}

export function createSqlChannelHealthStore(db: Kysely<DB>): ChannelHealthStore {
  const toHealth = (r: Selectable<DB["channel_health"]>): ChannelHealth => ({
    channelId: r.channel_id,
    failures: r.failures,
    cooldownUntil: r.cooldown_until,
    lastError: r.last_error,
    lastFailureAt: r.last_failure_at,
    lastSuccessAt: r.last_success_at,
  });
  return {
    async all() {
      const rows = await db.selectFrom("channel_health").selectAll().execute();
      return new Map(rows.map((r) => [r.channel_id, toHealth(r)]));
    },
    failure(channelId, { error, now, threshold, cooldownMs }) {
      return db.transaction().execute(async (trx) => {
        // One atomic increment: failures reported by several processes at once all count.
        const lastError = error.slice(0, 500);
        const row = await trx
          .insertInto("channel_health")
          .values({
            channel_id: channelId,
            failures: 1,
            cooldown_until: 0,
            last_error: lastError,
            last_failure_at: now,
            last_success_at: null,
          })
          .onConflict((oc) =>
            oc.column("channel_id").doUpdateSet((eb) => ({
              failures: eb("channel_health.failures", "+", 1),
              last_error: lastError,
              last_failure_at: now,
            })),
          )
          .returningAll()
          .executeTakeFirstOrThrow();
        // Past the threshold every further failure (a failed probe) doubles the cool-down, up to 16×.
        const cooldownUntil =
          row.failures >= threshold ? now + cooldownMs * 2 ** Math.min(4, row.failures - threshold) : 0;
        await trx
          .updateTable("channel_health")
          .set({ cooldown_until: cooldownUntil })
          .where("channel_id", "=", channelId)
          .execute();
        return toHealth({ ...row, cooldown_until: cooldownUntil });
      });
    },
    async success(channelId, now) {
      // Most successes change nothing: skip the write (and its fsync) unless there is something to
      // reset, or the last recorded success is over a minute old.
      const row = await db
        .selectFrom("channel_health")
        .select(["failures", "cooldown_until", "last_success_at"])
        .where("channel_id", "=", channelId)
        .executeTakeFirst();
      if (row && row.failures === 0 && row.cooldown_until === 0 && (row.last_success_at ?? 0) > now - 60_000)
        return;
      await db
        .insertInto("channel_health")
        .values({
          channel_id: channelId,
          failures: 0,
          cooldown_until: 0,
          last_error: null,
          last_failure_at: null,
          last_success_at: now,
        })
        .onConflict((oc) =>
          oc.column("channel_id").doUpdateSet({ failures: 0, cooldown_until: 0, last_success_at: now }),
        )
        .execute();
    },
  };
}
