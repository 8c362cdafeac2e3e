/**
 * Migration 0013 on a database that already holds money, on SQLite and on PostgreSQL: the ledger is
 * rebuilt with every row kept (a `charge` becomes the `hold` it always was), balances still sum, and
 * a task charged before it settles and refunds through the new store exactly once.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import BetterSqlite3 from "better-sqlite3";
import { Kysely, Migrator, PostgresDialect, SqliteDialect, sql } from "kysely";
import pg from "pg";
import { describe, expect, it } from "vitest";
import { createSqlAccounts } from "../../src/adapters/sql/accounts.js";
import type { SqlDialect } from "../../src/adapters/sql/dialect.js";
import { migrationProviderFor } from "../../src/adapters/sql/migrations.js";
import { postgresDialect } from "../../src/adapters/sql/postgres/dialect.js";
import { type DB, wrapTx } from "../../src/adapters/sql/schema.js";
import { sqliteDialect } from "../../src/adapters/sql/sqlite/dialect.js";
import { createTestDatabase } from "../helpers/postgres.js";

/** Whole numbers as numbers, as the app's pool reads them (postgres/db.ts). */
const types = {
  getTypeParser: ((oid: number, format?: "text" | "binary") =>
    oid === pg.types.builtins.INT8 || oid === pg.types.builtins.NUMERIC
      ? (v: string) => Number(v)
      : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
};

async function migrated(db: Kysely<DB>, dialect: SqlDialect) {
  const migrator = new Migrator({ db, provider: migrationProviderFor(dialect) });
  const before = await migrator.migrateTo("0011_webhook_endpoint_disabled");
  expect(before.error).toBeUndefined();
  // The money as the ledger held it before 0013: a top-up, two charges, one settled in part.
  await sql`INSERT INTO accounts (owner_id, balance, used, topped_up) VALUES ('o', 65, 35, 100)`.execute(db);
  await sql`INSERT INTO ledger (id, owner_id, key_id, task_id, kind, amount, model, created_at) VALUES
    ('led_1', 'o', NULL, NULL, 'topup', 100, NULL, 1),
    ('led_2', 'o', 'k', 't1', 'charge', -20, 'sora-2', 2),
    ('led_3', 'o', 'k', 't1', 'settle', 5, 'sora-2', 3),
    ('led_4', 'o', 'k', 't2', 'charge', -20, 'sora-2', 4)`.execute(db);
  const after = await migrator.migrateToLatest();
  expect(after.error).toBeUndefined();
  expect(after.results?.map((r) => r.migrationName)).toContain("0013_quote_hold_settle");
}

async function checks(db: Kysely<DB>) {
  const accounts = createSqlAccounts(db);
  expect((await accounts.entries("t1")).map((e) => [e.id, e.kind, e.amount, e.attempt, e.detail])).toEqual([
    ["led_2", "hold", -20, 0, null],
    ["led_3", "settle", 5, 0, null],
  ]);
  expect(await accounts.ledgerSum("o")).toBe(65);
  // t1 was settled before: no refund. t2 is still held: refunded once, in full.
  const tx = <T>(fn: (t: ReturnType<typeof wrapTx>) => Promise<T>) =>
    db.transaction().execute((trx) => fn(wrapTx(trx)));
  expect(await tx((t) => accounts.refund("t1", 5, t))).toBe(0);
  expect(await tx((t) => accounts.refund("t2", 6, t))).toBe(20);
  expect(await tx((t) => accounts.refund("t2", 7, t))).toBe(0);
  expect(await accounts.get("o")).toMatchObject({ balance: 85, used: 15 });
  expect(await accounts.ledgerSum("o")).toBe(85);
  const usage = await accounts.usage("o", { sinceMs: 0 });
  expect(usage).toEqual([{ day: "1970-01-01", keyId: "k", model: "sora-2", charged: 40, refunded: 25 }]);
  // Tasks have their cost column.
  await sql`SELECT cost FROM tasks`.execute(db);
}

describe("migration 0013 keeps the money", () => {
  it("on SQLite", async () => {
    const dir = await mkdtemp(join(tmpdir(), "reelay-0013-"));
    const db = new Kysely<DB>({
      dialect: new SqliteDialect({ database: new BetterSqlite3(join(dir, "reelay.db")) }),
    });
    try {
      await migrated(db, sqliteDialect);
      await checks(db);
    } finally {
      await db.destroy();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("on PostgreSQL", async () => {
    const database = await createTestDatabase();
    const db = new Kysely<DB>({
      dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: database.url, max: 2, types }) }),
    });
    try {
      await migrated(db, postgresDialect);
      await checks(db);
    } finally {
      await db.destroy();
      await database.drop();
    }
  });
});
