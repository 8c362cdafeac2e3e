/** Runs the port contracts on the embedded SQLite adapters. */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openSqlite } from "../../src/adapters/sqlite/db.js";
import { createSqlJobQueue } from "../../src/adapters/sqlite/job-queue.js";
import { createSqlTaskStore } from "../../src/adapters/sqlite/task-store.js";
import { createSqlWebhookStore } from "../../src/adapters/sqlite/webhook-store.js";
import { jobQueueContract } from "./job-queue.contract.js";
import { taskStoreContract } from "./task-store.contract.js";
import { webhookStoreContract } from "./webhook-store.contract.js";

async function open() {
  const dir = await mkdtemp(join(tmpdir(), "reelay-contract-"));
  const db = await openSqlite(dir);
  return {
    db,
    queue: createSqlJobQueue(db.kysely, { now: () => 0 }),
    tasks: createSqlTaskStore(db.kysely),
    webhooks: createSqlWebhookStore(db.kysely),
    async close() {
      await db.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

jobQueueContract("sqlite", open);
taskStoreContract("sqlite", open);
webhookStoreContract("sqlite", open);
