/** Token buckets in the database, one row per key: limits hold for every process sharing it. */
import type { Kysely } from "kysely";
import type { RateLimiter } from "../../core/ports.js";
import type { DB } from "./schema.js";

export function createSqlRateLimiter(db: Kysely<DB>): RateLimiter {
  return {
    take(bucket, { perMin, burst, now }) {
      return db.transaction().execute(async (trx) => {
        const row = await trx
          .selectFrom("rate_buckets")
          .selectAll()
          .where("bucket", "=", bucket)
          .executeTakeFirst();
        const ratePerMs = perMin / 60_000;
        const tokens = row ? Math.min(burst, row.tokens + (now - row.updated_at) * ratePerMs) : burst;
        if (tokens < 1)
          return { ok: false, retryAfterS: Math.max(1, Math.ceil((1 - tokens) / ratePerMs / 1000)) };
        await trx
          .insertInto("rate_buckets")
          .values({ bucket, tokens: tokens - 1, updated_at: now })
          .onConflict((oc) => oc.column("bucket").doUpdateSet({ tokens: tokens - 1, updated_at: now }))
          .execute();
        return { ok: true, retryAfterS: 0 };
      });
    },
  };
}
