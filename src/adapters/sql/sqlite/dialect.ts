/** What SQLite does differently: 64-bit `integer`, one writer at a time, strftime for dates. */
import { sql } from "kysely";
import type { SqlDialect } from "../dialect_types.js";

export const sqliteDialect: SqlDialect = {
  name: "sqlite",
  columnTypes: { int: "integer", real: "real" },
  oneWriter: true,
  utcDay: (column) => sql<string>`strftime('%Y-%m-%d', ${sql.ref(column)} / 1000, 'unixepoch')`,
  // SQLite runs one write transaction at a time: transactions already take turns.
  lockUntilCommit: async () => undefined,
};
