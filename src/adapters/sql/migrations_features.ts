/**
 * The migrations of the features after the webhooks (0012 on): failover's attempts, the ledger's
 * holds, task feeds, storyboards, the upstream lookup index and the dashboard's rollups. Their
 * numbers were reserved per feature, so they may have run in any order (`allowUnorderedMigrations`).
 * Never edit one that has shipped: add the next.
 */
import { type Migration, sql } from "kysely";
import type { ColumnTypes } from "./dialect.js";

export function featureMigrations({ int, real }: ColumnTypes): Record<string, Migration> {
  const migrations: Record<string, Migration> = {};

  // Each accepted submission of a task to an upstream channel: the lineage failover leaves.
  migrations["0012_attempts"] = {
    async up(db) {
      await db.schema
        .createTable("task_attempts")
        .addColumn("task_id", "text", (c) => c.notNull())
        .addColumn("number", int, (c) => c.notNull())
        .addColumn("channel_id", "text", (c) => c.notNull())
        .addColumn("upstream_id", "text")
        .addColumn("outcome", "text", (c) => c.notNull())
        .addColumn("error_class", "text")
        .addColumn("error_code", "text")
        .addColumn("error_message", "text")
        .addColumn("usage", "text")
        .addColumn("started_at", int, (c) => c.notNull())
        .addColumn("ended_at", int)
        .addColumn("credits", int, (c) => c.notNull().defaultTo(0))
        .addPrimaryKeyConstraint("task_attempts_pk", ["task_id", "number"])
        .execute();
    },
  };

  // Quote, hold, settle: a task's money shown on it (`cost`), and a ledger whose task movements
  // are holds (they were `charge`), settlements and refunds, once per (task, kind, attempt), each
  // with what it was reckoned from. SQLite cannot drop a unique constraint, so the ledger is
  // rebuilt (both dialects alike). Its columns repeat 0001's on purpose: a migration never shares
  // code with another, so none changes once shipped.
  migrations["0013_quote_hold_settle"] = {
    async up(db) {
      await db.schema.alterTable("tasks").addColumn("cost", "text").execute();
      await db.schema
        .createTable("ledger_0013")
        .addColumn("id", "text", (c) => c.primaryKey())
        .addColumn("owner_id", "text", (c) => c.notNull())
        .addColumn("key_id", "text")
        .addColumn("task_id", "text")
        // topup | hold | settle | refund; amount is signed (a hold is negative).
        .addColumn("kind", "text", (c) => c.notNull())
        .addColumn("amount", int, (c) => c.notNull())
        .addColumn("model", "text")
        .addColumn("created_at", int, (c) => c.notNull())
        // 0: the task's own movement; an attempt's number for a movement of one attempt.
        .addColumn("attempt", int, (c) => c.notNull().defaultTo(0))
        .addColumn("detail", "text")
        .addUniqueConstraint("ledger_once_per_task_attempt", ["task_id", "kind", "attempt"])
        .execute();
      await sql`INSERT INTO ledger_0013 (id, owner_id, key_id, task_id, kind, amount, model, created_at, attempt)
        SELECT id, owner_id, key_id, task_id, CASE WHEN kind = 'charge' THEN 'hold' ELSE kind END,
          amount, model, created_at, 0 FROM ledger`.execute(db);
      await db.schema.dropTable("ledger").execute();
      await db.schema.alterTable("ledger_0013").renameTo("ledger").execute();
      await db.schema
        .createIndex("ledger_owner_time")
        .on("ledger")
        .columns(["owner_id", "created_at"])
        .execute();
      await db.schema.createIndex("ledger_task").on("ledger").columns(["task_id", "created_at"]).execute();
    },
  };

  // Storyboards: which child task each started shot is (the unique pair makes a shot once).
  migrations["0015_storyboard_shots"] = {
    async up(db) {
      await db.schema
        .createTable("storyboard_shots")
        .addColumn("parent_id", "text", (c) => c.notNull())
        .addColumn("shot_index", int, (c) => c.notNull())
        .addColumn("child_id", "text", (c) => c.notNull())
        .addColumn("created_at", int, (c) => c.notNull())
        .addPrimaryKeyConstraint("storyboard_shots_pk", ["parent_id", "shot_index"])
        .execute();
    },
  };

  // A provider's event names its own task id: found by channel and upstream id.
  migrations["0017_upstream_lookup"] = {
    async up(db) {
      await db.schema
        .createIndex("upstream_tasks_upstream")
        .on("upstream_tasks")
        .columns(["channel_id", "upstream_id"])
        .execute();
    },
  };

  // Each task's feed of changes (status, progress, attempts, results) for the live event streams:
  // `seq` counts from 1 per task, so a client's Last-Event-ID is a position in one task's feed.
  migrations["0014_task_events"] = {
    async up(db) {
      await db.schema
        .createTable("task_events")
        .addColumn("task_id", "text", (c) => c.notNull())
        .addColumn("seq", int, (c) => c.notNull())
        .addColumn("type", "text", (c) => c.notNull())
        .addColumn("data", "text", (c) => c.notNull())
        .addColumn("at", int, (c) => c.notNull())
        .addPrimaryKeyConstraint("task_events_pk", ["task_id", "seq"])
        .execute();
    },
  };

  // The operator's dashboard (core/stats): finished tasks rolled up per minute, hour and day (a
  // bucket per combination of channel, model, owner, final status and failure class, with a
  // latency histogram), polls and callbacks counted per bucket, one row per finished task for the
  // drill-down, the roller's watermark, and each process's last heartbeat. Empty strings stand for
  // "none" in key columns (a primary key column cannot be null in PostgreSQL).
  migrations["0018_stats_rollups"] = {
    async up(db) {
      await db.schema
        .createTable("stats_rollups")
        .addColumn("grain", "text", (c) => c.notNull())
        .addColumn("bucket", int, (c) => c.notNull())
        .addColumn("channel", "text", (c) => c.notNull())
        .addColumn("model", "text", (c) => c.notNull())
        .addColumn("owner_id", "text", (c) => c.notNull())
        .addColumn("status", "text", (c) => c.notNull())
        .addColumn("failure_class", "text", (c) => c.notNull())
        .addColumn("tasks", int, (c) => c.notNull())
        .addColumn("latency_sum_ms", int, (c) => c.notNull())
        .addColumn("latency_hist", "text", (c) => c.notNull())
        .addColumn("held", int, (c) => c.notNull())
        .addColumn("charged", int, (c) => c.notNull())
        .addColumn("refunded", int, (c) => c.notNull())
        .addColumn("provider_cost_usd", real, (c) => c.notNull())
        .addPrimaryKeyConstraint("stats_rollups_pk", [
          "grain",
          "bucket",
          "channel",
          "model",
          "owner_id",
          "status",
          "failure_class",
        ])
        .execute();
      await db.schema
        .createTable("stats_events")
        .addColumn("grain", "text", (c) => c.notNull())
        .addColumn("bucket", int, (c) => c.notNull())
        .addColumn("channel", "text", (c) => c.notNull())
        .addColumn("kind", "text", (c) => c.notNull())
        .addColumn("count", int, (c) => c.notNull())
        .addPrimaryKeyConstraint("stats_events_pk", ["grain", "bucket", "channel", "kind"])
        .execute();
      await db.schema
        .createTable("stats_finished")
        .addColumn("task_id", "text", (c) => c.primaryKey())
        .addColumn("owner_id", "text", (c) => c.notNull())
        .addColumn("model", "text", (c) => c.notNull())
        .addColumn("channel", "text", (c) => c.notNull())
        .addColumn("status", "text", (c) => c.notNull())
        .addColumn("failure_class", "text", (c) => c.notNull())
        .addColumn("created_at", int, (c) => c.notNull())
        .addColumn("finished_at", int, (c) => c.notNull())
        .addColumn("held", int, (c) => c.notNull())
        .addColumn("charged", int, (c) => c.notNull())
        .addColumn("refunded", int, (c) => c.notNull())
        .addColumn("provider_cost_usd", real, (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex("stats_finished_time")
        .on("stats_finished")
        .columns(["finished_at", "task_id"])
        .execute();
      await db.schema
        .createTable("stats_state")
        .addColumn("name", "text", (c) => c.primaryKey())
        .addColumn("at", int, (c) => c.notNull())
        .addColumn("task_id", "text", (c) => c.notNull())
        .execute();
      await db.schema
        .createTable("stats_processes")
        .addColumn("id", "text", (c) => c.primaryKey())
        .addColumn("role", "text", (c) => c.notNull())
        .addColumn("host", "text", (c) => c.notNull())
        .addColumn("seen_at", int, (c) => c.notNull())
        .execute();
      // The roller reads the tasks that finished since its watermark, in order.
      await db.schema
        .createIndex("tasks_status_time")
        .on("tasks")
        .columns(["status_updated_at", "id"])
        .execute();
    },
  };

  return migrations;
}
