import type { Kysely } from "kysely";
import type { KeyStore } from "../../core/ports.js";
import type { DB } from "./schema.js";

export function createSqlKeyStore(db: Kysely<DB>): KeyStore {
  return {
    async insert(key) {
      await db
        .insertInto("api_keys")
        .values({
          id: key.id,
          owner_id: key.ownerId,
          name: key.name,
          hash: key.hash,
          prefix: key.prefix,
          created_at: key.createdAt,
        })
        .execute();
    },
    async findByHash(hash) {
      const row = await db.selectFrom("api_keys").selectAll().where("hash", "=", hash).executeTakeFirst();
      return row
        ? {
            id: row.id,
            ownerId: row.owner_id,
            name: row.name,
            hash: row.hash,
            prefix: row.prefix,
            createdAt: row.created_at,
          }
        : undefined;
    },
  };
}
