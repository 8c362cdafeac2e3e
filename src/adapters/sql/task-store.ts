import type { Kysely, Selectable } from "kysely";
import type { Tx } from "../../core/ports.js";
import type { TaskPatch, TaskStore } from "../../core/tasks/ports.js";
import { isPublished, TASK_STATUSES, type Task, type TaskStatus } from "../../core/tasks/task.js";
import { dialectOf } from "./dialect.js";
import { RowCache } from "./row_cache.js";
import { connOf, type DB, precompiled, type TasksTable } from "./schema.js";

const json = <T>(text: string | null): T | null => (text === null ? null : (JSON.parse(text) as T));

function toTask(row: Selectable<TasksTable>): Task {
  return {
    id: row.id,
    ownerId: row.owner_id,
    request: JSON.parse(row.request) as Task["request"],
    status: row.status as TaskStatus,
    progress: row.progress,
    createdAt: row.created_at,
    statusUpdatedAt: row.status_updated_at,
    deadlineAt: row.deadline_at,
    attempts: row.attempts,
    error: json<Task["error"]>(row.error),
    failureReason: row.failure_reason,
    enhancedPrompt: row.enhanced_prompt,
    result: json<Task["result"]>(row.result),
    // Absent while billing is off, as on a task made without it.
    ...(row.cost === null ? {} : { cost: JSON.parse(row.cost) as NonNullable<Task["cost"]> }),
  };
}

/** Tasks in the SQL database (the same code serves SQLite and PostgreSQL through Kysely). */
export function createSqlTaskStore(db: Kysely<DB>, opts: { cacheSize?: number } = {}): TaskStore {
  const dialect = dialectOf(db);
  const byId = precompiled(db, (d, id: string) => d.selectFrom("tasks").selectAll().where("id", "=", id), [
    "",
  ]);
  const cacheSize = opts.cacheSize ?? 2000;
  // Rows are cached only where this process is the one writer (see row_cache.ts).
  const cache = !dialect.oneWriter || cacheSize <= 0 ? undefined : new RowCache<Task>(cacheSize);
  return {
    async insert(task, tx?: Tx) {
      await connOf(db, tx)
        .insertInto("tasks")
        .values({
          id: task.id,
          owner_id: task.ownerId,
          status: task.status,
          progress: task.progress,
          request: JSON.stringify(task.request),
          created_at: task.createdAt,
          status_updated_at: task.statusUpdatedAt,
          deadline_at: task.deadlineAt,
          attempts: task.attempts,
          error: task.error === null ? null : JSON.stringify(task.error),
          failure_reason: task.failureReason,
          enhanced_prompt: task.enhancedPrompt,
          result: task.result === null ? null : JSON.stringify(task.result),
          cost: task.cost ? JSON.stringify(task.cost) : null,
          published: isPublished(task.request) ? 1 : 0,
        })
        .execute();
      cache?.forget(task.id, tx);
    },

    async get(id, tx) {
      const load = async () => {
        const [row] = await byId(connOf(db, tx), id);
        return row ? toTask(row) : undefined;
      };
      return tx === undefined && cache !== undefined ? cache.read(id, load) : load();
    },

    async update(id, patch: TaskPatch, opts, tx) {
      const set: Partial<TasksTable> = {};
      if (patch.status !== undefined) {
        set.status = patch.status;
        set.status_updated_at = opts.now;
      }
      if (patch.progress !== undefined) set.progress = Math.max(0, Math.min(100, Math.round(patch.progress)));
      if (patch.attempts !== undefined) set.attempts = patch.attempts;
      if (patch.error !== undefined) set.error = patch.error === null ? null : JSON.stringify(patch.error);
      if (patch.failureReason !== undefined) set.failure_reason = patch.failureReason;
      if (patch.enhancedPrompt !== undefined) set.enhanced_prompt = patch.enhancedPrompt;
      if (patch.result !== undefined)
        set.result = patch.result === null ? null : JSON.stringify(patch.result);
      if (patch.cost !== undefined) set.cost = patch.cost === null ? null : JSON.stringify(patch.cost);
      let q = connOf(db, tx).updateTable("tasks").set(set).where("id", "=", id);
      if (opts.onlyFrom) q = q.where("status", "in", [...opts.onlyFrom]);
      if (opts.beforeDeadline !== undefined) q = q.where("deadline_at", ">", opts.beforeDeadline);
      try {
        const row = await q.returningAll().executeTakeFirst();
        return row ? toTask(row) : undefined;
      } finally {
        cache?.forget(id, tx);
      }
    },

    async listForOwner(ownerId, { after, limit, order, status }) {
      let q = db.selectFrom("tasks").selectAll().where("owner_id", "=", ownerId);
      if (status) q = q.where("status", "=", status);
      if (after) {
        const cmp = order === "asc" ? ">" : "<";
        q = q.where((eb) =>
          eb.or([
            eb("created_at", cmp, after.createdAt),
            eb.and([eb("created_at", "=", after.createdAt), eb("id", cmp, after.id)]),
          ]),
        );
      }
      const rows = await q.orderBy("created_at", order).orderBy("id", order).limit(limit).execute();
      return rows.map(toTask);
    },

    async listPublished({ after, limit }) {
      let q = db.selectFrom("tasks").selectAll().where("published", "=", 1).where("status", "=", "completed");
      if (after) {
        q = q.where((eb) =>
          eb.or([
            eb("created_at", "<", after.createdAt),
            eb.and([eb("created_at", "=", after.createdAt), eb("id", "<", after.id)]),
          ]),
        );
      }
      const rows = await q.orderBy("created_at", "desc").orderBy("id", "desc").limit(limit).execute();
      return rows.map(toTask);
    },

    async search({ status, ownerId, limit }) {
      let q = db.selectFrom("tasks").selectAll();
      if (status) q = q.where("status", "=", status);
      if (ownerId) q = q.where("owner_id", "=", ownerId);
      return (await q.orderBy("created_at", "desc").orderBy("id", "desc").limit(limit).execute()).map(toTask);
    },

    async countActive(ownerId, tx) {
      // A count followed by an insert is only a limit if no other transaction counts in between.
      // SQLite runs one writer at a time; on PostgreSQL (read committed, many processes) the
      // owner's counting transactions queue on a lock held until they commit.
      if (tx) await dialect.lockUntilCommit(connOf(db, tx), `reelay.active:${ownerId}`);
      const r = await connOf(db, tx)
        .selectFrom("tasks")
        .select((eb) => eb.fn.countAll<number>().as("n"))
        .where("owner_id", "=", ownerId)
        .where("status", "in", ["pending", "processing"])
        .executeTakeFirstOrThrow();
      return Number(r.n);
    },

    async delete(id, tx) {
      try {
        const r = await connOf(db, tx).deleteFrom("tasks").where("id", "=", id).executeTakeFirst();
        return r.numDeletedRows > 0n;
      } finally {
        cache?.forget(id, tx);
      }
    },

    async countByStatus() {
      const rows = await db
        .selectFrom("tasks")
        .select((eb) => ["status", eb.fn.countAll<number>().as("n")])
        .groupBy("status")
        .execute();
      const counts = Object.fromEntries(TASK_STATUSES.map((s) => [s, 0])) as Record<TaskStatus, number>;
      for (const r of rows) counts[r.status as TaskStatus] = Number(r.n);
      return counts;
    },
  };
}
