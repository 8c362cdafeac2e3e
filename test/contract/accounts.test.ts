/** The ledger on SQLite: a task is charged once and refunded once, whatever is retried. */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect, it } from "vitest";
import { createSqlAccounts } from "../../src/adapters/sqlite/accounts.js";
import { openSqlite } from "../../src/adapters/sqlite/db.js";

it("charge, settle and refund are once per task; the ledger sums to the balance", async () => {
  const dir = await mkdtemp(join(tmpdir(), "reelay-ledger-"));
  const db = await openSqlite(dir);
  try {
    const accounts = createSqlAccounts(db.kysely);
    await accounts.topUp("o", 100, 1);
    const charge = { ownerId: "o", keyId: "k", taskId: "t1", model: "sora-2", amount: 30, now: 2 };
    expect(await db.transaction((tx) => accounts.charge(charge, tx))).toBe(true);
    expect(await db.transaction((tx) => accounts.settle("t1", 10, 3, tx))).toBe(10);
    expect(await db.transaction((tx) => accounts.settle("t1", 10, 3, tx))).toBe(0);
    // The refund returns what is still held (30 − 10), once.
    expect(await db.transaction((tx) => accounts.refund("t1", 4, tx))).toBe(20);
    expect(await db.transaction((tx) => accounts.refund("t1", 5, tx))).toBe(0);
    expect(await accounts.get("o")).toEqual({ ownerId: "o", balance: 100, used: 0, toppedUp: 100 });
    expect(await accounts.ledgerSum("o")).toBe(100);
    // A charge bigger than the balance writes nothing.
    expect(await db.transaction((tx) => accounts.charge({ ...charge, taskId: "t2", amount: 101 }, tx))).toBe(
      false,
    );
    expect(await accounts.ledgerSum("o")).toBe(100);
    // A refund inside a transaction that rolls back leaves no trace.
    await db.transaction((tx) => accounts.charge({ ...charge, taskId: "t3" }, tx));
    await expect(
      db.transaction(async (tx) => {
        await accounts.refund("t3", 6, tx);
        throw new Error("crash before commit");
      }),
    ).rejects.toThrow("crash");
    expect((await accounts.get("o")).balance).toBe(70);
    expect(await db.transaction((tx) => accounts.refund("t3", 7, tx))).toBe(30);
    expect(await accounts.ledgerSum("o")).toBe((await accounts.get("o")).balance);
  } finally {
    await db.close();
    await rm(dir, { recursive: true, force: true });
  }
});
