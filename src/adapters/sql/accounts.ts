/** Credits and the ledger in SQL. The unique (task_id, kind) constraint makes charges and refunds exactly-once. */
import type { Kysely } from "kysely";
import type { Account, Accounts } from "../../core/accounts/ports.js";
import { newId } from "../../core/ids.js";
import type { Tx } from "../../core/ports.js";
import { dialectOf } from "./dialect.js";
import { type Conn, connOf, type DB } from "./schema.js";

async function ensure(conn: Conn, ownerId: string): Promise<void> {
  await conn
    .insertInto("accounts")
    .values({ owner_id: ownerId, balance: 0, used: 0, topped_up: 0 })
    .onConflict((oc) => oc.column("owner_id").doNothing())
    .execute();
}

/** Writes a ledger row once per (task, kind); true when this call wrote it. */
async function record(
  conn: Conn,
  row: {
    ownerId: string;
    keyId: string | null;
    taskId: string | null;
    kind: string;
    amount: number;
    model: string | null;
    now: number;
  },
): Promise<boolean> {
  const r = await conn
    .insertInto("ledger")
    .values({
      id: newId("led", row.now),
      owner_id: row.ownerId,
      key_id: row.keyId,
      task_id: row.taskId,
      kind: row.kind,
      amount: row.amount,
      model: row.model,
      created_at: row.now,
    })
    .onConflict((oc) => oc.columns(["task_id", "kind"]).doNothing())
    .executeTakeFirst();
  return (r.numInsertedOrUpdatedRows ?? 0n) > 0n;
}

/** Credits back to the owner: raises the balance and lowers "used" by the same amount. */
async function giveBack(conn: Conn, ownerId: string, amount: number): Promise<void> {
  await conn
    .updateTable("accounts")
    .set((eb) => ({ balance: eb("balance", "+", amount), used: eb("used", "-", amount) }))
    .where("owner_id", "=", ownerId)
    .execute();
}

export function createSqlAccounts(db: Kysely<DB>): Accounts {
  /** What the task's charge still holds: the charge less any settlement. */
  async function held(conn: Conn, taskId: string) {
    const rows = await conn
      .selectFrom("ledger")
      .select(["kind", "amount", "owner_id", "key_id", "model"])
      .where("task_id", "=", taskId)
      .execute();
    const charge = rows.find((r) => r.kind === "charge");
    if (!charge) return undefined;
    const returned = rows.filter((r) => r.kind !== "charge").reduce((s, r) => s + r.amount, 0);
    return {
      ownerId: charge.owner_id,
      keyId: charge.key_id,
      model: charge.model,
      left: -charge.amount - returned,
      refunded: rows.some((r) => r.kind === "refund"),
    };
  }

  const get = async (ownerId: string): Promise<Account> => {
    const r = await db.selectFrom("accounts").selectAll().where("owner_id", "=", ownerId).executeTakeFirst();
    return { ownerId, balance: r?.balance ?? 0, used: r?.used ?? 0, toppedUp: r?.topped_up ?? 0 };
  };

  return {
    async charge({ ownerId, keyId, taskId, model, amount, now }, tx: Tx) {
      const conn = connOf(db, tx);
      await ensure(conn, ownerId);
      // Conditional on the balance, in one statement: concurrent creates cannot overdraw it.
      const r = await conn
        .updateTable("accounts")
        .set((eb) => ({ balance: eb("balance", "-", amount), used: eb("used", "+", amount) }))
        .where("owner_id", "=", ownerId)
        .where("balance", ">=", amount)
        .executeTakeFirst();
      if (r.numUpdatedRows === 0n) return false;
      await record(conn, { ownerId, keyId, taskId, kind: "charge", amount: -amount, model, now });
      return true;
    },

    async refund(taskId, now, tx) {
      const conn = connOf(db, tx);
      const h = await held(conn, taskId);
      if (!h || h.refunded || h.left <= 0) return 0;
      const row = {
        ownerId: h.ownerId,
        keyId: h.keyId,
        taskId,
        kind: "refund",
        amount: h.left,
        model: h.model,
        now,
      };
      if (!(await record(conn, row))) return 0;
      await giveBack(conn, h.ownerId, h.left);
      return h.left;
    },

    async settle(taskId, amount, now, tx) {
      const conn = connOf(db, tx);
      const h = await held(conn, taskId);
      const back = Math.min(amount, h?.left ?? 0);
      if (!h || back <= 0) return 0;
      const row = {
        ownerId: h.ownerId,
        keyId: h.keyId,
        taskId,
        kind: "settle",
        amount: back,
        model: h.model,
        now,
      };
      if (!(await record(conn, row))) return 0;
      await giveBack(conn, h.ownerId, back);
      return back;
    },

    async topUp(ownerId, amount, now) {
      await db.transaction().execute(async (trx) => {
        await ensure(trx, ownerId);
        await trx
          .updateTable("accounts")
          .set((eb) => ({ balance: eb("balance", "+", amount), topped_up: eb("topped_up", "+", amount) }))
          .where("owner_id", "=", ownerId)
          .execute();
        await record(trx, { ownerId, keyId: null, taskId: null, kind: "topup", amount, model: null, now });
      });
      return get(ownerId);
    },

    get,

    async usage(ownerId, { sinceMs }) {
      const day = dialectOf(db).utcDay("created_at");
      const rows = await db
        .selectFrom("ledger")
        .select((eb) => [
          day.as("day"),
          "key_id",
          "model",
          eb.fn
            .sum<number>(
              eb
                .case()
                .when("kind", "=", "charge")
                .then(eb.neg(eb.ref("amount")))
                .else(0)
                .end(),
            )
            .as("charged"),
          eb.fn
            .sum<number>(
              eb.case().when("kind", "in", ["refund", "settle"]).then(eb.ref("amount")).else(0).end(),
            )
            .as("refunded"),
        ])
        .where("owner_id", "=", ownerId)
        .where("created_at", ">=", sinceMs)
        .where("kind", "!=", "topup")
        .groupBy([day, "key_id", "model"])
        .orderBy("day", "desc")
        .execute();
      return rows.map((r) => ({
        day: r.day,
        keyId: r.key_id,
        model: r.model,
        charged: Number(r.charged),
        refunded: Number(r.refunded),
      }));
    },

    async ledgerSum(ownerId) {
      const r = await db
        .selectFrom("ledger")
        .select((eb) => eb.fn.sum<number>("amount").as("s"))
        .where("owner_id", "=", ownerId)
        .executeTakeFirst();
      return Number(r?.s ?? 0);
    },
  };
}
