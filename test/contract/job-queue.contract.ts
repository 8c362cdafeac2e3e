/**
 * The JobQueue contract: every implementation (embedded SQLite, pg-boss on PostgreSQL) must pass it.
 */
import { describe, expect, it } from "vitest";
import type { JobQueue, NewJob } from "../../src/core/jobs/ports.js";
import type { Database } from "../../src/core/ports.js";
import type { TaskStore } from "../../src/core/tasks/ports.js";
import type { Task } from "../../src/core/tasks/task.js";

export interface QueueHarness {
  queue: JobQueue;
  db: Database;
  tasks: TaskStore;
  close(): Promise<void>;
}

const job = (taskId: string, runAt: number, maxAttempts = 3): NewJob => ({
  payload: { kind: "render", version: 1, taskId },
  runAt,
  maxAttempts,
});

/** Long enough never to expire during a test. */
const LEASE = 60_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Claims until something comes (bounded): time runs on the real clock here, because a shared
 * queue lives by its database's clock, and a lease expires when the queue's maintenance sees it.
 */
async function claimSoon(queue: JobQueue, limit: number, leaseMs: number) {
  const until = Date.now() + 15_000;
  while (Date.now() < until) {
    const got = await queue.claim({ limit, leaseMs, now: Date.now() });
    if (got.length > 0) return got;
    await sleep(100);
  }
  throw new Error("nothing became claimable");
}

