/**
 * The TaskFeedStore contract, and the lifecycle writing feeds through it, on every database: seqs
 * count from 1 per task with no gap or repeat (also when changes of one task race in parallel
 * transactions), progress is coalesced by the documented rule, and a deleted task's feed goes.
 */
import { describe, expect, it } from "vitest";
import type { Database } from "../../src/core/ports.js";
import {
  createTaskFeed,
  type FeedEvent,
  PROGRESS_INTERVAL_MS,
  PROGRESS_STEP,
  snapshotOf,
  type TaskFeedStore,
} from "../../src/core/tasks/feed.js";
import { createTaskLifecycle } from "../../src/core/tasks/lifecycle.js";
import type { TaskStore } from "../../src/core/tasks/ports.js";
import { sampleTask } from "./job-queue.contract.js";

export interface TaskFeedHarness {
  db: Database;
  tasks: TaskStore;
  feeds: TaskFeedStore;
  close(): Promise<void>;
}

const ID = "sora-2:task_01k9009g8ef1esae6388chgcpx";

const event = (taskId: string, seq: number, type: FeedEvent["type"] = "video.progress"): FeedEvent => ({
  taskId,
  seq,
  type,
  data: { ...snapshotOf(sampleTask(taskId)), progress: seq },
  at: 1000 + seq,
});

export function taskFeedContract(name: string, open: () => Promise<TaskFeedHarness>): void {
  describe(`TaskFeedStore contract: ${name}`, () => {
    const withStore = (fn: (h: TaskFeedHarness) => Promise<void>) => async () => {
      const h = await open();
      try {
        await fn(h);
      } finally {
        await h.close();
      }
    };
    const lifecycleOf = (h: TaskFeedHarness, clock: { t: number }) => {
      const c = { now: () => clock.t };
      const feed = createTaskFeed({ store: h.feeds, clock: c });
      return createTaskLifecycle({ tasks: h.tasks, billing: null, clock: c, feed: { feed, db: h.db } });
    };

    it(
      "stores events once per seq and reads them back in order, in pages, newest seq per task",
      withStore(async ({ db, feeds }) => {
        await db.transaction(async (tx) => {
          for (const seq of [1, 2, 3]) expect(await feeds.insert(event("t1", seq), tx)).toBe(true);
          expect(await feeds.insert(event("t2", 1, "video.pending"), tx)).toBe(true);
          // A seq taken is kept as first written.
          expect(await feeds.insert({ ...event("t1", 2), type: "video.failed" }, tx)).toBe(false);
        });
        expect(await feeds.after("t1", 0, 10)).toEqual([event("t1", 1), event("t1", 2), event("t1", 3)]);
        expect(await feeds.after("t1", 1, 1)).toEqual([event("t1", 2)]);
        expect(await feeds.after("t1", 3, 10)).toEqual([]);
        expect(await feeds.last("t1")).toEqual(event("t1", 3));
        expect(await feeds.last("nope")).toBeUndefined();
        // More ids than one query binds: asked in chunks, answered for those that have events.
        const many = [...Array.from({ length: 1200 }, (_, i) => `x${i}`), "t1", "t2"];
        expect(await feeds.latest(many)).toEqual(
          new Map([
            ["t1", 3],
            ["t2", 1],
          ]),
        );
        expect(await db.transaction((tx) => feeds.deleteFor("t1", tx))).toBe(3);
        expect(await feeds.after("t1", 0, 10)).toEqual([]);
        expect(await feeds.latest(["t1", "t2"])).toEqual(new Map([["t2", 1]]));
      }),
    );

    it(
      "the lifecycle records each change with the task's state, and coalesces progress",
      withStore(async (h) => {
        const clock = { t: 10_000 };
        const life = lifecycleOf(h, clock);
        const task = sampleTask(ID);
        await h.db.transaction((tx) => life.open(task, { keyId: null }, tx));
        const started = await h.db.transaction((tx) => life.start(task, 1, tx));
        if (!started) throw new Error("not started");
        // A report every percent, all within one interval: only every PROGRESS_STEP points is kept.
        for (let p = 1; p <= 99; p++) await life.progress(ID, p);
        // The same figure again, or a small move before the interval has passed: nothing.
        await life.progress(ID, 99);
        clock.t += PROGRESS_INTERVAL_MS;
        const at = await life.progress(ID, 98);
        if (!at) throw new Error("no task");
        await h.db.transaction((tx) => life.attemptsChanged(at, tx));
        await h.db.transaction((tx) => life.cancel(ID, tx));
        // After the end nothing is recorded.
        await h.db.transaction((tx) => life.attemptsChanged(at, tx));

        const events = await h.feeds.after(ID, 0, 500);
        expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
        const types = events.map((e) => e.type);
        const progress = events.filter((e) => e.type === "video.progress").map((e) => e.data.progress);
        const expected = Array.from(
          { length: Math.floor(99 / PROGRESS_STEP) },
          (_, i) => (i + 1) * PROGRESS_STEP,
        );
        expect(progress).toEqual([...expected, 98]);
        expect(types.slice(0, 2)).toEqual(["video.pending", "video.processing"]);
        expect(types.slice(-2)).toEqual(["video.attempt", "video.cancelled"]);
        expect(events.at(-1)?.data).toMatchObject({ status: "cancelled", error: { code: "cancelled" } });
        expect(events[1]?.data).toMatchObject({ status: "processing", attempts: 1, progress: 0 });

        // Deleting the task deletes its feed, in the same transaction.
        const gone = await h.tasks.get(ID);
        if (!gone) throw new Error("no task");
        await h.db.transaction((tx) => life.remove(gone, tx));
        expect(await h.feeds.after(ID, 0, 10)).toEqual([]);
      }),
    );

    it(
      "changes of one task racing in parallel transactions get seqs with no gap and no repeat",
      withStore(async (h) => {
        const clock = { t: 10_000 };
        const life = lifecycleOf(h, clock);
        const task = sampleTask(ID);
        await h.db.transaction((tx) => life.open(task, { keyId: null }, tx));
        await h.db.transaction((tx) => life.start(task, 1, tx));
        // Each report moves a whole step: every one is recorded, whichever order they commit in.
        await Promise.all(Array.from({ length: 12 }, (_, i) => life.progress(ID, (i + 1) * PROGRESS_STEP)));
        const events = await h.feeds.after(ID, 0, 100);
        expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
        expect(events.length).toBeGreaterThanOrEqual(3);
        // Backfill leaves a feed that has events alone.
        await h.db.transaction((tx) =>
          createTaskFeed({ store: h.feeds, clock: { now: () => 1 } }).backfill(task, tx),
        );
        expect((await h.feeds.after(ID, 0, 100)).length).toBe(events.length);
      }),
    );
  });
}
