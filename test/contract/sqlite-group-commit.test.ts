/**
 * Group commit on the embedded database (src/adapters/sql/sqlite/group_commit.ts): transactions
 * that queue up share one COMMIT, each still all-or-nothing on its own, and none is reported done
 * before its commit is visible to another connection (so on disk: synchronous=FULL).
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import BetterSqlite3 from "better-sqlite3";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { connOf } from "../../src/adapters/sql/schema.js";
import { openSqlite, type SqliteDatabase } from "../../src/adapters/sql/sqlite/db.js";
import type { Tx } from "../../src/core/ports.js";

describe("SQLite group commit", () => {
  let dir: string;
  let db: SqliteDatabase;
  let outside: BetterSqlite3.Database;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "reelay-group-commit-"));
    db = await openSqlite(dir);
    // Another connection to the same file: it sees only what has been committed.
    outside = new BetterSqlite3(join(dir, "reelay.db"), { readonly: true });
  });
  afterEach(async () => {
    outside.close();
    await db.close();
    await rm(dir, { recursive: true, force: true });
  });

  const put = (tx: Tx, bucket: string) =>
    connOf(db.kysely, tx).insertInto("rate_buckets").values({ bucket, tokens: 1, updated_at: 0 }).execute();
  const committed = (): string[] =>
    (outside.prepare("SELECT bucket FROM rate_buckets ORDER BY bucket").all() as { bucket: string }[]).map(
      (r) => r.bucket,
    );

  it("commits transactions that queue up together, each reported done only once committed", async () => {
    const seenAtDone: number[] = [];
    const names = Array.from({ length: 10 }, (_, i) => `b${String(i).padStart(2, "0")}`);
    await Promise.all(
      names.map((name) =>
        db
          .transaction(async (tx) => {
            await put(tx, name);
            return name;
          })
          .then((v) => {
            expect(v).toBe(name);
            // Read at once, synchronously: what this caller was told is already committed.
            const rows = committed();
            expect(rows).toContain(name);
            seenAtDone.push(rows.length);
          }),
      ),
    );
    // All ten were waiting before the first began: one group, one commit, so the first caller
    // told "done" already sees all ten (one commit each would show it 1).
    expect(seenAtDone[0]).toBe(10);
    expect(committed()).toEqual(names);
  });

  it("rolls back a failing transaction alone; the others in its group commit", async () => {
    const results = await Promise.allSettled(
      ["a", "b", "c"].map((name) =>
        db.transaction(async (tx) => {
          await put(tx, name);
          if (name === "b") throw new Error("b changed its mind");
          return name;
        }),
      ),
    );
    expect(results.map((r) => r.status)).toEqual(["fulfilled", "rejected", "fulfilled"]);
    expect(results[1]?.status === "rejected" && (results[1].reason as Error).message).toBe(
      "b changed its mind",
    );
    expect(committed()).toEqual(["a", "c"]);
  });

  it("keeps a statement's error inside its own transaction when the caller handles it", async () => {
    await db.transaction((tx) => put(tx, "taken"));
    const [first, second] = await Promise.all([
      db.transaction(async (tx) => {
        // A duplicate key fails the statement, not the transaction: the caller carries on.
        const dup = await put(tx, "taken").then(
          () => "inserted",
          () => "refused",
        );
        await put(tx, "after-dup");
        return dup;
      }),
      db.transaction(async (tx) => {
        await put(tx, "other");
        return "ok";
      }),
    ]);
    expect([first, second]).toEqual(["refused", "ok"]);
    expect(committed()).toEqual(["after-dup", "other", "taken"]);
  });

  it("runs a transaction begun inside another one after it, never interleaved with it", async () => {
    const order: string[] = [];
    let late: Promise<unknown> | undefined;
    await db.transaction(async (tx) => {
      await put(tx, "first");
      late = db.transaction(async (tx2) => {
        order.push("late runs");
        await put(tx2, "late");
      });
      order.push("first done");
    });
    await late;
    expect(order).toEqual(["first done", "late runs"]);
    expect(committed()).toEqual(["first", "late"]);
  });

  it("a transaction asked for after the database closed is refused, not retried for ever", async () => {
    await db.close();
    const late = await Promise.allSettled([
      db.transaction(async (tx) => put(tx, "late-1")),
      db.transaction(async (tx) => put(tx, "late-2")),
    ]);
    expect(late.map((r) => r.status)).toEqual(["rejected", "rejected"]);
    // afterEach closes it again: a second close must be harmless.
  });
});
