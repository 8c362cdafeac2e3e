/**
 * Preloaded into a benchmarked Reelay (`NODE_OPTIONS=--require …/db-counter.cjs`) to count what it
 * asks of its SQLite database: statements by their first word (select, insert, update, delete,
 * begin, commit, savepoint…) and rows written (`changes` of each write). Every 500 ms the counts
 * are written to the file named by REELAY_BENCH_DB_COUNTS (JSON), where the benchmark reads them
 * at the start and end of its window. Bench-only: Reelay's own code knows nothing of it.
 */
"use strict";
const { writeFileSync, renameSync } = require("node:fs");
const Database = require("better-sqlite3");

const out = process.env.REELAY_BENCH_DB_COUNTS;
const counts = { statements: {}, rowsWritten: 0 };
const WRITES = new Set(["insert", "update", "delete"]);
const verbOf = (sql) => (/^\s*(\w+)/.exec(sql)?.[1] ?? "?").toLowerCase();

let patched = false;
const prepare = Database.prototype.prepare;
Database.prototype.prepare = function (sql, ...rest) {
  const stmt = prepare.call(this, sql, ...rest);
  if (!patched) {
    patched = true;
    const proto = Object.getPrototypeOf(stmt);
    for (const method of ["run", "get", "all", "iterate"]) {
      const original = proto[method];
      proto[method] = function (...args) {
        const verb = verbOf(this.source);
        counts.statements[verb] = (counts.statements[verb] ?? 0) + 1;
        const result = original.apply(this, args);
        // sqlite3_changes() is the last INSERT/UPDATE/DELETE's: only theirs are counted. A write
        // with RETURNING is read with `all`/`get`: the rows it hands back are the rows it wrote.
        if (WRITES.has(verb)) {
          if (method === "run" && typeof result?.changes === "number") counts.rowsWritten += result.changes;
          else if (method === "all" && Array.isArray(result)) counts.rowsWritten += result.length;
          else if (method === "get" && result !== undefined) counts.rowsWritten += 1;
        }
        return result;
      };
    }
  }
  return stmt;
};

if (out) {
  setInterval(() => {
    // Written whole, then renamed: a reader never sees half a file.
    writeFileSync(`${out}.tmp`, JSON.stringify(counts));
    renameSync(`${out}.tmp`, out);
  }, 500).unref();
}
