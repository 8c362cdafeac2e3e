/**
 * The create benchmark's baseline: a bare node:http server doing what a durable create must, and
 * nothing else. Each `POST` body is read and parsed as JSON, then the rows Reelay's own create
 * wrote (read from Reelay's database by the bench: the task, its job and its first event) are
 * inserted again under fresh ids, in one transaction, into tables made from Reelay's own DDL
 * (indexes included), in SQLite WAL mode at `synchronous=FULL`, as Reelay runs it; once that
 * commit returns (on disk), the answer is Reelay's create answer under the new id.
 * Env: PORT, BASELINE_CREATE (a JSON file: see CreateTemplate in lib/create-rows.ts), DATA_DIR.
 */
import { readFileSync } from "node:fs";
import { createServer } from "node:http";
import { join } from "node:path";
import BetterSqlite3 from "better-sqlite3";
import type { CreateTemplate } from "./lib/create-rows.js";

const port = Number(process.env.PORT ?? "0");
const template = JSON.parse(readFileSync(String(process.env.BASELINE_CREATE), "utf8")) as CreateTemplate;
const db = new BetterSqlite3(join(String(process.env.DATA_DIR), "baseline.db"));
db.pragma("journal_mode = WAL");
db.pragma("synchronous = FULL");
for (const ddl of template.ddl) db.exec(ddl);

const inserts = template.rows.map((r) => {
  const cols = Object.keys(r.row);
  return {
    row: r.row,
    stmt: db.prepare(
      `INSERT INTO "${r.table}" (${cols.map((c) => `"${c}"`).join(", ")}) VALUES (${cols.map(() => "?").join(", ")})`,
    ),
  };
});

let n = 0;
/** A fresh id of the same length as the template's (so the rows keep their size). */
const fresh = (id: string): string => {
  const tail = String(++n).padStart(10, "0");
  return `${id.slice(0, id.length - tail.length)}${tail}`;
};

const insertAll = db.transaction((ids: ReadonlyMap<string, string>, now: number) => {
  for (const { row, stmt } of inserts) {
    stmt.run(
      Object.entries(row).map(([col, v]) => {
        if (typeof v === "string") {
          let s = v;
          for (const [from, to] of ids) s = s.replaceAll(from, to);
          return s;
        }
        return typeof v === "number" && col.endsWith("_at") ? now : v;
      }),
    );
  }
});

const server = createServer((req, res) => {
  if (req.method !== "POST") {
    // Anything else only says that the server is up.
    req.resume();
    res.end("ok");
    return;
  }
  const chunks: Buffer[] = [];
  req.on("data", (c: Buffer) => chunks.push(c));
  req.on("end", () => {
    JSON.parse(Buffer.concat(chunks).toString("utf8"));
    const ids = new Map(template.ids.map((id) => [id, fresh(id)]));
    insertAll(ids, Date.now());
    let body = template.response;
    for (const [from, to] of ids) body = body.replaceAll(from, to);
    const bytes = Buffer.from(body);
    res.writeHead(200, { "content-type": "application/json; charset=utf-8", "content-length": bytes.length });
    res.end(bytes);
  });
});
server.listen(port, "127.0.0.1");
process.on("SIGTERM", () =>
  server.close(() => {
    db.close();
    process.exit(0);
  }),
);
