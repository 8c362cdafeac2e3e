/**
 * Failover's one transaction, on the real SQLite stores, queue and ledger: the attempt ends
 * failed, the task waits again, its pin goes and its render job is enqueued — all or nothing. A
 * failure inside the transaction (here the queue refusing the job) leaves the task as it was,
 * followed on its channel, so the poller decides again; no money moves either way.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createSqlJobQueue } from "../../src/adapters/queue/sqlite.js";
import { createSqlAccounts } from "../../src/adapters/sql/accounts.js";
import { createSqlAttemptStore } from "../../src/adapters/sql/attempt-store.js";
import { openSqlite } from "../../src/adapters/sql/sqlite/db.js";
import { createSqlTaskStore } from "../../src/adapters/sql/task-store.js";
import {
  createSqlChannelHealthStore,
  createSqlUpstreamTaskStore,
} from "../../src/adapters/sql/upstream-store.js";
import type { JobQueue } from "../../src/core/jobs/ports.js";
import { createTaskLifecycle } from "../../src/core/tasks/lifecycle.js";
import { type Channel, createChannelRouter } from "../../src/core/upstream/channels.js";
import { createFailover } from "../../src/core/upstream/failover.js";
import type { UpstreamProvider } from "../../src/core/upstream/ports.js";
import { sampleTask } from "../contract/job-queue.contract.js";

const id = "sora-2:task_01k9009g8ef1esae6388chgcpx";
const why = { class: "upstream_internal" as const, code: "E1", message: "the renderer crashed" };

describe("failover's transaction", () => {
  let dir: string;
  let sqlite: Awaited<ReturnType<typeof openSqlite>>;
  let cancelled: string[];
  let refuseJobs: boolean;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "reelay-failover-"));
    sqlite = await openSqlite(join(dir, "data"));
    cancelled = [];
    refuseJobs = false;
  });
  afterEach(async () => {
    await sqlite.close();
    await rm(dir, { recursive: true, force: true });
  });

  async function setup() {
    const k = sqlite.kysely;
    const clock = { now: () => 5000 };
    const tasks = createSqlTaskStore(k);
    const accounts = createSqlAccounts(k);
    const attempts = createSqlAttemptStore(k);
    const upstreamTasks = createSqlUpstreamTaskStore(k);
    const real = createSqlJobQueue(k, clock);
    // The queue, refusing jobs on demand: a fault inside the failover's transaction.
    const queue: JobQueue = {
      ...real,
      enqueue: (job, tx) => (refuseJobs ? Promise.reject(new Error("queue refused")) : real.enqueue(job, tx)),
    };
    const upstream = {
      kind: "openai",
      cancel: async (upstreamId: string) => void cancelled.push(upstreamId),
    } as unknown as UpstreamProvider;
    const spec = (cid: string) => ({
      id: cid,
      kind: "openai" as const,
      priority: 0,
      weight: 1,
      maxConcurrent: 0,
      models: "*" as const,
      pollIntervalMs: 1000,
      cooldown: { failures: 3, seconds: 60 },
    });
    const channels: Channel[] = [
      { spec: spec("a"), upstream },
      { spec: spec("b"), upstream },
    ];
    const router = createChannelRouter({ channels, health: createSqlChannelHealthStore(k), upstreamTasks });
    const lifecycle = createTaskLifecycle({
      tasks,
      billing: { accounts, prices: { perTask: [], perSecond: { "sora-2-pro": 1 } } },
      clock,
      attempts,
    });
    const failover = createFailover({
      db: sqlite,
      lifecycle,
      upstreamTasks,
      attempts,
      queue,
      router,
      models: new Map(),
      clock,
      logger: { info: () => undefined, warn: () => undefined, error: () => undefined } as never,
      jobMaxAttempts: 3,
    });
    await accounts.topUp("owner_1", 100, 0);
    // A task charged 15, accepted by channel a as up-1 and followed there.
    const task = { ...sampleTask(id), createdAt: 1000, deadlineAt: 1_000_000 };
    await sqlite.transaction((tx) => lifecycle.open(task, { keyId: null }, tx));
    await sqlite.transaction((tx) => lifecycle.start(task, 1, tx));
    await upstreamTasks.begin({ taskId: id, channelId: "a", now: 2000, deadlineAt: 1_000_000 });
    await upstreamTasks.accepted(id, { upstreamId: "up-1", status: "running", nextPollAt: 3000 });
    await sqlite.transaction((tx) =>
      lifecycle.accepted(id, { queued: false, progress: 40, channelId: "a", upstreamId: "up-1" }, tx),
    );
    const row = await upstreamTasks.get(id);
    const running = await tasks.get(id);
    if (!row || !running) throw new Error("setup failed");
    return { tasks, accounts, attempts, upstreamTasks, real, failover, lifecycle, row, running };
  }

  it("ends the attempt, puts the task back in the queue and releases the pin in one commit, moving no money", async () => {
    const s = await setup();
    // The provider reported what it used before failing: kept on the attempt, charged nothing.
    const used = { ...why, usage: { seconds: 3 } };
    expect(await s.failover.tryFailover(s.running, s.row, used, { mayStillRun: true })).toBe(true);
    expect(cancelled).toEqual(["up-1"]);
    expect(await s.tasks.get(id)).toMatchObject({ status: "pending", progress: 0 });
    expect(
      (await s.attempts.list(id)).map((a) => [a.channelId, a.outcome, a.credits, a.error, a.usage]),
    ).toEqual([["a", "failed", 0, why, { seconds: 3 }]]);
    expect(await s.upstreamTasks.get(id)).toBeUndefined();
    expect((await s.real.depth(5000)).queued).toBe(1);
    expect((await s.accounts.get("owner_1")).balance).toBe(85);
  });

  it("a fault inside the transaction leaves everything as it was: still followed on a, the attempt running", async () => {
    const s = await setup();
    refuseJobs = true;
    await expect(s.failover.tryFailover(s.running, s.row, why, { mayStillRun: false })).rejects.toThrow(
      "queue refused",
    );
    expect(await s.tasks.get(id)).toMatchObject({ status: "processing", progress: 40 });
    expect((await s.attempts.list(id)).map((a) => a.outcome)).toEqual(["running"]);
    expect(await s.upstreamTasks.get(id)).toMatchObject({ phase: "polling", channelId: "a" });
    expect((await s.real.depth(5000)).queued).toBe(0);
    expect((await s.accounts.get("owner_1")).balance).toBe(85);
  });

  it("a second poller failing the same attempt over changes nothing: one job, one ended attempt", async () => {
    const s = await setup();
    expect(await s.failover.tryFailover(s.running, s.row, why, { mayStillRun: false })).toBe(true);
    // A poller whose lease ran out meanwhile saw the same failure on the same row.
    expect(await s.failover.tryFailover(s.running, s.row, why, { mayStillRun: false })).toBe(true);
    expect((await s.real.depth(5000)).queued).toBe(1);
    expect((await s.attempts.list(id)).map((a) => a.outcome)).toEqual(["failed"]);
  });

  it("a task cancelled meanwhile is left as it is, still pinned, for the poller to cancel upstream", async () => {
    const s = await setup();
    await sqlite.transaction((tx) => s.lifecycle.cancel(id, tx));
    expect(await s.failover.tryFailover(s.running, s.row, why, { mayStillRun: false })).toBe(true);
    expect(await s.tasks.get(id)).toMatchObject({ status: "cancelled" });
    expect(await s.upstreamTasks.get(id)).toMatchObject({ channelId: "a", phase: "polling" });
    expect((await s.real.depth(5000)).queued).toBe(0);
    expect((await s.attempts.list(id)).map((a) => a.outcome)).toEqual(["cancelled"]);
  });

  it("never fails over the request's classes, nor past the last channel", async () => {
    const s = await setup();
    const policy = { ...why, class: "content_policy" as const };
    expect(await s.failover.tryFailover(s.running, s.row, policy, { mayStillRun: false })).toBe(false);
    const invalid = { ...why, class: "invalid_request" as const };
    expect(await s.failover.tryFailover(s.running, s.row, invalid, { mayStillRun: false })).toBe(false);
    expect(await s.tasks.get(id)).toMatchObject({ status: "processing" });
    // Followed on b after an attempt on a: both channels tried, none is left.
    const onB = { ...s.row, channelId: "b" };
    expect(await s.failover.tryFailover(s.running, onB, why, { mayStillRun: true })).toBe(false);
    expect(cancelled).toEqual([]);
  });
});
