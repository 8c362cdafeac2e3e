/** What PostgreSQL does differently: `bigint` epochs, many writers (row and advisory locks), to_char. */
import { sql } from "kysely";
import type { SqlDialect } from "../dialect_types.js";

export const postgresDialect: SqlDialect = {
  name: "postgres",
  columnTypes: { int: "bigint", real: "double precision" },
  oneWriter: false,
  utcDay: (column) =>
    sql<string>`to_char(to_timestamp(${sql.ref(column)} / 1000.0) at time zone 'UTC', 'YYYY-MM-DD')`,
  async lockUntilCommit(conn, key) {
    await sql`select pg_advisory_xact_lock(hashtextextended(${key}, 0))`.execute(conn);
  },
};
