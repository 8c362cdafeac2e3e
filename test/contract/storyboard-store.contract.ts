/**
 * The StoryboardStore contract: a shot's task is recorded once (a second step that raced the
 * first writes nothing), read back in order, inside and outside a transaction; and the queue hands
 * out storyboard jobs to the storyboard runner only.
 */
import { describe, expect, it } from "vitest";
import type { JobQueue } from "../../src/core/jobs/ports.js";
import type { Database } from "../../src/core/ports.js";
import type { StoryboardStore } from "../../src/core/storyboards/ports.js";
import type { TaskStore } from "../../src/core/tasks/ports.js";
import type { RecordPruner } from "../../src/core/tasks/retention.js";
import { sampleTask } from "./job-queue.contract.js";

export interface StoryboardHarness {
  db: Database;
  storyboards: StoryboardStore;
  queue: JobQueue;
  tasks: TaskStore;
  pruner: RecordPruner;
  close(): Promise<void>;
}

const T0 = 1_700_000_000_000;

export function storyboardStoreContract(name: string, open: () => Promise<StoryboardHarness>): void {
  describe(`StoryboardStore contract: ${name}`, () => {
    it("records each shot's task once and reads them back by index", async () => {
      const { storyboards, close } = await open();
      try {
        expect(await storyboards.shots("storyboard:task_a")).toEqual([]);
        expect(
          await storyboards.addShot("storyboard:task_a", { index: 1, childId: "c1", createdAt: T0 }),
        ).toBe(true);
        expect(
          await storyboards.addShot("storyboard:task_a", { index: 0, childId: "c0", createdAt: T0 }),
        ).toBe(true);
        // The same shot again (a second run of one step): nothing is written, the first task stays.
        expect(
          await storyboards.addShot("storyboard:task_a", { index: 1, childId: "other", createdAt: T0 }),
        ).toBe(false);
        await storyboards.addShot("storyboard:task_b", { index: 0, childId: "b0", createdAt: T0 });
        expect(await storyboards.shots("storyboard:task_a")).toEqual([
          { index: 0, childId: "c0" },
          { index: 1, childId: "c1" },
        ]);
        await storyboards.remove("storyboard:task_a");
        expect(await storyboards.shots("storyboard:task_a")).toEqual([]);
        expect(await storyboards.shots("storyboard:task_b")).toEqual([{ index: 0, childId: "b0" }]);
      } finally {
        await close();
      }
    });

    it("a shot written in a rolled-back transaction is not kept", async () => {
      const { db, storyboards, close } = await open();
      try {
        await expect(
          db.transaction(async (tx) => {
            expect(
              await storyboards.addShot("storyboard:task_r", { index: 0, childId: "c0", createdAt: T0 }, tx),
            ).toBe(true);
            expect(await storyboards.shots("storyboard:task_r", tx)).toEqual([{ index: 0, childId: "c0" }]);
            throw new Error("roll back");
          }),
        ).rejects.toThrow("roll back");
        expect(await storyboards.shots("storyboard:task_r")).toEqual([]);
      } finally {
        await close();
      }
    });

    it("prune: the shots of a deleted storyboard go, a living one's stay", async () => {
      const { storyboards, tasks, pruner, close } = await open();
      try {
        await tasks.insert(sampleTask("storyboard:task_alive"));
        await storyboards.addShot("storyboard:task_alive", { index: 0, childId: "a0", createdAt: T0 });
        await storyboards.addShot("storyboard:task_gone", { index: 0, childId: "g0", createdAt: T0 });
        await storyboards.addShot("storyboard:task_gone", { index: 1, childId: "g1", createdAt: T0 });
        const cut = { idempotencyBefore: T0, rateBucketsBefore: T0, webhooksBefore: null };
        expect(await pruner.prune(cut)).toMatchObject({ storyboardShots: 2 });
        expect(await storyboards.shots("storyboard:task_gone")).toEqual([]);
        expect(await storyboards.shots("storyboard:task_alive")).toEqual([{ index: 0, childId: "a0" }]);
        expect(await pruner.prune(cut)).toMatchObject({ storyboardShots: 0 });
      } finally {
        await close();
      }
    });

    it("storyboard jobs go to the storyboard runner only", async () => {
      const { queue, close } = await open();
      try {
        const now = Date.now();
        await queue.enqueue({
          payload: { kind: "storyboard", version: 1, taskId: "storyboard:task_q" },
          runAt: now - 1000,
          maxAttempts: 3,
        });
        expect(await queue.claim({ limit: 5, leaseMs: 60_000, now, kinds: ["render"] })).toEqual([]);
        const [job, ...more] = await queue.claim({ limit: 5, leaseMs: 60_000, now, kinds: ["storyboard"] });
        expect(more).toEqual([]);
        expect(job?.payload).toEqual({ kind: "storyboard", version: 1, taskId: "storyboard:task_q" });
        if (job) await queue.complete(job);
      } finally {
        await close();
      }
    });
  });
}
