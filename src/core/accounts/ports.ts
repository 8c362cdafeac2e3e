/** Ports: keys, rate limits and credit accounts. */

import type { Tx } from "../ports.js";

export interface ApiKeyRecord {
  readonly id: string;
  readonly ownerId: string;
  readonly name: string;
  /** Hex SHA-256 of the key: the key itself is never stored. */
  readonly hash: string;
  /** First characters of the key, to recognise it in listings. */
  readonly prefix: string;
  readonly createdAt: number;
  /** Epoch ms after which the key no longer works; null: never. */
  readonly expiresAt: number | null;
  /** Epoch ms it was revoked; null: live. */
  readonly revokedAt: number | null;
  /** Models the key may use; null: all. */
  readonly allowedModels: readonly string[] | null;
  /** Requests per minute; null: the configured default (0 there: no limit). */
  readonly ratePerMin: number | null;
  /** Pending + processing tasks the owner may have through this key; null: the default. */
  readonly maxActive: number | null;
}

export interface KeyStore {
  insert(key: ApiKeyRecord): Promise<void>;
  findByHash(hash: string): Promise<ApiKeyRecord | undefined>;
  /** Keys, newest first; an owner's only when `ownerId` is given. */
  list(opts: { ownerId?: string | undefined }): Promise<ApiKeyRecord[]>;
  /** Revokes the key at `now`; the record after, or undefined when there is no such key. */
  revoke(id: string, now: number): Promise<ApiKeyRecord | undefined>;
}

/** A token bucket per key, kept in the shared store so that it holds across processes. */
export interface RateLimiter {
  /**
   * Takes one token from `bucket` (capacity `burst`, refilled at `perMin` a minute). When none is
   * left: `{ ok: false, retryAfterS }`, with nothing taken.
   */
  take(
    bucket: string,
    opts: { perMin: number; burst: number; now: number },
  ): Promise<{ ok: boolean; retryAfterS: number }>;
}

export interface Account {
  readonly ownerId: string;
  /** Credits left. */
  readonly balance: number;
  /** Credits spent (charges minus refunds). Always: balance + used = all top-ups. */
  readonly used: number;
  readonly toppedUp: number;
}

export interface UsageRow {
  /** UTC day, YYYY-MM-DD. */
  readonly day: string;
  readonly keyId: string | null;
  readonly model: string | null;
  readonly charged: number;
  readonly refunded: number;
}

/** A ledger row's kind: a top-up, or a task's hold, its settlement or its refund. */
export type LedgerKind = "topup" | "hold" | "settle" | "refund";

/** One movement of credits. */
export interface LedgerEntry {
  readonly id: string;
  readonly ownerId: string;
  readonly keyId: string | null;
  readonly taskId: string | null;
  readonly kind: LedgerKind;
  /** Signed credits: a hold is negative, a top-up, settlement release or refund positive (or 0). */
  readonly amount: number;
  readonly model: string | null;
  /** The attempt it belongs to; 0 for the task's own hold, settlement and refund. */
  readonly attempt: number;
  readonly createdAt: number;
  /** What the movement was reckoned from (price rule and seconds, the settlement's basis). */
  readonly detail: Readonly<Record<string, unknown>> | null;
}

/**
 * Credits and the ledger. Every change of a balance is a ledger row written in the same
 * transaction; a task has at most one hold, one settlement and one refund per attempt (a unique
 * (task, kind, attempt) constraint; the task's own movements are attempt 0), so no retry or crash
 * can take or return credits twice.
 */
export interface Accounts {
  /**
   * Holds `amount` of the owner's balance for `taskId`: `ok` with the balance after, or not `ok`
   * (nothing written) with the balance that is too short.
   */
  hold(
    e: {
      ownerId: string;
      keyId: string | null;
      taskId: string;
      model: string;
      amount: number;
      now: number;
      detail?: Readonly<Record<string, unknown>>;
    },
    tx: Tx,
  ): Promise<{ ok: boolean; balance: number }>;
  /** Returns what the task still holds (its hold less what was released); 0 when nothing is left or it was refunded before. */
  refund(taskId: string, now: number, tx: Tx): Promise<number>;
  /**
   * Settles the task: records its settlement and releases `release` credits of its hold (at most
   * what it holds; 0 when it delivered all it was held for). Once per task: a second call, or one
   * for a task with no hold, writes nothing and returns 0. Returns what was released.
   */
  settle(
    e: { taskId: string; release: number; now: number; detail?: Readonly<Record<string, unknown>> },
    tx: Tx,
  ): Promise<number>;
  topUp(ownerId: string, amount: number, now: number): Promise<Account>;
  get(ownerId: string): Promise<Account>;
  /** Holds and what came back of them per UTC day, key and model, newest day first. */
  usage(ownerId: string, opts: { sinceMs: number }): Promise<UsageRow[]>;
  /** The task's ledger rows, oldest first. */
  entries(taskId: string): Promise<LedgerEntry[]>;
  /** The sum of the owner's ledger (it must equal the balance). */
  ledgerSum(ownerId: string): Promise<number>;
}
