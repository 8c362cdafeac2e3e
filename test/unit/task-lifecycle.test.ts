/**
 * The task lifecycle on a real (SQLite) task store and ledger: each operation against the state
 * machine, with its money and its event in the transaction of the status write.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createSqlAccounts } from "../../src/adapters/sql/accounts.js";
import { openSqlite } from "../../src/adapters/sql/sqlite/db.js";
import { createSqlTaskStore } from "../../src/adapters/sql/task-store.js";
import type { Accounts } from "../../src/core/accounts/ports.js";
import { ErrorCode, errors } from "../../src/core/errors.js";
import type { Database } from "../../src/core/ports.js";
import { createTaskLifecycle, type TaskLifecycle } from "../../src/core/tasks/lifecycle.js";
import type { TaskStore } from "../../src/core/tasks/ports.js";
import {
  canMove,
  canWrite,
  TASK_STATUSES,
  type Task,
  type TaskResult,
  type TaskStatus,
} from "../../src/core/tasks/task.js";
import { sampleTask } from "../contract/job-queue.contract.js";

const result: TaskResult = {
  videoKey: "tasks/t/a/video.mp4",
  thumbnailKey: "tasks/t/a/thumbnail.jpg",
  spritesheetKey: null,
  width: 1080,
  height: 1920,
  durationS: 10,
  bytes: 1000,
  watermarked: true,
};

describe("state machine", () => {
  it("a write keeps a running task as it is, never a finished one", () => {
    for (const s of TASK_STATUSES) expect(canWrite(s, s)).toBe(s === "pending" || s === "processing");
  });
  it("a write that moves is a move the machine allows", () => {
    for (const from of TASK_STATUSES)
      for (const to of TASK_STATUSES) if (from !== to) expect(canWrite(from, to)).toBe(canMove(from, to));
  });
});

describe("task lifecycle", () => {
  let dir: string;
  let db: Database & { close(): Promise<void> };
  let tasks: TaskStore;
  let accounts: Accounts;
  let ended: Task[];
  let now: number;
  let life: TaskLifecycle;
  const id = "sora-2:task_01k9009g8ef1esae6388chgcpx";
  /** 1 credit a second: the sample task asks for 15 seconds. */
  const prices = { perTask: [], perSecond: { "sora-2-pro": 1 } };

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "reelay-lifecycle-"));
    const sqlite = await openSqlite(join(dir, "data"));
    db = sqlite;
    tasks = createSqlTaskStore(sqlite.kysely);
    accounts = createSqlAccounts(sqlite.kysely);
    ended = [];
    now = 1000;
    life = createTaskLifecycle({
      tasks,
      billing: { accounts, prices },
      clock: { now: () => now },
      events: { taskEnded: async (t) => void ended.push(t) },
    });
    await accounts.topUp("owner_1", 100, 0);
  });
  afterEach(async () => {
    await db.close();
    await rm(dir, { recursive: true, force: true });
  });

  /** A task opened (charged 15) and, unless `status` says otherwise, started. */
  async function opened(status: TaskStatus = "processing"): Promise<Task> {
    const task = { ...sampleTask(id), createdAt: now, deadlineAt: 1_000_000 };
    await db.transaction((tx) => life.open(task, { keyId: null }, tx));
    if (status === "pending") return task;
    const started = await db.transaction((tx) => life.start(task, 1, tx));
    if (!started) throw new Error("not started");
    return started;
  }
  const balance = async () => (await accounts.get("owner_1")).balance;

  it("open charges the price and stores the task pending; short of credits it stores nothing", async () => {
    await opened("pending");
    expect(await balance()).toBe(85);
    expect((await tasks.get(id))?.status).toBe("pending");
    const poor = { ...sampleTask("sora-2:task_01k9009g8ef1esae6388chgcpy", "owner_2"), createdAt: now };
    await expect(db.transaction((tx) => life.open(poor, { keyId: null }, tx))).rejects.toMatchObject({
      code: ErrorCode.insufficientCredits,
    });
    expect(await tasks.get(poor.id)).toBeUndefined();
  });

  it("start marks the task processing with its attempt, also a task already processing (a re-claim)", async () => {
    const task = await opened("pending");
    now = 2000;
    const first = await db.transaction((tx) => life.start(task, 1, tx));
    expect(first).toMatchObject({ status: "processing", attempts: 1, progress: 0, statusUpdatedAt: 2000 });
    const again = await db.transaction((tx) => life.start(task, 2, tx));
    expect(again).toMatchObject({ status: "processing", attempts: 2 });
  });

  it("progress is written while the task runs, without moving its status time; not after it ended", async () => {
    const task = await opened();
    now = 5000;
    expect(await life.progress(id, 40)).toMatchObject({
      progress: 40,
      statusUpdatedAt: task.statusUpdatedAt,
    });
    await db.transaction((tx) => life.cancel(id, tx));
    expect(await life.progress(id, 50)).toBeUndefined();
  });

  it("a render that finished completes the task, settles what was not delivered and records the event", async () => {
    const task = await opened();
    const done = await db.transaction((tx) =>
      life.rendered(task, { result, enhancedPrompt: "a cat, lit", note: null }, tx),
    );
    expect(done).toMatchObject({ status: "completed", progress: 100, result, enhancedPrompt: "a cat, lit" });
    // Asked 15 s, delivered 10 s: 5 credits go back.
    expect(await balance()).toBe(90);
    expect(ended.map((t) => t.status)).toEqual(["completed"]);
    // Ended: nothing moves it again, and nothing is paid twice.
    expect(await db.transaction((tx) => life.fail(task, errors.renderFailed("late"), tx))).toBeUndefined();
    expect(await balance()).toBe(90);
    expect(ended).toHaveLength(1);
  });

  it("the task carries its cost: held at open, settled once on delivery, refunded in full on failure", async () => {
    // Handed the task as it was before open (no cost on the object): the stored hold still settles.
    const task = await opened("pending");
    expect((await tasks.get(id))?.cost).toEqual({
      held: 15,
      charged: null,
      refunded: 0,
      rule: "per_second",
      seconds: 15,
    });
    const done = await db.transaction((tx) => life.delivered(task, { result, enhancedPrompt: "x" }, tx));
    const settled = { held: 15, charged: 10, refunded: 5, billedSeconds: 10, basis: "delivered" };
    expect(done?.cost).toMatchObject(settled);
    expect(ended[0]?.cost).toMatchObject(settled);
    expect((await tasks.get(id))?.cost).toMatchObject(settled);
    // Delivered again (a re-delivery after a crash): nothing moves, nothing is written twice.
    expect(
      await db.transaction((tx) => life.delivered(task, { result, enhancedPrompt: "x" }, tx)),
    ).toBeUndefined();
    expect((await accounts.entries(id)).map((e) => [e.kind, e.amount])).toEqual([
      ["hold", -15],
      ["settle", 5],
    ]);
    expect(await balance()).toBe(90);

    const other = "sora-2:task_01k9009g8ef1esae6388chgcpz";
    await db.transaction((tx) =>
      life.open({ ...sampleTask(other), createdAt: now, deadlineAt: 1_000_000 }, { keyId: null }, tx),
    );
    const failed = await db.transaction((tx) => life.cancel(other, tx));
    expect(failed?.cost).toMatchObject({ held: 15, charged: 0, refunded: 15 });
    expect((await accounts.entries(other)).map((e) => [e.kind, e.amount])).toEqual([
      ["hold", -15],
      ["refund", 15],
    ]);
    expect(await balance()).toBe(90);
  });

  it("a render completes only a processing task; an upstream delivery also a pending one", async () => {
    const task = await opened("pending");
    const none = await db.transaction((tx) =>
      life.rendered(task, { result, enhancedPrompt: "", note: null }, tx),
    );
    expect(none).toBeUndefined();
    const done = await db.transaction((tx) => life.delivered(task, { result, enhancedPrompt: "x" }, tx));
    expect(done?.status).toBe("completed");
  });

  it("fail refunds the whole charge and records the event", async () => {
    const task = await opened();
    const failed = await db.transaction((tx) => life.fail(task, errors.renderFailed("broke"), tx));
    expect(failed).toMatchObject({
      status: "failed",
      error: { code: ErrorCode.renderFailed, message: "broke" },
      failureReason: "broke",
    });
    expect(await balance()).toBe(100);
    expect(ended.map((t) => t.id)).toEqual([id]);
  });

  it("cancel ends a pending or running task, refunded; a finished one stays as it is", async () => {
    await opened("pending");
    const cancelled = await db.transaction((tx) => life.cancel(id, tx));
    expect(cancelled).toMatchObject({ status: "cancelled", error: { code: "cancelled" } });
    expect(await balance()).toBe(100);
    expect(await db.transaction((tx) => life.cancel(id, tx))).toBeUndefined();
    expect(ended).toHaveLength(1);
  });

  it("a failed attempt is retried while attempts and time are left, then fails as retries exhausted", async () => {
    const task = await opened();
    const err = errors.renderFailed("flaky", { retryable: true });
    const retry = await db.transaction((tx) =>
      life.attemptFailed(task, { number: 1, max: 2, err, retryAt: 2000 }, tx),
    );
    expect(retry).toEqual({ kind: "retry", free: false });
    expect(await tasks.get(id)).toMatchObject({
      status: "pending",
      failureReason: "attempt 1 failed: flaky",
    });
    const restarted = await db.transaction((tx) => life.start(task, 2, tx));
    if (!restarted) throw new Error("not restarted");
    const last = await db.transaction((tx) =>
      life.attemptFailed(restarted, { number: 2, max: 2, err, retryAt: 3000 }, tx),
    );
    expect(last.kind).toBe("failed");
    expect(await tasks.get(id)).toMatchObject({
      status: "failed",
      error: { code: ErrorCode.retriesExhausted },
    });
    expect(await balance()).toBe(100);
  });

  it("a failed attempt that only waited for capacity retries for free; past the deadline it fails", async () => {
    const task = await opened();
    const busy = errors.channelsUnavailable("sora-2-pro", "all busy", 5);
    const retry = await db.transaction((tx) =>
      life.attemptFailed(task, { number: 3, max: 3, err: busy, retryAt: 2000 }, tx),
    );
    expect(retry).toEqual({ kind: "retry", free: true });
    const again = await db.transaction((tx) => life.start(task, 3, tx));
    if (!again) throw new Error("not restarted");
    const late = await db.transaction((tx) =>
      life.attemptFailed(again, { number: 3, max: 3, err: busy, retryAt: 2_000_000 }, tx),
    );
    expect(late).toMatchObject({ kind: "failed", err: { code: ErrorCode.retriesExhausted } });
  });

  it("an interrupted attempt puts the task back to pending; an upstream mirrors its status", async () => {
    const task = await opened();
    expect(await db.transaction((tx) => life.interrupted(id, tx))).toMatchObject({
      status: "pending",
      progress: 0,
    });
    await db.transaction((tx) => life.start(task, 1, tx));
    const accepted = await db.transaction((tx) =>
      life.accepted(id, { queued: true, progress: 0, channelId: "a", upstreamId: "up-1" }, tx),
    );
    expect(accepted).toMatchObject({ status: "pending", failureReason: null });
    const running = await life.upstreamRunning(accepted as Task, { queued: false, progress: 42.4 });
    expect(running).toMatchObject({ status: "processing", progress: 42 });
  });

  it("remove deletes the task, refunding one never delivered", async () => {
    const task = await opened();
    expect(await db.transaction((tx) => life.remove(task, tx))).toBe(true);
    expect(await tasks.get(id)).toBeUndefined();
    expect(await balance()).toBe(100);
  });
});
