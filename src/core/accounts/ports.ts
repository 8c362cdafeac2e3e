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

/**
 * Credits and the ledger. Every change of a balance is a ledger row written in the same
 * transaction; a task has at most one charge, one settlement and one refund (unique per task),
 * so no retry or crash can charge or refund twice.
 */
export interface Accounts {
  /** Takes `amount` from the owner's balance for `taskId`; false (nothing written) when the balance is short. */
  charge(
    e: { ownerId: string; keyId: string | null; taskId: string; model: string; amount: number; now: number },
    tx: Tx,
  ): Promise<boolean>;
  /** Returns what the task still holds (its charge less what was returned); 0 when nothing is left or it was refunded before. */
  refund(taskId: string, now: number, tx: Tx): Promise<number>;
  /** Returns `amount` of the task's charge (it delivered less than it was charged for); once per task. */
  settle(taskId: string, amount: number, now: number, tx: Tx): Promise<number>;
  topUp(ownerId: string, amount: number, now: number): Promise<Account>;
  get(ownerId: string): Promise<Account>;
  /** Charges and refunds per UTC day, key and model, newest day first. */
  usage(ownerId: string, opts: { sinceMs: number }): Promise<UsageRow[]>;
  /** The sum of the owner's ledger (it must equal the balance). */
  ledgerSum(ownerId: string): Promise<number>;
}
