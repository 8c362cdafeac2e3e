/**
 * A write on the hot path (every task's create, claim and completion), compiled once instead of
 * on every call: Kysely builds and compiles a statement's SQL each time it runs (≈ 20–50 µs for an
 * insert of a dozen columns, measured here), which is most of what an embedded write costs
 * besides the statement itself. `build` gets placeholder values (in order) and must use each
 * exactly once, as a bound parameter; the result runs on any connection (a transaction's or the
 * root) with the real values in the same order. The writes' counterpart of `precompiled` (schema.ts).
 */
import type { Compilable, Kysely, QueryResult } from "kysely";
import type { Conn, DB } from "./schema.js";

export function compiledWrite<Row, Args extends unknown[]>(
  db: Kysely<DB>,
  build: (db: Kysely<DB>, ...args: Args) => Compilable<Row>,
  placeholders: Args,
): (conn: Conn, ...args: Args) => Promise<QueryResult<Row>> {
  const compiled = build(db, ...placeholders).compile();
  if (compiled.parameters.length !== placeholders.length) {
    throw new Error(
      `compiledWrite: ${compiled.sql} binds ${compiled.parameters.length} values, not ${placeholders.length}`,
    );
  }
  return (conn, ...args) => conn.executeQuery<Row>({ ...compiled, parameters: args });
}
