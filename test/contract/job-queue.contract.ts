/**
 * The JobQueue contract: every implementation (embedded SQLite now, PostgreSQL later) must pass it.
 */
import { describe, expect, it } from "vitest";
import type { Database, JobQueue, NewJob, TaskStore } from "../../src/core/ports.js";
import type { Task } from "../../src/core/task.js";

export interface QueueHarness {
  queue: JobQueue;
  db: Database;
  tasks: TaskStore;
  close(): Promise<void>;
}

const job = (taskId: string, runAt = 0, maxAttempts = 3): NewJob => ({
  payload: { kind: "render", version: 1, taskId },
  runAt,
  maxAttempts,
});

export function jobQueueContract(name: string, open: () => Promise<QueueHarness>): void {
  describe(`JobQueue contract: ${name}`, () => {
    const withQueue = (fn: (h: QueueHarness) => Promise<void>) => async () => {
      const h = await open();
      try {
        await fn(h);
      } finally {
        await h.close();
      }
    };

    it(
      "hands a due job to one claimer only, with attempt 1",
      withQueue(async ({ queue }) => {
        await queue.enqueue(job("t1"));
        const [a, b] = await Promise.all([
          queue.claim({ limit: 5, leaseMs: 1000, now: 10 }),
          queue.claim({ limit: 5, leaseMs: 1000, now: 10 }),
        ]);
        const all = [...(a ?? []), ...(b ?? [])];
        expect(all).toHaveLength(1);
        expect(all[0]?.attempt).toBe(1);
        expect(all[0]?.payload).toEqual({ kind: "render", version: 1, taskId: "t1" });
      }),
    );

    it(
      "does not hand out a job before its runAt, and respects the limit",
      withQueue(async ({ queue }) => {
        await queue.enqueue(job("later", 1000));
        for (const id of ["a", "b", "c"]) await queue.enqueue(job(id, 0));
        expect(await queue.claim({ limit: 2, leaseMs: 1000, now: 10 })).toHaveLength(2);
        expect(await queue.claim({ limit: 5, leaseMs: 1000, now: 10 })).toHaveLength(1);
        expect(await queue.claim({ limit: 5, leaseMs: 1000, now: 10 })).toHaveLength(0);
        expect(await queue.claim({ limit: 5, leaseMs: 1000, now: 1000 })).toHaveLength(1);
      }),
    );

    it(
      "an expired lease makes the job claimable again, and the stale holder can no longer finish it",
      withQueue(async ({ queue }) => {
        await queue.enqueue(job("t"));
        const [first] = await queue.claim({ limit: 1, leaseMs: 100, now: 0 });
        expect(await queue.claim({ limit: 1, leaseMs: 100, now: 50 })).toHaveLength(0);
        const [second] = await queue.claim({ limit: 1, leaseMs: 100, now: 200 });
        expect(second?.attempt).toBe(2);
        if (!first || !second) throw new Error("expected two claims");
        expect(await queue.extendLease(first, { leaseMs: 100, now: 210 })).toBe(false);
        await queue.complete(first);
        expect((await queue.depth(210)).running).toBe(1);
        expect(await queue.extendLease(second, { leaseMs: 100, now: 210 })).toBe(true);
        await queue.complete(second);
        expect(await queue.depth(210)).toEqual({ queued: 0, running: 0, dead: 0 });
      }),
    );

    it(
      "extending a lease keeps the job from others",
      withQueue(async ({ queue }) => {
        await queue.enqueue(job("t"));
        const [held] = await queue.claim({ limit: 1, leaseMs: 100, now: 0 });
        if (!held) throw new Error("no claim");
        expect(await queue.extendLease(held, { leaseMs: 100, now: 90 })).toBe(true);
        expect(await queue.claim({ limit: 1, leaseMs: 100, now: 150 })).toHaveLength(0);
      }),
    );

    it(
      "retry hands the job back for later with the attempt count kept",
      withQueue(async ({ queue }) => {
        await queue.enqueue(job("t"));
        const [a] = await queue.claim({ limit: 1, leaseMs: 100, now: 0 });
        if (!a) throw new Error("no claim");
        await queue.retry(a, { runAt: 500, error: "flaky" });
        expect(await queue.claim({ limit: 1, leaseMs: 100, now: 400 })).toHaveLength(0);
        const [b] = await queue.claim({ limit: 1, leaseMs: 100, now: 500 });
        expect(b?.attempt).toBe(2);
        expect(b?.maxAttempts).toBe(3);
      }),
    );

    it(
      "release hands the job back at once without counting the attempt",
      withQueue(async ({ queue }) => {
        await queue.enqueue(job("t"));
        const [a] = await queue.claim({ limit: 1, leaseMs: 60_000, now: 0 });
        if (!a) throw new Error("no claim");
        await queue.release(a);
        const [b] = await queue.claim({ limit: 1, leaseMs: 100, now: 0 });
        expect(b).toMatchObject({ attempt: 1, interrupted: 1 });
      }),
    );

    it(
      "bury moves the job to the dead-letter state, out of reach of claims",
      withQueue(async ({ queue }) => {
        await queue.enqueue(job("t"));
        const [a] = await queue.claim({ limit: 1, leaseMs: 100, now: 0 });
        if (!a) throw new Error("no claim");
        await queue.bury(a, "bad payload");
        expect(await queue.claim({ limit: 1, leaseMs: 100, now: 10_000 })).toHaveLength(0);
        expect(await queue.depth(10_000)).toEqual({ queued: 0, running: 0, dead: 1 });
      }),
    );

    it(
      "releaseAllLeases re-queues running jobs at once, without counting the cut attempt",
      withQueue(async ({ queue }) => {
        await queue.enqueue(job("t"));
        const [first] = await queue.claim({ limit: 1, leaseMs: 60_000, now: 0 });
        expect(first?.interrupted).toBe(0);
        expect(await queue.releaseAllLeases()).toBe(1);
        const [again] = await queue.claim({ limit: 1, leaseMs: 100, now: 1 });
        expect(again?.attempt).toBe(1);
        expect(again?.interrupted).toBe(1);
      }),
    );

    it(
      "an enqueue inside a transaction that rolls back leaves no job and no task",
      withQueue(async ({ queue, db, tasks }) => {
        const task = sampleTask("sora-2:task_01k9009g8ef1esae6388chgcpx");
        await expect(
          db.transaction(async (tx) => {
            await tasks.insert(task, tx);
            await queue.enqueue(job(task.id), tx);
            throw new Error("roll back");
          }),
        ).rejects.toThrow("roll back");
        expect(await queue.claim({ limit: 5, leaseMs: 100, now: 10 })).toHaveLength(0);
        expect(await tasks.get(task.id)).toBeUndefined();
      }),
    );

    it(
      "claims only the kinds asked for, so one runner's backlog cannot starve another's",
      withQueue(async ({ queue }) => {
        for (const id of ["r1", "r2"]) await queue.enqueue(job(id, 0));
        await queue.enqueue({
          payload: { kind: "webhook", version: 1, deliveryId: "whd_1", taskId: "r1" },
          runAt: 5,
          maxAttempts: 8,
        });
        const hooks = await queue.claim({ limit: 1, leaseMs: 1000, now: 10, kinds: ["webhook"] });
        expect(hooks.map((j) => j.payload)).toEqual([
          { kind: "webhook", version: 1, deliveryId: "whd_1", taskId: "r1" },
        ]);
        expect(await queue.claim({ limit: 5, leaseMs: 1000, now: 10, kinds: ["webhook"] })).toHaveLength(0);
        const renders = await queue.claim({ limit: 5, leaseMs: 1000, now: 10, kinds: ["render"] });
        expect(renders.map((j) => j.payload.kind)).toEqual(["render", "render"]);
        expect(await queue.claim({ limit: 5, leaseMs: 1000, now: 10, kinds: [] })).toHaveLength(0);
      }),
    );
  });
}

export const sampleTask = (id: string, ownerId = "owner_1"): Task => ({
  id,
  ownerId,
  request: {
    api: "unified",
    model: "sora-2-pro",
    family: "sora-2",
    prompt: "a cat",
    orientation: "portrait",
    size: "large",
    width: 1080,
    height: 1920,
    duration: 15,
    images: [],
    imageKeys: [],
    source: null,
    watermark: true,
    private: false,
  },
  status: "pending",
  progress: 0,
  createdAt: 1,
  statusUpdatedAt: 1,
  deadlineAt: 1_000_000,
  attempts: 0,
  error: null,
  failureReason: null,
  enhancedPrompt: null,
  result: null,
});
