/** Task feeds in the SQL database (SQLite and PostgreSQL alike): table `task_events`. */
import { type Kysely, type Selectable, sql } from "kysely";
import type { Tx } from "../../core/ports.js";
import type { FeedEvent, FeedEventType, TaskFeedStore } from "../../core/tasks/feed.js";
import { afterTransaction, connOf, type DB, type TaskEventsTable } from "./schema.js";

const toEvent = (r: Selectable<TaskEventsTable>): FeedEvent => ({
  taskId: r.task_id,
  seq: Number(r.seq),
  type: r.type as FeedEventType,
  data: JSON.parse(r.data) as FeedEvent["data"],
  at: Number(r.at),
});

/** Ids per `latest` query: well under either database's limit on bound parameters. */
const CHUNK = 500;

/**
 * `onStored` hears of each stored event once its transaction has ended (the in-process wake-up
 * of open streams); a rolled-back one wakes them for nothing, which costs one empty read.
 */
export function createSqlTaskFeedStore(
  db: Kysely<DB>,
  opts: { onStored?: (taskId: string, seq: number) => void } = {},
): TaskFeedStore {
  return {
    async insert(e, tx) {
      const r = await connOf(db, tx)
        .insertInto("task_events")
        .values({ task_id: e.taskId, seq: e.seq, type: e.type, data: JSON.stringify(e.data), at: e.at })
        .onConflict((oc) => oc.columns(["task_id", "seq"]).doNothing())
        .executeTakeFirst();
      const stored = Number(r.numInsertedOrUpdatedRows ?? 0n) > 0;
      const { onStored } = opts;
      if (stored && onStored) afterTransaction(tx, () => onStored(e.taskId, e.seq));
      return stored;
    },
    async append(e, tx) {
      // The next seq and the check that the feed has not ended, read in the insert itself (a
      // round trip fewer than a read then a write, on every status change). The statement runs
      // in the transaction that changed the task and holds its row, so no other change of the
      // task picks the same seq meanwhile; if one did, the conflict writes nothing, as `insert`.
      const r = await sql<{ seq: number }>`insert into task_events (task_id, seq, type, data, at)
        select ${e.taskId}, coalesce(feed.newest, 0) + 1, ${e.type}, ${JSON.stringify(e.data)}, cast(${e.at} as bigint)
        from (select max(seq) as newest, count(case when type in ('video.completed', 'video.failed', 'video.cancelled') then 1 end) as ends
          from task_events where task_id = ${e.taskId}) as feed
        where feed.ends = 0
        on conflict (task_id, seq) do nothing
        returning seq`.execute(connOf(db, tx));
      const row = r.rows[0];
      if (row === undefined) return undefined;
      const stored: FeedEvent = { ...e, seq: Number(row.seq) };
      const { onStored } = opts;
      if (onStored) afterTransaction(tx, () => onStored(e.taskId, stored.seq));
      return stored;
    },
    async last(taskId, tx?: Tx) {
      const row = await connOf(db, tx)
        .selectFrom("task_events")
        .selectAll()
        .where("task_id", "=", taskId)
        .orderBy("seq", "desc")
        .limit(1)
        .executeTakeFirst();
      return row ? toEvent(row) : undefined;
    },
    async after(taskId, seq, limit) {
      const rows = await db
        .selectFrom("task_events")
        .selectAll()
        .where("task_id", "=", taskId)
        .where("seq", ">", seq)
        .orderBy("seq", "asc")
        .limit(limit)
        .execute();
      return rows.map(toEvent);
    },
    async latest(taskIds) {
      const out = new Map<string, number>();
      for (let i = 0; i < taskIds.length; i += CHUNK) {
        const rows = await db
          .selectFrom("task_events")
          .select(["task_id", (eb) => eb.fn.max("seq").as("seq")])
          .where("task_id", "in", taskIds.slice(i, i + CHUNK))
          .groupBy("task_id")
          .execute();
        for (const r of rows) out.set(r.task_id, Number(r.seq));
      }
      return out;
    },
    async deleteFor(taskId, tx) {
      const r = await connOf(db, tx)
        .deleteFrom("task_events")
        .where("task_id", "=", taskId)
        .executeTakeFirst();
      return Number(r.numDeletedRows);
    },
  };
}
