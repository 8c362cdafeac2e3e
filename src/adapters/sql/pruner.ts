/** Deletes the rows that outlive their use (README: *Data retention*); SQLite and PostgreSQL alike. */
import type { Kysely } from "kysely";
import type { PruneCutoffs, RecordPruner } from "../../core/tasks/retention.js";
import type { DB } from "./schema.js";

export function createSqlPruner(db: Kysely<DB>): RecordPruner {
  const count = (r: { numDeletedRows: bigint }[]) => r.reduce((n, x) => n + Number(x.numDeletedRows), 0);
  return {
    async prune(cut: PruneCutoffs) {
      return db.transaction().execute(async (trx) => {
        // Past the idempotency window a key is only ever replaced, never read.
        const idempotencyKeys = count(
          await trx.deleteFrom("idempotency_keys").where("created_at", "<", cut.idempotencyBefore).execute(),
        );
        // An idle bucket is full again: a missing row reads the same (a full bucket).
        const rateBuckets = count(
          await trx.deleteFrom("rate_buckets").where("updated_at", "<", cut.rateBucketsBefore).execute(),
        );
        // A pin outlives its task only when the task was deleted: nothing reads it then.
        const upstreamPins = count(
          await trx
            .deleteFrom("upstream_tasks")
            .where("phase", "=", "done")
            .where(({ not, exists, selectFrom }) =>
              not(
                exists(selectFrom("tasks").select("id").whereRef("tasks.id", "=", "upstream_tasks.task_id")),
              ),
            )
            .execute(),
        );
        // Attempts outlive their task only when the task was deleted (by retention): they go too.
        await trx
          .deleteFrom("task_attempts")
          .where(({ not, exists, selectFrom }) =>
            not(exists(selectFrom("tasks").select("id").whereRef("tasks.id", "=", "task_attempts.task_id"))),
          )
          .execute();
        // A storyboard's record of its shots is read only through the storyboard: gone with it.
        const storyboardShots = count(
          await trx
            .deleteFrom("storyboard_shots")
            .where(({ not, exists, selectFrom }) =>
              not(
                exists(
                  selectFrom("tasks").select("id").whereRef("tasks.id", "=", "storyboard_shots.parent_id"),
                ),
              ),
            )
            .execute(),
        );
        let webhookDeliveries = 0;
        if (cut.webhooksBefore !== null) {
          // Finished deliveries only (a pending one is still being tried), with their attempts,
          // then the events no delivery points to any more.
          const old = trx
            .selectFrom("webhook_deliveries")
            .select("id")
            .where("status", "in", ["delivered", "failed"])
            .where("updated_at", "<", cut.webhooksBefore);
          await trx.deleteFrom("webhook_attempts").where("delivery_id", "in", old).execute();
          webhookDeliveries = count(
            await trx
              .deleteFrom("webhook_deliveries")
              .where("status", "in", ["delivered", "failed"])
              .where("updated_at", "<", cut.webhooksBefore)
              .execute(),
          );
          await trx
            .deleteFrom("webhook_events")
            .where("created_at", "<", cut.webhooksBefore)
            .where(({ not, exists, selectFrom }) =>
              not(
                exists(
                  selectFrom("webhook_deliveries")
                    .select("id")
                    .whereRef("webhook_deliveries.event_id", "=", "webhook_events.id"),
                ),
              ),
            )
            .execute();
        }
        return { idempotencyKeys, rateBuckets, upstreamPins, storyboardShots, webhookDeliveries };
      });
    },
  };
}
