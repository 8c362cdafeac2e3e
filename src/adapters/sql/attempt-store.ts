/** Task attempts (each accepted submission to an upstream channel) in the SQL database. */
import type { Kysely, Selectable } from "kysely";
import type { Tx } from "../../core/ports.js";
import type {
  AttemptOutcome,
  TaskAttempt,
  TaskAttemptStore,
  UpstreamErrorClass,
} from "../../core/upstream/ports.js";
import { dialectOf } from "./dialect.js";
import { RowCache } from "./row_cache.js";
import { connOf, type DB, precompiled, type TaskAttemptsTable } from "./schema.js";

const ms = (t: number) => Math.round(t);

const toAttempt = (r: Selectable<TaskAttemptsTable>): TaskAttempt => ({
  number: r.number,
  channelId: r.channel_id,
  upstreamId: r.upstream_id,
  outcome: r.outcome as AttemptOutcome,
  error:
    r.error_class === null
      ? null
      : {
          class: r.error_class as UpstreamErrorClass,
          code: r.error_code,
          message: r.error_message ?? "",
        },
  usage: r.usage === null ? null : (JSON.parse(r.usage) as TaskAttempt["usage"]),
  startedAt: r.started_at,
  endedAt: r.ended_at,
  credits: r.credits,
});

export function createSqlAttemptStore(db: Kysely<DB>, opts: { cacheSize?: number } = {}): TaskAttemptStore {
  // Read by every task view (`GET /v1/video/query`, `GET /v1/videos/{id}`): compiled once.
  const ofTask = precompiled(
    db,
    (d, taskId: string) =>
      d.selectFrom("task_attempts").selectAll().where("task_id", "=", taskId).orderBy("number"),
    [""],
  );
  // A task's attempts are read with the task on every poll of it: cached beside the task (see
  // row_cache.ts) where this process is the one writer; every write below forgets the task's entry.
  const cacheSize = opts.cacheSize ?? 2000;
  const cache =
    !dialectOf(db).oneWriter || cacheSize <= 0 ? undefined : new RowCache<readonly TaskAttempt[]>(cacheSize);
  return {
    async started({ taskId, channelId, upstreamId, now }, tx) {
      const conn = connOf(db, tx);
      // A crash between two writes of one transaction cannot happen; two pollers cannot fail one
      // task over at once (the failover's conditional status write lets one through), so the
      // next number is free.
      const last = await conn
        .selectFrom("task_attempts")
        .select((eb) => eb.fn.max("number").as("n"))
        .where("task_id", "=", taskId)
        .executeTakeFirst();
      const number = Number(last?.n ?? 0) + 1;
      await conn
        .insertInto("task_attempts")
        .values({
          task_id: taskId,
          number,
          channel_id: channelId,
          upstream_id: upstreamId,
          outcome: "running",
          error_class: null,
          error_code: null,
          error_message: null,
          usage: null,
          started_at: ms(now),
          ended_at: null,
          credits: 0,
        })
        .execute();
      cache?.forget(taskId, tx);
      return number;
    },
    async ended(taskId, end, tx) {
      const r = await connOf(db, tx)
        .updateTable("task_attempts")
        .set({
          outcome: end.outcome,
          error_class: end.error?.class ?? null,
          error_code: end.error?.code ?? null,
          // Bounded: a provider's message is kept, not an error page's whole body.
          error_message: end.error ? end.error.message.slice(0, 2000) : null,
          usage: end.usage ? JSON.stringify(end.usage) : null,
          ended_at: ms(end.now),
          credits: Math.max(0, Math.round(end.credits ?? 0)),
        })
        .where("task_id", "=", taskId)
        .where("outcome", "=", "running")
        .executeTakeFirst();
      cache?.forget(taskId, tx);
      return Number(r.numUpdatedRows) > 0;
    },
    async list(taskId, tx?: Tx) {
      const load = async () => (await ofTask(connOf(db, tx), taskId)).map(toAttempt);
      if (tx !== undefined || cache === undefined) return load();
      return (await cache.read(taskId, load)) ?? [];
    },
    async listMany(taskIds) {
      const out = new Map<string, TaskAttempt[]>();
      if (taskIds.length === 0) return out;
      const rows = await db
        .selectFrom("task_attempts")
        .selectAll()
        .where("task_id", "in", [...taskIds])
        .orderBy("task_id")
        .orderBy("number")
        .execute();
      for (const r of rows) {
        const list = out.get(r.task_id) ?? [];
        list.push(toAttempt(r));
        out.set(r.task_id, list);
      }
      return out;
    },
    async forget(taskId, tx) {
      await connOf(db, tx).deleteFrom("task_attempts").where("task_id", "=", taskId).execute();
      cache?.forget(taskId, tx);
    },
  };
}
