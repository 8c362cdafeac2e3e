/** The SQL stores over the opened database, and billing when prices are configured. */
import { createSqlAccounts } from "../../adapters/sql/accounts.js";
import { createSqlAttemptStore } from "../../adapters/sql/attempt-store.js";
import { createSqlCharacterStore } from "../../adapters/sql/character-store.js";
import { createSqlIdempotencyStore } from "../../adapters/sql/idempotency-store.js";
import { createSqlKeyStore } from "../../adapters/sql/key-store.js";
import { createSqlPruner } from "../../adapters/sql/pruner.js";
import { createSqlRateLimiter } from "../../adapters/sql/rate-limiter.js";
import { createSqlStoryboardStore } from "../../adapters/sql/storyboard-store.js";
import { createSqlTaskStore } from "../../adapters/sql/task-store.js";
import {
  createSqlChannelHealthStore,
  createSqlUpstreamTaskStore,
} from "../../adapters/sql/upstream-store.js";
import { cachingKeyStore } from "../../core/accounts/key_cache.js";
import type { Accounts, KeyStore, RateLimiter } from "../../core/accounts/ports.js";
import type { Billing } from "../../core/catalogue/pricing.js";
import type { CharacterStore } from "../../core/characters/ports.js";
import type { StoryboardStore } from "../../core/storyboards/ports.js";
import type { IdempotencyStore, TaskStore } from "../../core/tasks/ports.js";
import type { RecordPruner } from "../../core/tasks/retention.js";
import type { ChannelHealthStore, TaskAttemptStore, UpstreamTaskStore } from "../../core/upstream/ports.js";
import type { Wiring } from "./context.js";

export interface Stores {
  readonly tasks: TaskStore;
  readonly keys: KeyStore;
  readonly accounts: Accounts;
  /** Credits and prices; null while billing is off. */
  readonly billing: Billing | null;
  readonly idempotency: IdempotencyStore;
  readonly rateLimiter: RateLimiter;
  readonly characters: CharacterStore;
  readonly upstreamTasks: UpstreamTaskStore;
  /** Each task's upstream attempts (failover's lineage). */
  readonly attempts: TaskAttemptStore;
  readonly channelHealth: ChannelHealthStore;
  readonly pruner: RecordPruner;
  /** Which child task each started shot of a storyboard is. */
  readonly storyboards: StoryboardStore;
}

export function openStores({ backends, config, clock }: Wiring): Stores {
  const { kysely } = backends.db;
  const accounts = createSqlAccounts(kysely);
  return {
    tasks: createSqlTaskStore(kysely),
    // Looked-up keys are trusted for a few seconds (README: REELAY_KEY_CACHE_TTL_MS).
    keys: cachingKeyStore(createSqlKeyStore(kysely), { ttlMs: config.keyCacheTtlMs, clock }),
    accounts,
    billing: config.pricing ? { accounts, prices: config.pricing } : null,
    idempotency: createSqlIdempotencyStore(kysely),
    rateLimiter: createSqlRateLimiter(kysely),
    characters: createSqlCharacterStore(kysely),
    upstreamTasks: createSqlUpstreamTaskStore(kysely),
    attempts: createSqlAttemptStore(kysely),
    channelHealth: createSqlChannelHealthStore(kysely),
    pruner: createSqlPruner(kysely),
    storyboards: createSqlStoryboardStore(kysely),
  };
}
