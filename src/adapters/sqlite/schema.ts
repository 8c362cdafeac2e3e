/** Table types for Kysely: what the rows look like in the database (JSON columns hold text). */
import { type Kysely, PostgresAdapter, type Transaction } from "kysely";
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
}

export interface WebhookEndpointsTable {
  id: string;
  owner_id: string;
  key_id: string | null;
  url: string;
  events: string | null;
  secret: string;
  created_at: number;
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

export interface ChannelHealthTable {
  channel_id: string;
  failures: number;
  cooldown_until: number;
  last_error: string | null;
  last_failure_at: number | null;
  last_success_at: number | null;
}

export interface DB {
  upstream_tasks: UpstreamTasksTable;
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
  api_keys: ApiKeysTable;
  jobs: JobsTable;
}

export type Conn = Kysely<DB> | Transaction<DB>;

/** The opaque core `Tx` is a Kysely transaction underneath; only this folder opens it up. */
export const wrapTx = (trx: Transaction<DB>): Tx => trx as unknown as Tx;
export const connOf = (root: Kysely<DB>, tx: Tx | undefined): Conn =>
  tx === undefined ? root : (tx as unknown as Transaction<DB>);

/** True when `db` talks to PostgreSQL (scale-out mode); the few dialect-specific statements branch on it. */
export const isPostgres = (db: Kysely<DB>): boolean => db.getExecutor().adapter instanceof PostgresAdapter;
