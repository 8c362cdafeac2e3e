/**
 * Credits and the ledger in SQL. The unique (task_id, kind, attempt) constraint makes holds,
 * settlements and refunds exactly-once.
 */
import type { Kysely, Selectable } from "kysely";
import type { Account, Accounts, LedgerEntry, LedgerKind } from "../../core/accounts/ports.js";
import { newId } from "../../core/ids.js";
import type { Tx } from "../../core/ports.js";
import { dialectOf } from "./dialect.js";
import { type Conn, connOf, type DB, type LedgerTable } from "./schema.js";

async function ensure(conn: Conn, ownerId: string): Promise<void> {
  await conn
    .insertInto("accounts")
    .values({ owner_id: ownerId, balance: 0, used: 0, topped_up: 0 })
    .onConflict((oc) => oc.column("owner_id").doNothing())
    .execute();
}

/** Writes a ledger row once per (task, kind, attempt); true when this call wrote it. */
async function record(
  conn: Conn,
  row: {
    ownerId: string;
    keyId: string | null;
    taskId: string | null;
    kind: LedgerKind;
    amount: number;
    model: string | null;
    now: number;
    detail?: Readonly<Record<string, unknown>> | undefined;
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
      // The task's own movements; per-attempt ones (failover) would carry their attempt number.
      attempt: 0,
      detail: row.detail === undefined ? null : JSON.stringify(row.detail),
    })
    .onConflict((oc) => oc.columns(["task_id", "kind", "attempt"]).doNothing())
    .executeTakeFirst();
  return (r.numInsertedOrUpdatedRows ?? 0n) > 0n;
}

const KIND_ORDER: Record<LedgerKind, number> = { topup: 0, hold: 1, settle: 2, refund: 3 };

const toEntry = (r: Selectable<LedgerTable>): LedgerEntry => ({
  id: r.id,
  ownerId: r.owner_id,
  keyId: r.key_id,
  taskId: r.task_id,
  kind: r.kind as LedgerKind,
  amount: Number(r.amount),
  model: r.model,
  attempt: Number(r.attempt),
  createdAt: Number(r.created_at),
  detail: r.detail === null ? null : (JSON.parse(r.detail) as Record<string, unknown>),
});

/** Credits back to the owner: raises the balance and lowers "used" by the same amount. */
async function giveBack(conn: Conn, ownerId: string, amount: number): Promise<void> {
  await conn
    .updateTable("accounts")
    .set((eb) => ({ balance: eb("balance", "+", amount), used: eb("used", "-", amount) }))
    .where("owner_id", "=", ownerId)
    .execute();
}

export function createSqlAccounts(db: Kysely<DB>): Accounts {
  /** What the task's hold still holds: the hold less what was released. */
  async function held(conn: Conn, taskId: string) {
    const rows = await conn
      .selectFrom("ledger")
      .select(["kind", "amount", "owner_id", "key_id", "model"])
      .where("task_id", "=", taskId)
      .execute();
    const hold = rows.find((r) => r.kind === "hold");
    if (!hold) return undefined;
    const returned = rows.filter((r) => r.kind !== "hold").reduce((s, r) => s + Number(r.amount), 0);
    return {
      ownerId: hold.owner_id,
      keyId: hold.key_id,
      model: hold.model,
      left: -Number(hold.amount) - returned,
      refunded: rows.some((r) => r.kind === "refund"),
      settled: rows.some((r) => r.kind === "settle"),
    };
  }

  const get = async (ownerId: string): Promise<Account> => {
    const r = await db.selectFrom("accounts").selectAll().where("owner_id", "=", ownerId).executeTakeFirst();
    return { ownerId, balance: r?.balance ?? 0, used: r?.used ?? 0, toppedUp: r?.topped_up ?? 0 };
  };

  return {
    async hold({ ownerId, keyId, taskId, model, amount, now, detail }, tx: Tx) {
      const conn = connOf(db, tx);
      await ensure(conn, ownerId);
      // Conditional on the balance, in one statement: concurrent creates cannot overdraw it.
      const r = await conn
        .updateTable("accounts")
        .set((eb) => ({ balance: eb("balance", "-", amount), used: eb("used", "+", amount) }))
        .where("owner_id", "=", ownerId)
        .where("balance", ">=", amount)
        .executeTakeFirst();
      const after = await conn
        .selectFrom("accounts")
        .select("balance")
        .where("owner_id", "=", ownerId)
        .executeTakeFirst();
      const balance = Number(after?.balance ?? 0);
      if (r.numUpdatedRows === 0n) return { ok: false, balance };
      await record(conn, { ownerId, keyId, taskId, kind: "hold", amount: -amount, model, now, detail });
      return { ok: true, balance };
    },

    async refund(taskId, now, tx) {
      const conn = connOf(db, tx);
      const h = await held(conn, taskId);
      // A settled task's charge is final: it delivered.
      if (!h || h.refunded || h.settled || h.left <= 0) return 0;
      const row = {
        ownerId: h.ownerId,
        keyId: h.keyId,
        taskId,
        kind: "refund" as const,
        amount: h.left,
        model: h.model,
        now,
      };
      if (!(await record(conn, row))) return 0;
      await giveBack(conn, h.ownerId, h.left);
      return h.left;
    },

    async settle({ taskId, release, now, detail }, tx) {
      const conn = connOf(db, tx);
      const h = await held(conn, taskId);
      if (!h || h.settled || h.refunded) return 0;
      // Written even when nothing goes back: the ledger shows every task's settlement.
      const back = Math.max(0, Math.min(release, h.left));
      const row = { ownerId: h.ownerId, keyId: h.keyId, taskId, kind: "settle" as const, amount: back };
      if (!(await record(conn, { ...row, model: h.model, now, detail }))) return 0;
      if (back > 0) await giveBack(conn, h.ownerId, back);
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
                .when("kind", "=", "hold")
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

    async entries(taskId) {
      const rows = await db.selectFrom("ledger").selectAll().where("task_id", "=", taskId).execute();
      // In time order; movements of one millisecond in the order they can happen.
      return rows
        .map(toEntry)
        .sort(
          (a, b) =>
            a.createdAt - b.createdAt || KIND_ORDER[a.kind] - KIND_ORDER[b.kind] || a.attempt - b.attempt,
        );
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
