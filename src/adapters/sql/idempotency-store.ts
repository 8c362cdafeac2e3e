import type { Kysely } from "kysely";
import type { IdempotencyStore } from "../../core/tasks/ports.js";
import { connOf, type DB } from "./schema.js";

export function createSqlIdempotencyStore(db: Kysely<DB>): IdempotencyStore {
  return {
    async find(ownerId, key, tx) {
      const r = await connOf(db, tx)
        .selectFrom("idempotency_keys")
        .selectAll()
        .where("owner_id", "=", ownerId)
        .where("key", "=", key)
        .executeTakeFirst();
      return r ? { fingerprint: r.fingerprint, taskId: r.task_id, createdAt: r.created_at } : undefined;
    },
    async insert(ownerId, key, rec, tx) {
      const r = await connOf(db, tx)
        .insertInto("idempotency_keys")
        .values({
          owner_id: ownerId,
          key,
          fingerprint: rec.fingerprint,
          task_id: rec.taskId,
          created_at: rec.createdAt,
        })
        .onConflict((oc) => oc.columns(["owner_id", "key"]).doNothing())
        .executeTakeFirst();
      return (r.numInsertedOrUpdatedRows ?? 0n) > 0n;
    },
    async remove(ownerId, key, tx) {
      await connOf(db, tx)
        .deleteFrom("idempotency_keys")
        .where("owner_id", "=", ownerId)
        .where("key", "=", key)
        .execute();
    },
  };
}
