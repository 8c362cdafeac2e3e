/**
 * The seam between the one SQL store layer and its two databases. The stores are written once
 * with Kysely; the few statements that differ between SQLite and PostgreSQL come from the
 * dialect of the connection (`sqlite/dialect.ts`, `postgres/dialect.ts`). Neither dialect module
 * loads a driver, so choosing one costs nothing.
 */
import { type Kysely, PostgresAdapter } from "kysely";
import type { SqlDialect } from "./dialect_types.js";
import { postgresDialect } from "./postgres/dialect.js";
import type { DB } from "./schema.js";
import { sqliteDialect } from "./sqlite/dialect.js";

export type { ColumnTypes, SqlDialect } from "./dialect_types.js";

/** The dialect `db` talks. */
export const dialectOf = (db: Kysely<DB>): SqlDialect =>
  db.getExecutor().adapter instanceof PostgresAdapter ? postgresDialect : sqliteDialect;