export function jobQueueContract(
  name: string,
  open: () => Promise<QueueHarness>,
  opts: { singleProcess: boolean },
): void {
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
        await queue.enqueue(job("t1", Date.now() - 1000));
        const [a, b] = await Promise.all([
          queue.claim({ limit: 5, leaseMs: LEASE, now: Date.now() }),
          queue.claim({ limit: 5, leaseMs: LEASE, now: Date.now() }),
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
        await queue.enqueue(job("later", Date.now() + 1500));
        for (const id of ["a", "b", "c"]) await queue.enqueue(job(id, Date.now() - 1000));
        expect(await queue.claim({ limit: 2, leaseMs: LEASE, now: Date.now() })).toHaveLength(2);
        expect(await queue.claim({ limit: 5, leaseMs: LEASE, now: Date.now() })).toHaveLength(1);
        expect(await queue.claim({ limit: 5, leaseMs: LEASE, now: Date.now() })).toHaveLength(0);
        const [later] = await claimSoon(queue, 1, LEASE);
        expect(later?.payload.taskId).toBe("later");
      }),
    );

    it(
      "an expired lease makes the job claimable again, and the stale holder can no longer finish it",
      withQueue(async ({ queue }) => {
        await queue.enqueue(job("t", Date.now() - 1000));
        const [first] = await queue.claim({ limit: 1, leaseMs: 1000, now: Date.now() });
        expect(await queue.claim({ limit: 1, leaseMs: 1000, now: Date.now() })).toHaveLength(0);
        const [second] = await claimSoon(queue, 1, LEASE);
        // The run whose lease ran out (its worker died) was cut short, not failed: an interruption.
        expect(second).toMatchObject({ attempt: 1, interrupted: 1 });
        if (!first || !second) throw new Error("expected two claims");
        expect(await queue.extendLease(first, { leaseMs: LEASE, now: Date.now() })).toBe(false);
        await queue.complete(first);
        expect((await queue.depth(Date.now())).running).toBe(1);
        expect(await queue.extendLease(second, { leaseMs: LEASE, now: Date.now() })).toBe(true);
        await queue.complete(second);
        expect(await queue.depth(Date.now())).toEqual({ queued: 0, running: 0, dead: 0 });
      }),
    );

    it(
      "leases that keep running out count interruptions, never attempts; failed attempts still count",
      withQueue(async ({ queue }) => {
        await queue.enqueue(job("t", Date.now() - 1000));
        await queue.claim({ limit: 1, leaseMs: 500, now: Date.now() });
        for (let i = 1; i <= 3; i++) {
          // Each holder dies: its lease runs out and the next claimer takes the job over.
          const [next] = await claimSoon(queue, 1, 500);
          expect(next).toMatchObject({ attempt: 1, interrupted: i });
        }
        const [held] = await claimSoon(queue, 1, LEASE);
        expect(held).toMatchObject({ attempt: 1, interrupted: 4 });
        if (!held) throw new Error("no claim");
        await queue.retry(held, { runAt: Date.now() - 1000, error: "flaky" });
        const [after] = await claimSoon(queue, 1, LEASE);
        expect(after).toMatchObject({ attempt: 2, interrupted: 4 });
      }),
    );

    it(
      "extending a lease keeps the job from others",
      withQueue(async ({ queue }) => {
        await queue.enqueue(job("t", Date.now() - 1000));
        const [held] = await queue.claim({ limit: 1, leaseMs: 1500, now: Date.now() });
        if (!held) throw new Error("no claim");
        // Renewed well inside the lease for three lease lengths: nobody else gets the job.
        const until = Date.now() + 4500;
        while (Date.now() < until) {
          expect(await queue.extendLease(held, { leaseMs: 1500, now: Date.now() })).toBe(true);
          expect(await queue.claim({ limit: 1, leaseMs: LEASE, now: Date.now() })).toHaveLength(0);
          await sleep(250);
        }
      }),
    );

    it(
      "retry hands the job back for later with the attempt count kept",
      withQueue(async ({ queue }) => {
        await queue.enqueue(job("t", Date.now() - 1000));
        const [a] = await queue.claim({ limit: 1, leaseMs: LEASE, now: Date.now() });
        if (!a) throw new Error("no claim");
        await queue.retry(a, { runAt: Date.now() + 1500, error: "flaky" });
        expect(await queue.claim({ limit: 1, leaseMs: LEASE, now: Date.now() })).toHaveLength(0);
        const [b] = await claimSoon(queue, 1, LEASE);
        expect(b?.attempt).toBe(2);
        expect(b?.maxAttempts).toBe(3);
      }),
    );

    it(
      "release hands the job back at once without counting the attempt",
      withQueue(async ({ queue }) => {
        await queue.enqueue(job("t", Date.now() - 1000));
        const [a] = await queue.claim({ limit: 1, leaseMs: LEASE, now: Date.now() });
        if (!a) throw new Error("no claim");
        await queue.release(a);
        const [b] = await queue.claim({ limit: 1, leaseMs: LEASE, now: Date.now() });
        expect(b).toMatchObject({ attempt: 1, interrupted: 1 });
      }),
    );

    it(
      "bury moves the job to the dead-letter state, out of reach of claims",
      withQueue(async ({ queue }) => {
        await queue.enqueue(job("t", Date.now() - 1000));
        const [a] = await queue.claim({ limit: 1, leaseMs: LEASE, now: Date.now() });
        if (!a) throw new Error("no claim");
        await queue.bury(a, "bad payload");
        expect(await queue.claim({ limit: 1, leaseMs: LEASE, now: Date.now() + 10_000 })).toHaveLength(0);
        expect(await queue.depth(Date.now())).toEqual({ queued: 0, running: 0, dead: 1 });
      }),
    );

    // Only the embedded mode may hand back every lease at start (it is the only process); a
    // shared queue's releaseAllLeases must leave other processes' leases alone.
    it.runIf(opts.singleProcess)(
      "releaseAllLeases re-queues running jobs at once, without counting the cut attempt",
      withQueue(async ({ queue }) => {
        await queue.enqueue(job("t", Date.now() - 1000));
        const [first] = await queue.claim({ limit: 1, leaseMs: LEASE, now: Date.now() });
        expect(first?.interrupted).toBe(0);
        expect(await queue.releaseAllLeases()).toBe(1);
        const [again] = await queue.claim({ limit: 1, leaseMs: LEASE, now: Date.now() });
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
            await queue.enqueue(job(task.id, Date.now() - 1000), tx);
            throw new Error("roll back");
          }),
        ).rejects.toThrow("roll back");
        expect(await queue.claim({ limit: 5, leaseMs: LEASE, now: Date.now() })).toHaveLength(0);
        expect(await tasks.get(task.id)).toBeUndefined();
      }),
    );

    it(
      "a claim inside a transaction commits with it: rolled back, the job is still there to claim",
      withQueue(async ({ queue, db, tasks }) => {
        const task = sampleTask("sora-2:task_01k9009g8ef1esae6388chgcpx");
        await tasks.insert(task);
        await queue.enqueue(job(task.id, Date.now() - 1000));
        await expect(
          db.transaction(async (tx) => {
            const got = await queue.claim({ limit: 5, leaseMs: LEASE, now: Date.now() }, tx);
            expect(got).toHaveLength(1);
            await tasks.update(task.id, { status: "processing" }, { now: Date.now() }, tx);
            throw new Error("roll back");
          }),
        ).rejects.toThrow("roll back");
        expect((await tasks.get(task.id))?.status).toBe("pending");
        const claimed = await db.transaction(async (tx) => {
          const got = await queue.claim({ limit: 5, leaseMs: LEASE, now: Date.now() }, tx);
          await tasks.update(task.id, { status: "processing" }, { now: Date.now() }, tx);
          return got;
        });
        expect(claimed.map((j) => j.payload)).toEqual([job(task.id, 0).payload]);
        expect((await tasks.get(task.id))?.status).toBe("processing");
        // Held now: nobody else gets it, and it completes like any claimed job.
        expect(await queue.claim({ limit: 5, leaseMs: LEASE, now: Date.now() })).toHaveLength(0);
        const [held] = claimed;
        if (!held) throw new Error("no job claimed");
        await queue.complete(held);
        expect(await queue.depth(Date.now())).toMatchObject({ queued: 0, running: 0 });
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
