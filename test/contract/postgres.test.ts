/**
 * Runs the port contracts on the scale-out adapters: the same Kysely stores on PostgreSQL, and
 * the pg-boss queue, each suite on a database of its own (test/helpers/postgres.ts).
 */

import { createSecretBox } from "../../src/adapters/crypto/secret-box.js";
import { createPgBossQueue, startPgBoss } from "../../src/adapters/queue/pgboss.js";
import { createSqlAccounts } from "../../src/adapters/sql/accounts.js";
import { createSqlAttemptStore } from "../../src/adapters/sql/attempt-store.js";
import { createSqlCharacterStore } from "../../src/adapters/sql/character-store.js";
import { createSqlIdempotencyStore } from "../../src/adapters/sql/idempotency-store.js";
import { createSqlKeyStore } from "../../src/adapters/sql/key-store.js";
import { openPostgres } from "../../src/adapters/sql/postgres/db.js";
import { createSqlPruner } from "../../src/adapters/sql/pruner.js";
import { createSqlRateLimiter } from "../../src/adapters/sql/rate-limiter.js";
import { createSqlStoryboardStore } from "../../src/adapters/sql/storyboard-store.js";
import { createSqlTaskFeedStore } from "../../src/adapters/sql/task-feed-store.js";
import { createSqlTaskStore } from "../../src/adapters/sql/task-store.js";
import {
  createSqlChannelHealthStore,
  createSqlUpstreamTaskStore,
} from "../../src/adapters/sql/upstream-store.js";
import { createSqlWebhookStore } from "../../src/adapters/sql/webhook-store.js";
import { createTestDatabase } from "../helpers/postgres.js";
import { attemptStoreContract } from "./attempt-store.contract.js";
import { jobQueueContract } from "./job-queue.contract.js";
import { keyStoreContract, withKeyCache } from "./key-store.contract.js";
import { sharedStoresContract } from "./shared-stores.contract.js";
import { statsStoreContract } from "./stats-store.contract.js";
import { storyboardStoreContract } from "./storyboard-store.contract.js";
import { taskFeedContract } from "./task-feed.contract.js";
import { taskStoreContract } from "./task-store.contract.js";
import { upstreamStoreContract } from "./upstream-store.contract.js";
import { webhookStoreContract } from "./webhook-store.contract.js";

async function open() {
  const database = await createTestDatabase();
  const db = await openPostgres({ url: database.url, poolSize: 10 });
  const boss = await startPgBoss({
    db: db.kysely,
    maintenanceIntervalS: 1,
    onError: (e) => {
      throw e;
    },
  });
  return {
    db,
    queue: createPgBossQueue({ boss, db: db.kysely }),
    tasks: createSqlTaskStore(db.kysely),
    feeds: createSqlTaskFeedStore(db.kysely),
    accounts: createSqlAccounts(db.kysely),
    rateLimiter: createSqlRateLimiter(db.kysely),
    idempotency: createSqlIdempotencyStore(db.kysely),
    keys: createSqlKeyStore(db.kysely),
    characters: createSqlCharacterStore(db.kysely),
    pruner: createSqlPruner(db.kysely),
    storyboards: createSqlStoryboardStore(db.kysely),
    webhooks: createSqlWebhookStore(db.kysely, {
      box: createSecretBox("contract-master-secret-0123456789abcdef", "webhook-secrets"),
    }),
    upstreamTasks: createSqlUpstreamTaskStore(db.kysely),
    attempts: createSqlAttemptStore(db.kysely),
    channelHealth: createSqlChannelHealthStore(db.kysely),
    async close() {
      await boss.stop({ graceful: false, close: false });
      await db.close();
      await database.drop();
    },
  };
}

jobQueueContract("postgres + pg-boss", open, { singleProcess: false });
taskStoreContract("postgres", open);
taskFeedContract("postgres", open);
sharedStoresContract("postgres", open);
keyStoreContract("postgres", open);
keyStoreContract("postgres, behind the key cache", withKeyCache(open));
upstreamStoreContract("postgres", open);
attemptStoreContract("postgres", open);
webhookStoreContract("postgres", open);
storyboardStoreContract("postgres + pg-boss", open);
// Each roller on a pool of its own, as two processes sharing the database.
statsStoreContract("postgres", async () => {
  const database = await createTestDatabase();
  const db = await openPostgres({ url: database.url, poolSize: 4 });
  const others: { close(): Promise<void> }[] = [];
  return {
    kysely: db.kysely,
    async other() {
      const second = await openPostgres({ url: database.url, poolSize: 4 });
      others.push(second);
      return second.kysely;
    },
    async close() {
      for (const x of others) await x.close();
      await db.close();
      await database.drop();
    },
  };
});
