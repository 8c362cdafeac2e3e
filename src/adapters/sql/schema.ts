/** Table types for Kysely: what the rows look like in the database (JSON columns hold text). */
import type { Compilable, Kysely, Transaction } from "kysely";
import type { Tx } from "../../core/ports.js";

export interface TasksTable {
  id: string;
  owner_id: string;
  status: string;
  progress: number;
  request: string;
  created_at: number;
  status_updated_at: number;
  deadline_at: number;
  attempts: number;
  error: string | null;
  failure_reason: string | null;
  enhanced_prompt: string | null;
  result: string | null;
  published: number;
  cost: string | null;
}

export interface ApiKeysTable {
  id: string;
  owner_id: string;
  name: string;
  hash: string;
  prefix: string;
  created_at: number;
  expires_at: number | null;
  revoked_at: number | null;
  allowed_models: string | null;
  rate_per_min: number | null;
  max_active: number | null;
}

export interface RateBucketsTable {
  bucket: string;
  tokens: number;
  updated_at: number;
}

export interface JobsTable {
  id: string;
  kind: string;
  payload: string;
  /** queued | running | dead */
  status: string;
  run_at: number;
  attempt: number;
  max_attempts: number;
  lease_token: string | null;
  lease_until: number | null;
  last_error: string | null;
  created_at: number;
  updated_at: number;
  interrupted: number;
}

export interface CharactersTable {
  id: string;
  owner_id: string;
  username: string;
  name: string;
  video_key: string;
  start_s: number;
  end_s: number;
  source_task_id: string | null;
  picture_key: string | null;
  public: number;
  created_at: number;
}

export interface IdempotencyKeysTable {
  owner_id: string;
  key: string;
  fingerprint: string;
  task_id: string;
  created_at: number;
}

export interface AccountsTable {
  owner_id: string;
  balance: number;
  used: number;
  topped_up: number;
}

export interface LedgerTable {
  id: string;
  owner_id: string;
  key_id: string | null;
  task_id: string | null;
  kind: string;
  amount: number;
  model: string | null;
  created_at: number;
  attempt: number;
  detail: string | null;
}

export interface WebhookEndpointsTable {
  id: string;
  owner_id: string;
  key_id: string | null;
  url: string;
  events: string | null;
  secret: string;
  created_at: number;
  disabled_at: number | null;
  disabled_reason: string | null;
}

export interface WebhookCallbackSecretsTable {
  owner_id: string;
  secret: string;
  created_at: number;
}

export interface WebhookEventsTable {
  id: string;
  task_id: string;
  owner_id: string;
  type: string;
  payload: string;
  created_at: number;
}

export interface TaskEventsTable {
  task_id: string;
  seq: number;
  type: string;
  /** JSON: the task's changing fields after the change (core/tasks/feed.ts TaskSnapshot). */
  data: string;
  at: number;
}

export interface WebhookDeliveriesTable {
  id: string;
  event_id: string;
  event_type: string;
  task_id: string;
  owner_id: string;
  endpoint_id: string | null;
  url: string;
  status: string;
  attempt_count: number;
  next_attempt_at: number | null;
  created_at: number;
  updated_at: number;
}

export interface WebhookAttemptsTable {
  delivery_id: string;
  attempt: number;
  started_at: number;
  duration_ms: number;
  status_code: number | null;
  error: string | null;
}

export interface UpstreamTasksTable {
  task_id: string;
  channel_id: string;
  upstream_id: string | null;
  /** submitting | polling | done */
  phase: string;
  submitted_at: number;
  next_poll_at: number;
  poll_errors: number;
  fetch_errors: number;
  last_status: string | null;
  deadline_at: number;
}

export interface TaskAttemptsTable {
  task_id: string;
  number: number;
  channel_id: string;
  upstream_id: string | null;
  /** running | completed | failed | cancelled */
  outcome: string;
  error_class: string | null;
  error_code: string | null;
  error_message: string | null;
  /** JSON of the provider's usage figures, when it reported them. */
  usage: string | null;
  started_at: number;
  ended_at: number | null;
  credits: number;
}

export interface ChannelHealthTable {
  channel_id: string;
  failures: number;
  cooldown_until: number;
  last_error: string | null;
  last_failure_at: number | null;
  last_success_at: number | null;
}

export interface StoryboardShotsTable {
  parent_id: string;
  shot_index: number;
  child_id: string;
  created_at: number;
}

/** Finished tasks per bucket and combination of dimensions (core/stats); "" is "none". */
export interface StatsRollupsTable {
  /** minute | hour | day */
  grain: string;
  bucket: number;
  channel: string;
  model: string;
  owner_id: string;
  status: string;
  failure_class: string;
  tasks: number;
  latency_sum_ms: number;
  /** `bin:count` pairs (core/stats/histogram.ts). */
  latency_hist: string;
  held: number;
  charged: number;
  refunded: number;
  provider_cost_usd: number;
}

