/** Runs the port contracts on the embedded SQLite adapters. */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { createSecretBox } from "../../src/adapters/crypto/secret-box.js";
import { createSqlJobQueue } from "../../src/adapters/queue/sqlite.js";
import { createSqlAccounts } from "../../src/adapters/sql/accounts.js";
import { createSqlAttemptStore } from "../../src/adapters/sql/attempt-store.js";
import { createSqlCharacterStore } from "../../src/adapters/sql/character-store.js";
import { createSqlIdempotencyStore } from "../../src/adapters/sql/idempotency-store.js";
import { createSqlKeyStore } from "../../src/adapters/sql/key-store.js";
import { createSqlPruner } from "../../src/adapters/sql/pruner.js";
import { createSqlRateLimiter } from "../../src/adapters/sql/rate-limiter.js";
import { openSqlite } from "../../src/adapters/sql/sqlite/db.js";
import { createSqlStoryboardStore } from "../../src/adapters/sql/storyboard-store.js";
import { createSqlTaskFeedStore } from "../../src/adapters/sql/task-feed-store.js";
import { createSqlTaskStore } from "../../src/adapters/sql/task-store.js";
import {
  createSqlChannelHealthStore,
  createSqlUpstreamTaskStore,
} from "../../src/adapters/sql/upstream-store.js";
import { createSqlWebhookStore } from "../../src/adapters/sql/webhook-store.js";
import { attemptStoreContract } from "./attempt-store.contract.js";
import { jobQueueContract, sampleTask } from "./job-queue.contract.js";
import { keyStoreContract, withKeyCache } from "./key-store.contract.js";
import { sharedStoresContract } from "./shared-stores.contract.js";
import { statsStoreContract } from "./stats-store.contract.js";
import { storyboardStoreContract } from "./storyboard-store.contract.js";
import { taskFeedContract } from "./task-feed.contract.js";
import { taskStoreContract } from "./task-store.contract.js";
import { upstreamStoreContract } from "./upstream-store.contract.js";
import { webhookStoreContract } from "./webhook-store.contract.js";

async function open() {
  const dir = await mkdtemp(join(tmpdir(), "reelay-contract-"));
  const db = await openSqlite(dir);
  return {
    db,
    queue: createSqlJobQueue(db.kysely, { now: () => Date.now() }),
    tasks: createSqlTaskStore(db.kysely),
    feeds: createSqlTaskFeedStore(db.kysely),
    accounts: createSqlAccounts(db.kysely),
    rateLimiter: createSqlRateLimiter(db.kysely),
    idempotency: createSqlIdempotencyStore(db.kysely),
    keys: createSqlKeyStore(db.kysely),
    characters: createSqlCharacterStore(db.kysely),
    pruner: createSqlPruner(db.kysely),
    storyboards: createSqlStoryboardStore(db.kysely),
    upstreamTasks: createSqlUpstreamTaskStore(db.kysely),
    attempts: createSqlAttemptStore(db.kysely),
    channelHealth: createSqlChannelHealthStore(db.kysely),
    webhooks: createSqlWebhookStore(db.kysely, {
      box: createSecretBox("contract-master-secret-0123456789abcdef", "webhook-secrets"),
    }),
    async close() {
      await db.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

jobQueueContract("sqlite", open, { singleProcess: true });
taskStoreContract("sqlite", open);
taskFeedContract("sqlite", open);
sharedStoresContract("sqlite", open);
keyStoreContract("sqlite", open);
keyStoreContract("sqlite, behind the key cache", withKeyCache(open));
webhookStoreContract("sqlite", open);
upstreamStoreContract("sqlite", open);
attemptStoreContract("sqlite", open);
// One process owns an embedded database: a second "process" is the same connection.
statsStoreContract("sqlite", async () => {
  const s = await open();
  return { kysely: s.db.kysely, other: async () => s.db.kysely, close: s.close };
});

describe("embedded task cache", () => {
  it("hands out tasks no caller can change, so a cached task is what the database holds", async () => {
    const s = await open();
    try {
      const id = "sora-2:task_01k9009g8ef1esae6388chgcpx";
      await s.tasks.insert(sampleTask(id));
      const first = await s.tasks.get(id);
      if (!first) throw new Error("task not read back");
      expect(() => {
        (first as { status: string }).status = "completed";
      }).toThrow(TypeError);
      expect(() => {
        (first.request as { prompt: string }).prompt = "changed";
      }).toThrow(TypeError);
      expect(await s.tasks.get(id)).toEqual(sampleTask(id));
    } finally {
      await s.close();
    }
  });
});

describe("webhook secrets at rest", () => {
  it("are stored encrypted, bound to their row, and read back in clear; a foreign key reads as empty", async () => {
    const s = await open();
    try {
      const endpoint = {
        id: "whe_1",
        ownerId: "owner_1",
        keyId: null,
        url: "https://hooks.example.com/a",
        events: null,
        secret: "whsec_plain-endpoint-secret",
        createdAt: 1,
        disabledAt: null,
        disabledReason: null,
      };
      await s.webhooks.insertEndpoint(endpoint);
      await s.webhooks.setCallbackSecret("owner_1", "whsec_plain-callback-secret", 2);
      const raw = await s.db.kysely
        .selectFrom("webhook_endpoints")
        .select("secret")
        .executeTakeFirstOrThrow();
      const rawCb = await s.db.kysely
        .selectFrom("webhook_callback_secrets")
        .select("secret")
        .executeTakeFirstOrThrow();
      expect(raw.secret).toMatch(/^enc1:/);
      expect(rawCb.secret).toMatch(/^enc1:/);
      expect(raw.secret).not.toContain("plain");
      expect((await s.webhooks.getEndpoint("whe_1"))?.secret).toBe("whsec_plain-endpoint-secret");
      expect(await s.webhooks.callbackSecret("owner_1")).toBe("whsec_plain-callback-secret");
      const otherKey = createSqlWebhookStore(s.db.kysely, {
        box: createSecretBox("another-master-secret-0123456789abcdef", "webhook-secrets"),
      });
      expect((await otherKey.getEndpoint("whe_1"))?.secret).toBe("");
      expect(await otherKey.callbackSecret("owner_1")).toBe("");

      // A secret an earlier version stored in clear is read as it is, and sealed at start.
      await s.db.kysely
        .insertInto("webhook_endpoints")
        .values({
          id: "whe_old",
          owner_id: "owner_2",
          key_id: null,
          url: "https://hooks.example.com/old",
          events: null,
          secret: "whsec_legacy-in-clear",
          created_at: 3,
          disabled_at: null,
          disabled_reason: null,
        })
        .execute();
      expect((await s.webhooks.getEndpoint("whe_old"))?.secret).toBe("whsec_legacy-in-clear");
      expect(await s.webhooks.sealLegacySecrets()).toBe(1);
      expect(await s.webhooks.sealLegacySecrets()).toBe(0);
      const sealed = await s.db.kysely
        .selectFrom("webhook_endpoints")
        .select("secret")
        .where("id", "=", "whe_old")
        .executeTakeFirstOrThrow();
      expect(sealed.secret).toMatch(/^enc1:/);
      expect((await s.webhooks.getEndpoint("whe_old"))?.secret).toBe("whsec_legacy-in-clear");
    } finally {
      await s.close();
    }
  });
});
storyboardStoreContract("sqlite", open);
