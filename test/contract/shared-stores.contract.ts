/**
 * The contracts of the stores that hold what every process must share: the ledger (a task is
 * charged once and refunded once, whatever is retried), rate-limit buckets, idempotency keys and
 * characters. API keys have their own contract (key-store.contract.ts).
 */
import { describe, expect, it } from "vitest";
import type { Accounts, RateLimiter } from "../../src/core/accounts/ports.js";
import type { CharacterStore } from "../../src/core/characters/ports.js";
import type { Database } from "../../src/core/ports.js";
import type { IdempotencyStore } from "../../src/core/tasks/ports.js";
import type { RecordPruner } from "../../src/core/tasks/retention.js";

export interface SharedStoresHarness {
  db: Database;
  accounts: Accounts;
  rateLimiter: RateLimiter;
  idempotency: IdempotencyStore;
  characters: CharacterStore;
  pruner: RecordPruner;
  close(): Promise<void>;
}

const T0 = 1_700_000_000_000;

export function sharedStoresContract(name: string, open: () => Promise<SharedStoresHarness>): void {
  describe(`Accounts, RateLimiter, IdempotencyStore, CharacterStore contract: ${name}`, () => {
    it("characters: a username is taken once; read back by id and by usernames", async () => {
      const { characters, close } = await open();
      try {
        const c = {
          id: "char_1",
          ownerId: "o1",
          username: "cat.one",
          name: "Cat",
          videoKey: "characters/char_1/video.mp4",
          startS: 1.25,
          endS: 3.5,
          sourceTaskId: null,
          pictureKey: "characters/char_1/picture.jpg",
          public: true,
          createdAt: T0,
        };
        expect(await characters.insert(c)).toBe(true);
        expect(await characters.insert({ ...c, id: "char_2" })).toBe(false);
        expect(await characters.get("char_1")).toEqual(c);
        expect(await characters.get("char_2")).toBeUndefined();
        expect(await characters.findByUsernames(["cat.one", "dog"])).toEqual([c]);
        expect(await characters.findByUsernames([])).toEqual([]);
      } finally {
        await close();
      }
    });

    it("hold, settle and refund are once per task; the ledger sums to the balance", async () => {
      const { db, accounts, close } = await open();
      try {
        await accounts.topUp("o", 100, 1);
        const hold = { ownerId: "o", keyId: "k", taskId: "t1", model: "sora-2", amount: 30, now: 2 };
        expect(await db.transaction((tx) => accounts.hold(hold, tx))).toEqual({ ok: true, balance: 70 });
        const settle = { taskId: "t1", release: 10, now: 3 };
        expect(await db.transaction((tx) => accounts.settle(settle, tx))).toBe(10);
        expect(await db.transaction((tx) => accounts.settle(settle, tx))).toBe(0);
        // A settled task delivered: its charge is final, no refund follows.
        expect(await db.transaction((tx) => accounts.refund("t1", 4, tx))).toBe(0);
        expect(await accounts.get("o")).toEqual({ ownerId: "o", balance: 80, used: 20, toppedUp: 100 });
        expect(await accounts.ledgerSum("o")).toBe(80);
        // A hold bigger than the balance writes nothing, and says what the balance is.
        expect(
          await db.transaction((tx) => accounts.hold({ ...hold, taskId: "t2", amount: 81 }, tx)),
        ).toEqual({ ok: false, balance: 80 });
        expect(await accounts.ledgerSum("o")).toBe(80);
        expect(await accounts.entries("t2")).toEqual([]);
        // A refund inside a transaction that rolls back leaves no trace.
        await db.transaction((tx) => accounts.hold({ ...hold, taskId: "t3" }, tx));
        await expect(
          db.transaction(async (tx) => {
            await accounts.refund("t3", 6, tx);
            throw new Error("crash before commit");
          }),
        ).rejects.toThrow("crash");
        expect((await accounts.get("o")).balance).toBe(50);
        expect(await db.transaction((tx) => accounts.refund("t3", 7, tx))).toBe(30);
        expect(await db.transaction((tx) => accounts.refund("t3", 8, tx))).toBe(0);
        expect(await accounts.ledgerSum("o")).toBe((await accounts.get("o")).balance);
        // Concurrent holds cannot overdraw: 80 left, ten holds of 15 at once, five succeed.
        const results = await Promise.all(
          Array.from({ length: 10 }, (_, i) =>
            db.transaction((tx) => accounts.hold({ ...hold, taskId: `c${i}`, amount: 15 }, tx)),
          ),
        );
        expect(results.filter((r) => r.ok)).toHaveLength(5);
        expect(await accounts.get("o")).toMatchObject({ balance: 5, used: 95 });
        const usage = await accounts.usage("o", { sinceMs: 0 });
        expect(usage).toEqual([
          { day: "1970-01-01", keyId: "k", model: "sora-2", charged: 30 + 30 + 75, refunded: 10 + 30 },
        ]);
      } finally {
        await close();
      }
    });

    it("a task's ledger: its hold with what it was priced from, one settlement (even of 0), no refund after", async () => {
      const { db, accounts, close } = await open();
      try {
        await accounts.topUp("o", 50, 1);
        const detail = { rule: "per_second", seconds: 10 };
        await db.transaction((tx) =>
          accounts.hold(
            { ownerId: "o", keyId: null, taskId: "t", model: "m", amount: 20, now: 2, detail },
            tx,
          ),
        );
        // Delivered all it was held for: nothing goes back, but the settlement is on the ledger.
        const settle = { taskId: "t", release: 0, now: 3, detail: { charged: 20 } };
        expect(await db.transaction((tx) => accounts.settle(settle, tx))).toBe(0);
        expect(await db.transaction((tx) => accounts.settle({ ...settle, release: 5 }, tx))).toBe(0);
        // A settled task is not refunded (a delete after delivery keeps its charge).
        expect(await db.transaction((tx) => accounts.refund("t", 4, tx))).toBe(0);
        const entries = await accounts.entries("t");
        expect(entries.map((e) => [e.kind, e.amount, e.attempt, e.detail])).toEqual([
          ["hold", -20, 0, detail],
          ["settle", 0, 0, { charged: 20 }],
        ]);
        expect(entries[0]).toMatchObject({
          ownerId: "o",
          keyId: null,
          taskId: "t",
          model: "m",
          createdAt: 2,
        });
        expect(await accounts.get("o")).toMatchObject({ balance: 30, used: 20 });
        // No settlement for a task that holds nothing.
        expect(await db.transaction((tx) => accounts.settle({ ...settle, taskId: "none" }, tx))).toBe(0);
        expect(await accounts.entries("none")).toEqual([]);
        expect(await accounts.ledgerSum("o")).toBe(30);
      } finally {
        await close();
      }
    });

    it("a rate-limit bucket hands out its burst once, however many take at once", async () => {
      const { rateLimiter, close } = await open();
      try {
        const now = 1_700_000_000_000;
        const takes = await Promise.all(
          Array.from({ length: 12 }, () => rateLimiter.take("key_1", { perMin: 5, burst: 5, now })),
        );
        expect(takes.filter((t) => t.ok)).toHaveLength(5);
        expect(takes.find((t) => !t.ok)?.retryAfterS).toBe(12);
        // A minute later, five more tokens.
        const later = await rateLimiter.take("key_1", { perMin: 5, burst: 5, now: now + 60_000 });
        expect(later.ok).toBe(true);
      } finally {
        await close();
      }
    });

    it("prune: spent idempotency keys and idle rate buckets go, recent ones stay", async () => {
      const { idempotency, rateLimiter, pruner, close } = await open();
      try {
        const rec = (taskId: string, createdAt: number) => ({ fingerprint: "f", taskId, createdAt });
        await idempotency.insert("o", "old", rec("t1", T0));
        await idempotency.insert("o", "new", rec("t2", T0 + 10_000));
        await rateLimiter.take("idle", { perMin: 60, burst: 2, now: T0 });
        await rateLimiter.take("busy", { perMin: 60, burst: 2, now: T0 + 10_000 });
        const cut = T0 + 5000;
        const pruned = await pruner.prune({
          idempotencyBefore: cut,
          rateBucketsBefore: cut,
          webhooksBefore: cut,
        });
        expect(pruned).toMatchObject({ idempotencyKeys: 1, rateBuckets: 1, webhookDeliveries: 0 });
        expect(await idempotency.find("o", "old")).toBeUndefined();
        expect(await idempotency.find("o", "new")).toMatchObject({ taskId: "t2" });
        // Nothing left to prune: a second run deletes nothing.
        expect(
          await pruner.prune({ idempotencyBefore: cut, rateBucketsBefore: cut, webhooksBefore: null }),
        ).toEqual({
          idempotencyKeys: 0,
          rateBuckets: 0,
          upstreamPins: 0,
          storyboardShots: 0,
          webhookDeliveries: 0,
        });
      } finally {
        await close();
      }
    });

    it("an idempotency key is recorded by the first writer only", async () => {
      const { idempotency, close } = await open();
      try {
        const rec = (taskId: string) => ({ fingerprint: "f", taskId, createdAt: 1_700_000_000_000 });
        const wins = await Promise.all(
          ["t1", "t2", "t3"].map((t) => idempotency.insert("o", "same-key", rec(t))),
        );
        expect(wins.filter(Boolean)).toHaveLength(1);
        const found = await idempotency.find("o", "same-key");
        expect(found && ["t1", "t2", "t3"].includes(found.taskId)).toBe(true);
        expect(await idempotency.find("other-owner", "same-key")).toBeUndefined();
        await idempotency.remove("o", "same-key");
        expect(await idempotency.find("o", "same-key")).toBeUndefined();
      } finally {
        await close();
      }
    });
  });
}
