import type { Kysely, Migration, MigrationProvider } from "kysely";
import type { ColumnTypes, SqlDialect } from "./dialect.js";
import { featureMigrations } from "./migrations_features.js";

/**
 * Migrations, in order. Never edit one that has shipped: add the next.
 * Kysely's Migrator records which have run in `kysely_migration`.
 */
function build(types: ColumnTypes): Record<string, Migration> {
  const { int, real } = types;
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

  return { ...migrations, ...featureMigrations(types) };
}

/** The migrations in the column types of `dialect`. */
export const migrationProviderFor = (dialect: SqlDialect): MigrationProvider => ({
  getMigrations: async () => build(dialect.columnTypes),
});
