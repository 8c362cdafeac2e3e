/** The UpstreamTaskStore and ChannelHealthStore contracts, run on every database. */
import { describe, expect, it } from "vitest";
import type { ChannelHealthStore, UpstreamTaskStore } from "../../src/core/upstream/ports.js";

export function upstreamStoreContract(
  name: string,
  open: () => Promise<{
    upstreamTasks: UpstreamTaskStore;
    channelHealth: ChannelHealthStore;
    close(): Promise<void>;
  }>,
) {
  describe(`UpstreamTaskStore contract: ${name}`, () => {
    it("pins a task: submitting, accepted, polled when due, finished; refused creates are dropped", async () => {
      const { upstreamTasks: s, close } = await open();
      try {
        await s.begin({ taskId: "t1", channelId: "a", now: 1000, deadlineAt: 9_000_000 });
        expect(await s.get("t1")).toMatchObject({ phase: "submitting", channelId: "a", upstreamId: null });
        expect(await s.inFlight()).toEqual(new Map([["a", 1]]));
        await s.drop("t1");
        expect(await s.get("t1")).toBeUndefined();

        await s.begin({ taskId: "t2", channelId: "b", now: 1000, deadlineAt: 9_000_000 });
        await s.accepted("t2", { upstreamId: "up-2", status: "pending", nextPollAt: 2000 });
        // An accepted task is never dropped as a refused one would be.
        await s.drop("t2");
        expect(await s.get("t2")).toMatchObject({
          phase: "polling",
          upstreamId: "up-2",
          lastStatus: "pending",
        });
        expect(await s.claimDue({ limit: 10, now: 1999, leaseMs: 5000 })).toEqual([]);
        const due = await s.claimDue({ limit: 10, now: 2000, leaseMs: 5000 });
        expect(due.map((r) => r.taskId)).toEqual(["t2"]);
        // Leased: not due again until the lease ends.
        expect(await s.claimDue({ limit: 10, now: 6000, leaseMs: 5000 })).toEqual([]);
        await s.saveMany([
          { taskId: "t2", nextPollAt: 3000, pollErrors: 2, fetchErrors: 1, lastStatus: "processing" },
        ]);
        expect(await s.get("t2")).toMatchObject({
          nextPollAt: 3000,
          pollErrors: 2,
          fetchErrors: 1,
          lastStatus: "processing",
        });
        await s.saveMany([
          { taskId: "t2", nextPollAt: 90_000, pollErrors: 0, fetchErrors: 0, lastStatus: "processing" },
        ]);
        // A download in progress holds the task beyond its lease.
        await s.hold("t2", 95_000);
        expect(await s.claimDue({ limit: 10, now: 94_999, leaseMs: 5000 })).toEqual([]);
        expect(await s.releaseAll(4000)).toBe(1);
        expect((await s.claimDue({ limit: 10, now: 4000, leaseMs: 5000 })).map((r) => r.taskId)).toEqual([
          "t2",
        ]);
        // A provider's callback: a polling task scheduled later is due now; one already due, or
        // not polling, is left alone.
        await s.saveMany([
          { taskId: "t2", nextPollAt: 50_000, pollErrors: 0, fetchErrors: 0, lastStatus: "processing" },
        ]);
        expect(await s.expedite("t2", 10_000)).toBe(true);
        expect(await s.get("t2")).toMatchObject({ nextPollAt: 10_000, lastStatus: "processing" });
        expect(await s.expedite("t2", 20_000)).toBe(false);
        expect(await s.get("t2")).toMatchObject({ nextPollAt: 10_000 });
        expect(await s.expedite("none", 10_000)).toBe(false);
        // By the id the channel knows it by.
        await s.saveMany([
          { taskId: "t2", nextPollAt: 50_000, pollErrors: 0, fetchErrors: 0, lastStatus: "processing" },
        ]);
        expect(await s.expediteUpstream("a", "up-2", 10_000)).toBeNull();
        expect(await s.expediteUpstream("b", "up-x", 10_000)).toBeNull();
        expect(await s.expediteUpstream("b", "up-2", 10_000)).toBe("t2");
        expect(await s.get("t2")).toMatchObject({ nextPollAt: 10_000 });
        await s.begin({ taskId: "t3", channelId: "a", now: 1000, deadlineAt: 9_000_000 });
        expect(await s.expedite("t3", 0)).toBe(false);
        expect(await s.get("t3")).toMatchObject({ phase: "submitting" });
        const many = await s.getMany(["t2", "t3", "none"]);
        expect([...many.keys()].sort()).toEqual(["t2", "t3"]);
        expect(many.get("t2")).toMatchObject({ channelId: "b", upstreamId: "up-2" });
        expect(many.get("t3")).toMatchObject({ channelId: "a", upstreamId: null });
        expect(await s.getMany([])).toEqual(new Map());
        await s.drop("t3");
        await s.finish("t2");
        expect(await s.get("t2")).toMatchObject({ phase: "done", channelId: "b", upstreamId: "up-2" });
        expect(await s.inFlight()).toEqual(new Map());
        expect(await s.claimDue({ limit: 10, now: 1e12, leaseMs: 5000 })).toEqual([]);
      } finally {
        await close();
      }
    });

    it("stores times in whole milliseconds, whatever fraction a backoff computed", async () => {
      const { upstreamTasks: s, close } = await open();
      try {
        await s.begin({ taskId: "f1", channelId: "a", now: 1000, deadlineAt: 9_000_000 });
        await s.accepted("f1", { upstreamId: "up-f1", status: null, nextPollAt: 1500.5 });
        expect((await s.get("f1"))?.nextPollAt).toBe(1501);
        expect(await s.claimDue({ limit: 10, now: 1501.25, leaseMs: 1000.5 })).toHaveLength(1);
        expect((await s.get("f1"))?.nextPollAt).toBe(2502);
        await s.saveMany([
          { taskId: "f1", nextPollAt: 4321.7, pollErrors: 1, fetchErrors: 2, lastStatus: "running" },
        ]);
        expect(await s.get("f1")).toMatchObject({ nextPollAt: 4322, pollErrors: 1, fetchErrors: 2 });
        await s.hold("f1", 5000.4);
        expect((await s.get("f1"))?.nextPollAt).toBe(5000);
      } finally {
        await close();
      }
    });

    it("hands each due task to one of several concurrent pollers", async () => {
      const { upstreamTasks: s, close } = await open();
      try {
        for (let i = 0; i < 40; i++) {
          const taskId = `c${String(i).padStart(2, "0")}`;
          await s.begin({ taskId, channelId: "a", now: 0, deadlineAt: 9e12 });
          await s.accepted(taskId, { upstreamId: `u${i}`, status: null, nextPollAt: 100 + i });
        }
        const claims = await Promise.all(
          Array.from({ length: 4 }, () => s.claimDue({ limit: 15, now: 1000, leaseMs: 60_000 })),
        );
        const ids = claims.flat().map((r) => r.taskId);
        expect(ids).toHaveLength(40);
        expect(new Set(ids).size).toBe(40);
      } finally {
        await close();
      }
    });
  });

  describe(`ChannelHealthStore contract: ${name}`, () => {
    it("counts failures, cools down at the threshold (doubling after), and a success clears it", async () => {
      const { channelHealth: h, close } = await open();
      try {
        expect(await h.all()).toEqual(new Map());
        expect(
          await h.failure("a", { error: "HTTP 500", now: 1000, threshold: 2, cooldownMs: 10_000 }),
        ).toMatchObject({
          failures: 1,
          cooldownUntil: 0,
        });
        expect(
          (await h.failure("a", { error: "HTTP 503", now: 2000, threshold: 2, cooldownMs: 10_000 }))
            .cooldownUntil,
        ).toBe(12_000);
        expect(
          (await h.failure("a", { error: "HTTP 503", now: 13_000, threshold: 2, cooldownMs: 10_000 }))
            .cooldownUntil,
        ).toBe(33_000);
        expect((await h.all()).get("a")).toMatchObject({
          failures: 3,
          lastError: "HTTP 503",
          lastFailureAt: 13_000,
        });
        await h.success("a", 40_000);
        expect((await h.all()).get("a")).toMatchObject({
          failures: 0,
          cooldownUntil: 0,
          lastSuccessAt: 40_000,
        });
        // Failures from several processes at once all count.
        await Promise.all(
          Array.from({ length: 5 }, () =>
            h.failure("b", { error: "x", now: 1, threshold: 100, cooldownMs: 1 }),
          ),
        );
        expect((await h.all()).get("b")?.failures).toBe(5);
      } finally {
        await close();
      }
    });
  });
}
