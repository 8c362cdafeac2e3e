/** Task feeds in the SQL database (SQLite and PostgreSQL alike): table `task_events`. */
import { type Kysely, type Selectable, sql } from "kysely";
import type { Tx } from "../../core/ports.js";
import type { FeedEvent, FeedEventType, TaskFeedStore } from "../../core/tasks/feed.js";
import { compiledWrite } from "./compiled_write.js";
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
  // Written on every change of every task: compiled once (compiled_write.ts).
  const insertEvent = compiledWrite(
    db,
    (d, taskId: string, seq: number, type: string, data: string, at: number) =>
      d
        .insertInto("task_events")
        .values({ task_id: taskId, seq, type, data, at })
        .onConflict((oc) => oc.columns(["task_id", "seq"]).doNothing()),
    ["", 0, "", "", 0],
  );
  // The next seq and the check that the feed has not ended, read in the insert itself (a round
  // trip fewer than a read then a write, on every status change). The statement runs in the
  // transaction that changed the task and holds its row, so no other change of the task picks
  // the same seq meanwhile; if one did, the conflict writes nothing, as `insert`.
  const appendEvent = compiledWrite(
    db,
    (d, taskId: string, type: string, data: string, at: number, again: string) => ({
      compile: () =>
        sql<{ seq: number }>`insert into task_events (task_id, seq, type, data, at)
          select ${taskId}, coalesce(feed.newest, 0) + 1, ${type}, ${data}, cast(${at} as bigint)
          from (select max(seq) as newest, count(case when type in ('video.completed', 'video.failed', 'video.cancelled') then 1 end) as ends
            from task_events where task_id = ${again}) as feed
          where feed.ends = 0
          on conflict (task_id, seq) do nothing
          returning seq`.compile(d),
    }),
    ["", "", "", 0, ""],
  );
  return {
    async insert(e, tx) {
      const r = await insertEvent(connOf(db, tx), e.taskId, e.seq, e.type, JSON.stringify(e.data), e.at);
      const stored = Number(r.numAffectedRows ?? 0n) > 0;
      const { onStored } = opts;
      if (stored && onStored) afterTransaction(tx, () => onStored(e.taskId, e.seq));
      return stored;
    },
    async append(e, tx) {
      const r = await appendEvent(connOf(db, tx), e.taskId, e.type, JSON.stringify(e.data), e.at, e.taskId);
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
