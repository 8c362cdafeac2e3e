/** Token buckets in the database, one row per key: limits hold for every process sharing it. */
import type { Kysely } from "kysely";
import type { RateLimiter } from "../../core/accounts/ports.js";
import { dialectOf } from "./dialect.js";
import type { DB } from "./schema.js";

export function createSqlRateLimiter(db: Kysely<DB>): RateLimiter {
  // With one writer (SQLite, which has no FOR UPDATE) nothing else reads the count meanwhile;
  // with many (PostgreSQL) the row is locked so that two processes taking from one bucket cannot
  // both read the same count.
  const lock = !dialectOf(db).oneWriter;
  return {
    take(bucket, { perMin, burst, now }) {
      return db.transaction().execute(async (trx) => {
        if (lock) {
          await trx
            .insertInto("rate_buckets")
            .values({ bucket, tokens: burst, updated_at: now })
            .onConflict((oc) => oc.column("bucket").doNothing())
            .execute();
        }
        let read = trx.selectFrom("rate_buckets").selectAll().where("bucket", "=", bucket);
        if (lock) read = read.forUpdate();
        const row = await read.executeTakeFirst();
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