export interface StatsEventsTable {
  grain: string;
  bucket: number;
  channel: string;
  /** poll | callback */
  kind: string;
  count: number;
}

export interface StatsFinishedTable {
  task_id: string;
  owner_id: string;
  model: string;
  channel: string;
  status: string;
  failure_class: string;
  created_at: number;
  finished_at: number;
  held: number;
  charged: number;
  refunded: number;
  provider_cost_usd: number;
}

export interface StatsStateTable {
  name: string;
  at: number;
  task_id: string;
}

export interface StatsProcessesTable {
  id: string;
  role: string;
  host: string;
  seen_at: number;
}

export interface DB {
  stats_rollups: StatsRollupsTable;
  stats_events: StatsEventsTable;
  stats_finished: StatsFinishedTable;
  stats_state: StatsStateTable;
  stats_processes: StatsProcessesTable;
  storyboard_shots: StoryboardShotsTable;
  upstream_tasks: UpstreamTasksTable;
  task_attempts: TaskAttemptsTable;
  channel_health: ChannelHealthTable;
  webhook_endpoints: WebhookEndpointsTable;
  webhook_callback_secrets: WebhookCallbackSecretsTable;
  webhook_events: WebhookEventsTable;
  webhook_deliveries: WebhookDeliveriesTable;
  webhook_attempts: WebhookAttemptsTable;
  accounts: AccountsTable;
  ledger: LedgerTable;
  rate_buckets: RateBucketsTable;
  idempotency_keys: IdempotencyKeysTable;
  characters: CharactersTable;
  tasks: TasksTable;
  task_events: TaskEventsTable;
  api_keys: ApiKeysTable;
  jobs: JobsTable;
}

export type Conn = Kysely<DB> | Transaction<DB>;

/** The opaque core `Tx` is a Kysely transaction underneath; only this folder opens it up. */
export const wrapTx = (trx: Transaction<DB>): Tx => trx as unknown as Tx;

const afterHooks = new WeakMap<object, (() => void)[]>();

/**
 * Runs `fn` in a Kysely transaction whose after-hooks (see `afterTransaction`) run once it has
 * committed or rolled back. Every `Database.transaction` goes through here.
 */
export async function runTransaction<T>(db: Kysely<DB>, fn: (tx: Tx) => Promise<T>): Promise<T> {
  const hooks: (() => void)[] = [];
  try {
    return await db.transaction().execute((trx) => {
      afterHooks.set(trx, hooks);
      return fn(wrapTx(trx));
    });
  } finally {
    for (const hook of hooks) hook();
  }
}

/**
 * Runs `hook` once `tx` has ended (committed or rolled back), or at once when there is no
 * transaction or it was not opened by `runTransaction`.
 */
export function afterTransaction(tx: Tx | undefined, hook: () => void): void {
  const hooks = tx === undefined ? undefined : afterHooks.get(tx);
  if (hooks) hooks.push(hook);
  else hook();
}
export const connOf = (root: Kysely<DB>, tx: Tx | undefined): Conn =>
  tx === undefined ? root : (tx as unknown as Transaction<DB>);

/** What a precompiled read needs of a synchronous SQLite connection (better-sqlite3's shape). */
export interface SyncReader {
  prepare(sql: string): { all(...params: unknown[]): unknown[] };
}

const readers = new WeakMap<Kysely<DB>, SyncReader>();

/**
 * Gives the embedded database's Kysely instance a second, read-only connection for hot-path
 * reads outside transactions. It is a connection of its own, so it only ever sees committed data
 * (WAL readers take a snapshot per statement), never the half-done transaction that Kysely's one
 * connection may be in the middle of.
 */
export const attachReader = (db: Kysely<DB>, reader: SyncReader): void => {
  readers.set(db, reader);
};

/**
 * A query on the hot path, compiled once instead of on every call. Kysely builds and compiles a
 * query's SQL each time it runs, then queues for its single SQLite connection behind a mutex
 * (≈6 µs for a one-row select, against ≈2.5 µs for the statement itself). This compiles once and
 * swaps in the parameters; outside a transaction on SQLite, it runs the statement on the read-only
 * connection directly. `build` gets placeholder values (in order) and must use each exactly once,
 * as a bound parameter. Only for reads.
 */
export function precompiled<Row, Args extends unknown[]>(
  db: Kysely<DB>,
  build: (db: Kysely<DB>, ...args: Args) => Compilable<Row>,
  placeholders: Args,
): (conn: Conn, ...args: Args) => Promise<Row[]> {
  const compiled = build(db, ...placeholders).compile();
  if (compiled.parameters.length !== placeholders.length) {
    throw new Error(
      `precompiled: ${compiled.sql} binds ${compiled.parameters.length} values, not ${placeholders.length}`,
    );
  }
  const reader = readers.get(db);
  const direct = reader?.prepare(compiled.sql);
  return async (conn, ...args) => {
    if (direct !== undefined && conn === db) return direct.all(...args) as Row[];
    return (await conn.executeQuery<Row>({ ...compiled, parameters: args })).rows;
  };
}
