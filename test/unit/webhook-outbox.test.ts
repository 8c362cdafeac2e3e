/**
 * The webhook outbox on the embedded database: a task's end writes one event and one delivery job
 * per receiver in the caller's transaction; running it again (a retried transaction, a re-run)
 * adds nothing, and a rollback leaves nothing.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, expect, it } from "vitest";
import { createSecretBox } from "../../src/adapters/crypto/secret-box.js";
import { createSqlJobQueue } from "../../src/adapters/queue/sqlite.js";
import { openSqlite, type SqliteDatabase } from "../../src/adapters/sql/sqlite/db.js";
import { createSqlWebhookStore } from "../../src/adapters/sql/webhook-store.js";
import type { JobQueue } from "../../src/core/jobs/ports.js";
import type { TaskEvents } from "../../src/core/tasks/ports.js";
import type { Task } from "../../src/core/tasks/task.js";
import { retryDelayMs } from "../../src/core/webhooks/delivery.js";
import type { WebhookStore } from "../../src/core/webhooks/ports.js";
import { createWebhookOutbox } from "../../src/core/webhooks/webhooks.js";
import { sampleTask } from "../contract/job-queue.contract.js";

let dir: string;
let db: SqliteDatabase;
let store: WebhookStore;
let queue: JobQueue;
let outbox: TaskEvents;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "reelay-outbox-"));
  db = await openSqlite(dir);
  store = createSqlWebhookStore(db.kysely, {
    box: createSecretBox("contract-master-secret-0123456789abcdef", "webhook-secrets"),
  });
  queue = createSqlJobQueue(db.kysely, { now: () => 1000 });
  outbox = createWebhookOutbox({
    store,
    queue,
    clock: { now: () => 1000 },
    view: (t) => ({ id: t.id, status: t.status }),
    maxAttempts: 8,
  });
  await store.insertEndpoint({
    id: "whe_1",
    ownerId: "owner_1",
    keyId: null,
    url: "https://hooks.example.com/a",
    events: null,
    secret: "whsec_x",
    createdAt: 1,
    disabledAt: null,
    disabledReason: null,
  });
});
afterEach(async () => {
  await db.close();
  await rm(dir, { recursive: true, force: true });
});

const ended = (status: Task["status"], callbackUrl?: string): Task => {
  const t = sampleTask("sora-2:task_01k9009g8ef1esae6388chgcpx");
  return { ...t, status, request: { ...t.request, ...(callbackUrl ? { callbackUrl } : {}) } };
};

it("writes one event and a delivery job per receiver, once however often it runs", async () => {
  const task = ended("completed", "https://cb.example.com/x");
  await db.transaction((tx) => outbox.taskEnded(task, tx));
  await db.transaction((tx) => outbox.taskEnded(task, tx));
  const ds = await store.listDeliveries({ taskId: task.id, limit: 10 });
  expect(ds.map((d) => [d.endpointId, d.url, d.status]).sort()).toEqual(
    [
      ["whe_1", "https://hooks.example.com/a", "pending"],
      [null, "https://cb.example.com/x", "pending"],
    ].sort(),
  );
  expect(new Set(ds.map((d) => d.eventId)).size).toBe(1);
  const event = await store.getEvent(ds[0]?.eventId ?? "");
  expect(JSON.parse(event?.payload ?? "{}")).toEqual({
    type: "video.completed",
    timestamp: new Date(1000).toISOString(),
    data: { id: task.id, status: "completed" },
  });
  const jobs = await queue.claim({ limit: 10, leaseMs: 1000, now: 1000, kinds: ["webhook"] });
  expect(
    jobs.map((j) => j.payload).sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b))),
  ).toEqual(
    ds
      .map((d) => ({ kind: "webhook", version: 1, deliveryId: d.id, taskId: task.id }))
      .sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b))),
  );
  expect(jobs.every((j) => j.maxAttempts === 8)).toBe(true);
});

it("writes nothing when the status change rolls back, nor for an unfinished task or an owner without receivers", async () => {
  await expect(
    db.transaction(async (tx) => {
      await outbox.taskEnded(ended("failed"), tx);
      throw new Error("roll back");
    }),
  ).rejects.toThrow("roll back");
  await db.transaction((tx) => outbox.taskEnded(ended("processing"), tx));
  await db.transaction((tx) => outbox.taskEnded({ ...ended("cancelled"), ownerId: "owner_2" }, tx));
  expect(await store.listDeliveries({ limit: 10 })).toEqual([]);
  expect(await queue.claim({ limit: 10, leaseMs: 1000, now: 1000 })).toEqual([]);
});

it("draws each retry wait from 80–120 % of the schedule's", () => {
  expect(retryDelayMs(1000, () => 0)).toBe(800);
  expect(retryDelayMs(1000, () => 0.5)).toBe(1000);
  expect(retryDelayMs(1000, () => 1)).toBe(1200);
});
