/**
 * The create use case (core/tasks/create.ts): what it checks before a task is made, in which order,
 * and that the request's uploads go whenever no new task is made from them.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, expect, it } from "vitest";
import { createFsBlobStore } from "../../src/adapters/blobs/fs.js";
import { ErrorCode, errors } from "../../src/core/errors.js";
import type { BlobStore } from "../../src/core/media/ports.js";
import { type CreateDeps, type CreateInput, createVideoTask } from "../../src/core/tasks/create.js";
import type { TaskEngine } from "../../src/core/tasks/engine.js";
import { sampleTask } from "../contract/job-queue.contract.js";

let dir: string;
let blobs: BlobStore;
let made: Parameters<TaskEngine["create"]>[];
let reused: boolean;
const task = sampleTask("sora-2:task_01k9009g8ef1esae6388chgcpx");
const upload = "uploads/u1/image.png";

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "reelay-create-"));
  blobs = createFsBlobStore(join(dir, "blobs"));
  await writeFile(join(dir, "img"), "png");
  await blobs.put(upload, join(dir, "img"), "image/png");
  made = [];
  reused = false;
});
afterEach(() => rm(dir, { recursive: true, force: true }));

const deps = (): CreateDeps => ({
  engine: {
    async create(...args) {
      made.push(args);
      return { task, reused };
    },
  },
  characters: { mentioned: async () => [] },
  imageLinks: { check: async () => {} },
  blobs,
});

const input = (over: Partial<CreateInput> = {}): CreateInput => ({
  ownerId: "owner_1",
  key: { keyId: "key_1", allowedModels: null, maxActive: 3 },
  request: { ...task.request, imageKeys: [upload] },
  idempotency: () => undefined,
  requestId: "req-1",
  log: { info: () => {} },
  ...over,
});

it("makes the task with the key's limits and the request id, keeping the uploads", async () => {
  expect(await createVideoTask(deps(), input())).toBe(task);
  expect(made[0]?.[2]).toEqual({ requestId: "req-1", maxActive: 3, keyId: "key_1" });
  expect(await blobs.stat(upload)).toBeDefined();
});

it("a model the key may not use is refused before the idempotency key is read; the uploads go", async () => {
  const key = { keyId: "key_1", allowedModels: ["sora-2"], maxActive: 0 };
  const idempotency = () => {
    throw errors.invalidField("Idempotency-Key", "bad");
  };
  await expect(createVideoTask(deps(), input({ key, idempotency }))).rejects.toMatchObject({
    code: ErrorCode.modelNotAllowed,
  });
  expect(made).toHaveLength(0);
  expect(await blobs.stat(upload)).toBeUndefined();
});

it("an idempotent repeat returns the earlier task and drops this request's uploads", async () => {
  reused = true;
  const idem = { key: "k", fingerprint: "f" };
  expect(await createVideoTask(deps(), input({ idempotency: () => idem }))).toBe(task);
  expect(made[0]?.[2]).toMatchObject({ idempotency: idem });
  expect(await blobs.stat(upload)).toBeUndefined();
});
