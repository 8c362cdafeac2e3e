/**
 * Group commit for the embedded database. SQLite has one writer and Reelay one connection, so
 * transactions already run one after another; each paid its own fsync (synchronous=FULL), and
 * the fsync was the largest single cost of a task (a CPU profile of bench/tasks.ts: a third of
 * the time in COMMIT). Here the transactions that queue up while one runs join it: each runs in
 * a SAVEPOINT of one SQLite transaction, its failure rolls back its savepoint alone, and one
 * COMMIT (one fsync) makes them all durable. No caller hears "done" before that COMMIT has
 * returned, so "a 200 is on disk" still holds; a lone transaction commits at once, as before.
 */
import { type Kysely, sql, type Transaction } from "kysely";
import type { Tx } from "../../../core/ports.js";
import { type DB, runTransaction } from "../schema.js";

interface Member {
  readonly fn: (tx: Tx) => Promise<unknown>;
  readonly resolve: (v: unknown) => void;
  readonly reject: (e: unknown) => void;
  outcome?: { ok: true; value: unknown } | { ok: false; error: unknown };
}

export interface GroupCommitOptions {
  /** Most transactions in one commit. */
  readonly maxMembers: number;
  /**
   * No transaction joins a group that has been open this long: a slow member must not hold
   * back the commit of the ones before it for longer than this (plus its own time).
   */
  readonly maxOpenMs: number;
}

/** Whether the connection is inside a transaction (better-sqlite3's `inTransaction`). */
export interface TransactionState {
  readonly inTransaction: boolean;
}

class GroupRolledBack extends Error {
  override readonly name = "GroupRolledBack";
}

export function createGroupCommit(
  db: Kysely<DB>,
  conn: TransactionState,
  opts: GroupCommitOptions,
): <T>(fn: (tx: Tx) => Promise<T>) => Promise<T> {
  const waiting: Member[] = [];
  let draining = false;

  /** Runs `m` in a savepoint of the group's transaction; false when SQLite ended that transaction. */
  async function runMember(m: Member, tx: Tx): Promise<boolean> {
    const trx = tx as unknown as Transaction<DB>;
    await sql`SAVEPOINT member`.execute(trx);
    try {
      m.outcome = { ok: true, value: await m.fn(tx) };
      await sql`RELEASE member`.execute(trx);
      return true;
    } catch (error) {
      m.outcome = { ok: false, error };
      // Some errors (I/O, disk full) make SQLite roll the whole transaction back: the members
      // before this one are lost with it and must hear so; nothing more may run in autocommit.
      if (!conn.inTransaction) return false;
      await sql`ROLLBACK TO member`.execute(trx);
      await sql`RELEASE member`.execute(trx);
      return true;
    }
  }

  async function commitGroup(): Promise<void> {
    const group: Member[] = [];
    try {
      await runTransaction(db, async (tx) => {
        const opened = performance.now();
        while (group.length < opts.maxMembers) {
          if (group.length > 0 && performance.now() - opened > opts.maxOpenMs) break;
          if (waiting.length === 0) {
            // better-sqlite3 is synchronous: while members run, no other work gets a turn to
            // ask for a transaction. One turn of the event loop lets the ones under way join.
            if (group.length > 0) await new Promise((r) => setImmediate(r));
            if (waiting.length === 0) break;
          }
          const m = waiting.shift() as Member;
          group.push(m);
          if (!(await runMember(m, tx))) throw new GroupRolledBack("SQLite rolled the transaction back");
        }
      });
    } catch (e) {
      // No member ran: the transaction could not begin (the database is closed, or SQLite refused
      // BEGIN). Every waiting caller hears so; retrying would spin on the same refusal for ever.
      if (group.length === 0) group.push(...waiting.splice(0));
      for (const m of group) m.reject(m.outcome?.ok === false ? m.outcome.error : e);
      return;
    }
    for (const m of group) {
      if (m.outcome?.ok) m.resolve(m.outcome.value);
      else m.reject(m.outcome?.error);
    }
  }

  async function drain(): Promise<void> {
    draining = true;
    try {
      while (waiting.length > 0) await commitGroup();
    } finally {
      draining = false;
    }
  }

  return <T>(fn: (tx: Tx) => Promise<T>) =>
    new Promise<T>((resolve, reject) => {
      waiting.push({ fn, resolve: resolve as (v: unknown) => void, reject });
      if (!draining) void drain();
    });
}
