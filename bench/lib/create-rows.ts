/**
 * What `POST /v1/video/create` wrote, read back from a running Reelay's database: the DDL of the
 * tables it wrote to and the rows of one create, for the create baseline
 * (bench/baseline-create-server.ts) to insert again under fresh ids.
 */
import { join } from "node:path";
import BetterSqlite3 from "better-sqlite3";

export interface CreateTemplate {
  /** CREATE TABLE and CREATE INDEX statements, as Reelay's migrations left them. */
  readonly ddl: readonly string[];
  /** The rows of one create, table by table. */
  readonly rows: readonly { table: string; row: Record<string, unknown> }[];
  /** The ids in those rows (and the answer) to replace by fresh ones per request. */
  readonly ids: readonly string[];
  /** Reelay's answer to that create. */
  readonly response: string;
}

/**
 * Reads the rows of task `taskId` from the database in `dataDir` (read-only: Reelay keeps running).
 * Every table holding a row that names the task counts; the job row is found through its payload.
 */
export function readCreateTemplate(dataDir: string, taskId: string, response: string): CreateTemplate {
  const db = new BetterSqlite3(join(dataDir, "reelay.db"), { readonly: true });
  try {
    const task = db.prepare("SELECT * FROM tasks WHERE id = ?").get(taskId) as Record<string, unknown>;
    const events = db.prepare("SELECT * FROM task_events WHERE task_id = ?").all(taskId) as Record<
      string,
      unknown
    >[];
    const jobs = db
      .prepare("SELECT * FROM jobs WHERE payload LIKE ?")
      .all(`%${JSON.stringify(taskId)}%`) as Record<string, unknown>[];
    if (!task || jobs.length !== 1 || events.length !== 1)
      throw new Error(`create of ${taskId}: expected a task, one job and one event`);
    const tables = ["tasks", "jobs", "task_events"];
    const ddl = db
      .prepare(
        `SELECT sql FROM sqlite_master WHERE tbl_name IN (${tables.map(() => "?").join(", ")}) AND sql IS NOT NULL ORDER BY type DESC`,
      )
      .all(...tables)
      .map((r) => (r as { sql: string }).sql);
    const job = jobs[0] as Record<string, unknown>;
    return {
      ddl,
      rows: [
        { table: "tasks", row: task },
        { table: "jobs", row: job },
        ...events.map((row) => ({ table: "task_events", row })),
      ],
      ids: [taskId, String(job.id)],
      response,
    };
  } finally {
    db.close();
  }
}
