/** What a SQL dialect supplies to the one store layer (see dialect.ts). */
import type { RawBuilder } from "kysely";
import type { Conn } from "./schema.js";

/**
 * Column types per dialect. The same migrations build the SQLite and the PostgreSQL schema:
 * SQLite's `integer` holds 64 bits, PostgreSQL's does not (epoch-ms columns need `bigint`, read
 * back as numbers by the pool's int8 parser), and its `real` is 4 bytes (`double precision` there).
 */
export interface ColumnTypes {
  readonly int: "integer" | "bigint";
  readonly real: "real" | "double precision";
}

export interface SqlDialect {
  readonly name: "sqlite" | "postgres";
  readonly columnTypes: ColumnTypes;
  /**
   * True when one process owns the database and it runs one write transaction at a time
   * (SQLite): a read followed by a write needs no row lock, and rows may be cached in memory.
   * False when many processes share it under read committed (PostgreSQL): such reads lock.
   */
  readonly oneWriter: boolean;
  /** The UTC day (`YYYY-MM-DD`) of an epoch-milliseconds column. */
  utcDay(column: string): RawBuilder<string>;
  /**
   * Holds a lock named `key` until the transaction `conn` ends, so that transactions of the same
   * key take turns. Nothing to do where writers already take turns.
   */
  lockUntilCommit(conn: Conn, key: string): Promise<void>;
}
