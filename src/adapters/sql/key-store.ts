import type { Kysely, Selectable } from "kysely";
import type { ApiKeyRecord, KeyStore } from "../../core/accounts/ports.js";
import { type ApiKeysTable, type DB, precompiled } from "./schema.js";

const toRecord = (row: Selectable<ApiKeysTable>): ApiKeyRecord => ({
  id: row.id,
  ownerId: row.owner_id,
  name: row.name,
  hash: row.hash,
  prefix: row.prefix,
  createdAt: row.created_at,
  expiresAt: row.expires_at,
  revokedAt: row.revoked_at,
  allowedModels: row.allowed_models === null ? null : (JSON.parse(row.allowed_models) as string[]),
  ratePerMin: row.rate_per_min,
  maxActive: row.max_active,
});

export function createSqlKeyStore(db: Kysely<DB>): KeyStore {
  const byHash = precompiled(
    db,
    (d, hash: string) => d.selectFrom("api_keys").selectAll().where("hash", "=", hash),
    [""],
  );
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
          expires_at: key.expiresAt,
          revoked_at: key.revokedAt,
          allowed_models: key.allowedModels === null ? null : JSON.stringify(key.allowedModels),
          rate_per_min: key.ratePerMin,
          max_active: key.maxActive,
        })
        .execute();
    },
    async findByHash(hash) {
      const [row] = await byHash(db, hash);
      return row ? toRecord(row) : undefined;
    },
    async list({ ownerId }) {
      let q = db.selectFrom("api_keys").selectAll();
      if (ownerId !== undefined) q = q.where("owner_id", "=", ownerId);
      return (await q.orderBy("created_at", "desc").orderBy("id", "desc").execute()).map(toRecord);
    },
    async revoke(id, now) {
      await db
        .updateTable("api_keys")
        .set({ revoked_at: now })
        .where("id", "=", id)
        .where("revoked_at", "is", null)
        .execute();
      const row = await db.selectFrom("api_keys").selectAll().where("id", "=", id).executeTakeFirst();
      return row ? toRecord(row) : undefined;
    },
  };
}
