/** The TaskAttemptStore contract (each accepted upstream submission of a task), run on every database. */
import { describe, expect, it } from "vitest";
import type { Database } from "../../src/core/ports.js";
import type { TaskAttemptStore, UpstreamTaskStore } from "../../src/core/upstream/ports.js";

export function attemptStoreContract(
  name: string,
  open: () => Promise<{
    db: Database;
    attempts: TaskAttemptStore;
    upstreamTasks: UpstreamTaskStore;
    close(): Promise<void>;
  }>,
) {
  describe(`TaskAttemptStore contract: ${name}`, () => {
    it("numbers attempts, ends only the running one, and keeps the provider's error and usage", async () => {
      const { db, attempts: s, close } = await open();
      try {
        expect(await s.list("t1")).toEqual([]);
        const first = await db.transaction((tx) =>
          s.started({ taskId: "t1", channelId: "a", upstreamId: "up-1", now: 1000.4 }, tx),
        );
        expect(first).toBe(1);
        expect(await s.list("t1")).toEqual([
          {
            number: 1,
            channelId: "a",
            upstreamId: "up-1",
            outcome: "running",
            error: null,
            usage: null,
            startedAt: 1000,
            endedAt: null,
            credits: 0,
          },
        ]);
        const error = { class: "upstream_internal" as const, code: "E500", message: "the renderer crashed" };
        expect(
          await db.transaction((tx) =>
            s.ended("t1", { outcome: "failed", error, credits: 0, now: 2000 }, tx),
          ),
        ).toBe(true);
        // Nothing runs now: a second end changes nothing.
        expect(
          await db.transaction((tx) => s.ended("t1", { outcome: "cancelled", credits: 0, now: 2500 }, tx)),
        ).toBe(false);
        const second = await db.transaction((tx) =>
          s.started({ taskId: "t1", channelId: "b", upstreamId: "up-2", now: 3000 }, tx),
        );
        expect(second).toBe(2);
        await db.transaction((tx) =>
          s.ended(
            "t1",
            { outcome: "completed", usage: { tokens: 1200, seconds: 4 }, credits: 7, now: 4000 },
            tx,
          ),
        );
        const list = await s.list("t1");
        expect(list.map((a) => [a.number, a.channelId, a.outcome, a.credits])).toEqual([
          [1, "a", "failed", 0],
          [2, "b", "completed", 7],
        ]);
        expect(list[0]).toMatchObject({ error, endedAt: 2000 });
        expect(list[1]).toMatchObject({ error: null, usage: { tokens: 1200, seconds: 4 }, endedAt: 4000 });

        await db.transaction((tx) =>
          s.started({ taskId: "t2", channelId: "a", upstreamId: "up-3", now: 10 }, tx),
        );
        const many = await s.listMany(["t1", "t2", "none"]);
        expect([...many.keys()].sort()).toEqual(["t1", "t2"]);
        expect(many.get("t1")?.map((a) => a.number)).toEqual([1, 2]);
        expect(await s.listMany([])).toEqual(new Map());

        await db.transaction((tx) => s.forget("t1", tx));
        expect(await s.list("t1")).toEqual([]);
        expect((await s.list("t2")).length).toBe(1);
      } finally {
        await close();
      }
    });

    it("a rolled-back start leaves no attempt; a long provider message is kept bounded", async () => {
      const { db, attempts: s, close } = await open();
      try {
        await expect(
          db.transaction(async (tx) => {
            await s.started({ taskId: "r1", channelId: "a", upstreamId: "up-1", now: 1 }, tx);
            throw new Error("roll back");
          }),
        ).rejects.toThrow("roll back");
        expect(await s.list("r1")).toEqual([]);
        await db.transaction((tx) =>
          s.started({ taskId: "r1", channelId: "a", upstreamId: "up-1", now: 1 }, tx),
        );
        const message = "x".repeat(10_000);
        await db.transaction((tx) =>
          s.ended("r1", { outcome: "failed", error: { class: "timeout", code: null, message }, now: 2 }, tx),
        );
        const [a] = await s.list("r1");
        expect(a?.error?.message.length).toBe(2000);
        expect(a?.error?.code).toBeNull();
      } finally {
        await close();
      }
    });

    it("a read outside a transaction sees only committed attempts: old while one runs, new after, old after a rollback", async () => {
      const { db, attempts: s, close } = await open();
      try {
        expect(await s.list("c1")).toEqual([]); // read once, so a cache would hold it
        await db.transaction(async (tx) => {
          await s.started({ taskId: "c1", channelId: "a", upstreamId: "up-1", now: 1 }, tx);
          expect((await s.list("c1", tx)).length).toBe(1);
          // Another reader, while the transaction is open, sees what is committed (and may cache it).
          expect(await s.list("c1")).toEqual([]);
        });
        expect((await s.list("c1")).map((a) => a.outcome)).toEqual(["running"]);

        await expect(
          db.transaction(async (tx) => {
            await s.ended("c1", { outcome: "failed", now: 2 }, tx);
            expect((await s.list("c1")).map((a) => a.outcome)).toEqual(["running"]);
            throw new Error("roll back");
          }),
        ).rejects.toThrow("roll back");
        expect((await s.list("c1")).map((a) => a.outcome)).toEqual(["running"]);

        // Reads that overlap a commit never keep what the commit replaced.
        const reads = Array.from({ length: 5 }, () => s.list("c1"));
        await db.transaction((tx) => s.ended("c1", { outcome: "completed", credits: 3, now: 3 }, tx));
        await Promise.all(reads);
        expect((await s.list("c1")).map((a) => [a.outcome, a.credits])).toEqual([["completed", 3]]);
        await db.transaction((tx) => s.forget("c1", tx));
        expect(await s.list("c1")).toEqual([]);
      } finally {
        await close();
      }
    });

    it("a failed-over task's pin is released whatever its phase", async () => {
      const { db, upstreamTasks, close } = await open();
      try {
        await upstreamTasks.begin({ taskId: "p1", channelId: "a", now: 1, deadlineAt: 100 });
        await upstreamTasks.accepted("p1", { upstreamId: "up-1", status: null, nextPollAt: 5 });
        // Pinned elsewhere (another poller failed it over first): nothing changes.
        expect(
          await db.transaction((tx) =>
            upstreamTasks.release("p1", { channelId: "b", upstreamId: "up-1" }, tx),
          ),
        ).toBe(false);
        expect(
          await db.transaction((tx) =>
            upstreamTasks.release("p1", { channelId: "a", upstreamId: "up-2" }, tx),
          ),
        ).toBe(false);
        expect(await upstreamTasks.get("p1")).toMatchObject({ phase: "polling" });
        expect(
          await db.transaction((tx) =>
            upstreamTasks.release("p1", { channelId: "a", upstreamId: "up-1" }, tx),
          ),
        ).toBe(true);
        expect(await upstreamTasks.get("p1")).toBeUndefined();
        // A pin whose create got no answer (no upstream id) is released as such.
        await upstreamTasks.begin({ taskId: "p2", channelId: "a", now: 1, deadlineAt: 100 });
        expect(
          await db.transaction((tx) => upstreamTasks.release("p2", { channelId: "a", upstreamId: null }, tx)),
        ).toBe(true);
      } finally {
        await close();
      }
    });
  });
}
