import { type Kysely, type Migration, type MigrationProvider, sql } from "kysely";
import type { ColumnTypes, SqlDialect } from "./dialect.js";

/**
 * Migrations, in order. Never edit one that has shipped: add the next.
 * Kysely's Migrator records which have run in `kysely_migration`.
 */
function build({ int, real }: ColumnTypes): Record<string, Migration> {
  const migrations: Record<string, Migration> = {
    "0001_core": {
      async up(db: Kysely<unknown>) {
        await db.schema
          .createTable("tasks")
          .addColumn("id", "text", (c) => c.primaryKey())
          .addColumn("owner_id", "text", (c) => c.notNull())
          .addColumn("status", "text", (c) => c.notNull())
          .addColumn("progress", int, (c) => c.notNull().defaultTo(0))
          .addColumn("request", "text", (c) => c.notNull())
          .addColumn("created_at", int, (c) => c.notNull())
          .addColumn("status_updated_at", int, (c) => c.notNull())
          .addColumn("deadline_at", int, (c) => c.notNull())
          .addColumn("attempts", int, (c) => c.notNull().defaultTo(0))
          .addColumn("error", "text")
          .addColumn("failure_reason", "text")
          .addColumn("enhanced_prompt", "text")
          .addColumn("result", "text")
          .execute();
        await db.schema
          .createIndex("tasks_owner_created")
          .on("tasks")
          .columns(["owner_id", "created_at"])
          .execute();
        await db.schema.createIndex("tasks_status").on("tasks").column("status").execute();

        await db.schema
          .createTable("api_keys")
          .addColumn("id", "text", (c) => c.primaryKey())
          .addColumn("owner_id", "text", (c) => c.notNull())
          .addColumn("name", "text", (c) => c.notNull())
          .addColumn("hash", "text", (c) => c.notNull().unique())
          .addColumn("prefix", "text", (c) => c.notNull())
          .addColumn("created_at", int, (c) => c.notNull())
          .execute();

        await db.schema
          .createTable("jobs")
          .addColumn("id", "text", (c) => c.primaryKey())
          .addColumn("kind", "text", (c) => c.notNull())
          .addColumn("payload", "text", (c) => c.notNull())
          .addColumn("status", "text", (c) => c.notNull())
          .addColumn("run_at", int, (c) => c.notNull())
          .addColumn("attempt", int, (c) => c.notNull().defaultTo(0))
          .addColumn("max_attempts", int, (c) => c.notNull())
          .addColumn("lease_token", "text")
          .addColumn("lease_until", int)
          .addColumn("last_error", "text")
          .addColumn("created_at", int, (c) => c.notNull())
          .addColumn("updated_at", int, (c) => c.notNull())
          .execute();
        await db.schema.createIndex("jobs_due").on("jobs").columns(["status", "run_at"]).execute();
      },
    },
    "0002_published": {
      async up(db: Kysely<unknown>) {
        // 1 when the task shows in the public gallery once completed (see core/tasks/task.ts isPublished).
        await db.schema
          .alterTable("tasks")
          .addColumn("published", int, (c) => c.notNull().defaultTo(0))
          .execute();
        await db.schema
          .createIndex("tasks_gallery")
          .on("tasks")
          .columns(["published", "status", "created_at"])
          .execute();
      },
    },
  };

  migrations["0003_characters"] = {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable("characters")
        .addColumn("id", "text", (c) => c.primaryKey())
        .addColumn("owner_id", "text", (c) => c.notNull())
        .addColumn("username", "text", (c) => c.notNull().unique())
        .addColumn("name", "text", (c) => c.notNull())
        .addColumn("video_key", "text", (c) => c.notNull())
        .addColumn("start_s", real, (c) => c.notNull())
        .addColumn("end_s", real, (c) => c.notNull())
        .addColumn("source_task_id", "text")
        .addColumn("picture_key", "text")
        // 1 when anyone may use it: made from a published video.
        .addColumn("public", int, (c) => c.notNull().defaultTo(0))
        .addColumn("created_at", int, (c) => c.notNull())
        .execute();
    },
  };

  migrations["0004_idempotency"] = {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable("idempotency_keys")
        .addColumn("owner_id", "text", (c) => c.notNull())
        .addColumn("key", "text", (c) => c.notNull())
        .addColumn("fingerprint", "text", (c) => c.notNull())
        .addColumn("task_id", "text", (c) => c.notNull())
        .addColumn("created_at", int, (c) => c.notNull())
        .addPrimaryKeyConstraint("idempotency_keys_pk", ["owner_id", "key"])
        .execute();
    },
  };

  migrations["0005_key_lifecycle"] = {
    async up(db: Kysely<unknown>) {
      await db.schema.alterTable("api_keys").addColumn("expires_at", int).execute();
      await db.schema.alterTable("api_keys").addColumn("revoked_at", int).execute();
      // JSON array of model names, or null for every model.
      await db.schema.alterTable("api_keys").addColumn("allowed_models", "text").execute();
    },
  };

  migrations["0006_limits"] = {
    async up(db: Kysely<unknown>) {
      // Per-key overrides of the configured defaults; null: the default.
      await db.schema.alterTable("api_keys").addColumn("rate_per_min", int).execute();
      await db.schema.alterTable("api_keys").addColumn("max_active", int).execute();
      await db.schema
        .createTable("rate_buckets")
        .addColumn("bucket", "text", (c) => c.primaryKey())
        .addColumn("tokens", real, (c) => c.notNull())
        .addColumn("updated_at", int, (c) => c.notNull())
        .execute();
    },
  };

  migrations["0007_job_interruptions"] = {
    async up(db: Kysely<unknown>) {
      // Attempts cut short by the death of their process; they do not count as attempts.
      await db.schema
        .alterTable("jobs")
        .addColumn("interrupted", int, (c) => c.notNull().defaultTo(0))
        .execute();
    },
  };

  migrations["0008_accounts"] = {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable("accounts")
        .addColumn("owner_id", "text", (c) => c.primaryKey())
        .addColumn("balance", int, (c) => c.notNull().defaultTo(0))
        .addColumn("used", int, (c) => c.notNull().defaultTo(0))
        .addColumn("topped_up", int, (c) => c.notNull().defaultTo(0))
        .execute();
      await db.schema
        .createTable("ledger")
        .addColumn("id", "text", (c) => c.primaryKey())
        .addColumn("owner_id", "text", (c) => c.notNull())
        .addColumn("key_id", "text")
        .addColumn("task_id", "text")
        // topup | charge | settle | refund; amount is signed (a charge is negative).
        .addColumn("kind", "text", (c) => c.notNull())
        .addColumn("amount", int, (c) => c.notNull())
        .addColumn("model", "text")
        .addColumn("created_at", int, (c) => c.notNull())
        .addUniqueConstraint("ledger_once_per_task", ["task_id", "kind"])
        .execute();
      await db.schema
        .createIndex("ledger_owner_time")
        .on("ledger")
        .columns(["owner_id", "created_at"])
        .execute();
    },
  };

  migrations["0009_upstreams"] = {
    async up(db: Kysely<unknown>) {
      // Pins each upstream task to the channel that accepted it, and drives its polling.
      await db.schema
        .createTable("upstream_tasks")
        .addColumn("task_id", "text", (c) => c.primaryKey())
        .addColumn("channel_id", "text", (c) => c.notNull())
        .addColumn("upstream_id", "text")
        .addColumn("phase", "text", (c) => c.notNull())
        .addColumn("submitted_at", int, (c) => c.notNull())
        .addColumn("next_poll_at", int, (c) => c.notNull())
        .addColumn("poll_errors", int, (c) => c.notNull().defaultTo(0))
        .addColumn("fetch_errors", int, (c) => c.notNull().defaultTo(0))
        .addColumn("last_status", "text")
        .addColumn("deadline_at", int, (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex("upstream_tasks_due")
        .on("upstream_tasks")
        .columns(["phase", "next_poll_at"])
        .execute();
      await db.schema
        .createTable("channel_health")
        .addColumn("channel_id", "text", (c) => c.primaryKey())
        .addColumn("failures", int, (c) => c.notNull().defaultTo(0))
        .addColumn("cooldown_until", int, (c) => c.notNull().defaultTo(0))
        .addColumn("last_error", "text")
        .addColumn("last_failure_at", int)
        .addColumn("last_success_at", int)
        .execute();
    },
  };

  migrations["0010_webhooks"] = {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable("webhook_endpoints")
        .addColumn("id", "text", (c) => c.primaryKey())
        .addColumn("owner_id", "text", (c) => c.notNull())
        .addColumn("key_id", "text")
        .addColumn("url", "text", (c) => c.notNull())
        // JSON array of event types; null: all.
        .addColumn("events", "text")
        .addColumn("secret", "text", (c) => c.notNull())
        .addColumn("created_at", int, (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex("webhook_endpoints_owner")
        .on("webhook_endpoints")
        .column("owner_id")
        .execute();
      await db.schema
        .createTable("webhook_callback_secrets")
        .addColumn("owner_id", "text", (c) => c.primaryKey())
        .addColumn("secret", "text", (c) => c.notNull())
        .addColumn("created_at", int, (c) => c.notNull())
        .execute();
      await db.schema
        .createTable("webhook_events")
        .addColumn("id", "text", (c) => c.primaryKey())
        .addColumn("task_id", "text", (c) => c.notNull())
        .addColumn("owner_id", "text", (c) => c.notNull())
        .addColumn("type", "text", (c) => c.notNull())
        .addColumn("payload", "text", (c) => c.notNull())
        .addColumn("created_at", int, (c) => c.notNull())
        // One event per task and type: a transaction run twice cannot announce the end twice.
        .addUniqueConstraint("webhook_events_once", ["task_id", "type"])
        .execute();
      await db.schema
        .createTable("webhook_deliveries")
        .addColumn("id", "text", (c) => c.primaryKey())
        .addColumn("event_id", "text", (c) => c.notNull())
        .addColumn("event_type", "text", (c) => c.notNull())
        .addColumn("task_id", "text", (c) => c.notNull())
        .addColumn("owner_id", "text", (c) => c.notNull())
        .addColumn("endpoint_id", "text")
        .addColumn("url", "text", (c) => c.notNull())
        // pending | delivered | failed
        .addColumn("status", "text", (c) => c.notNull())
        .addColumn("attempt_count", int, (c) => c.notNull().defaultTo(0))
        .addColumn("next_attempt_at", int)
        .addColumn("created_at", int, (c) => c.notNull())
        .addColumn("updated_at", int, (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex("webhook_deliveries_task")
        .on("webhook_deliveries")
        .columns(["task_id", "created_at"])
        .execute();
      await db.schema
        .createIndex("webhook_deliveries_status")
        .on("webhook_deliveries")
        .columns(["status", "created_at"])
        .execute();
      await db.schema
        .createTable("webhook_attempts")
        .addColumn("delivery_id", "text", (c) => c.notNull())
        .addColumn("attempt", int, (c) => c.notNull())
        .addColumn("started_at", int, (c) => c.notNull())
        .addColumn("duration_ms", int, (c) => c.notNull())
        .addColumn("status_code", int)
        .addColumn("error", "text")
        .addPrimaryKeyConstraint("webhook_attempts_pk", ["delivery_id", "attempt"])
        .execute();
    },
  };

  // A receiver that answers 410 Gone is switched off until its owner turns it back on.
  migrations["0011_webhook_endpoint_disabled"] = {
    async up(db) {
      await db.schema.alterTable("webhook_endpoints").addColumn("disabled_at", int).execute();
      await db.schema.alterTable("webhook_endpoints").addColumn("disabled_reason", "text").execute();
    },
  };

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

/** The migrations in the column types of `dialect`. */
export const migrationProviderFor = (dialect: SqlDialect): MigrationProvider => ({
  getMigrations: async () => build(dialect.columnTypes),
});
