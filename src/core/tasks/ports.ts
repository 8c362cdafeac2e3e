/** Ports: what the task engine needs to keep tasks and idempotency records, and to hear of their changes. */

import type { Tx } from "../ports.js";
import type { FeedEvent } from "./feed.js";
import type { Task, TaskCost, TaskError, TaskResult, TaskStatus } from "./task.js";

export interface TaskPatch {
  status?: TaskStatus;
  progress?: number;
  attempts?: number;
  error?: TaskError | null;
  failureReason?: string | null;
  enhancedPrompt?: string | null;
  result?: TaskResult | null;
  /** The task's money after a ledger movement written in the same transaction. */
  cost?: TaskCost | null;
}

export interface TaskStore {
  /** Stores a new task. */
  insert(task: Task, tx?: Tx): Promise<void>;
  /** The task, whoever owns it; undefined when there is none. */
  get(id: string, tx?: Tx): Promise<Task | undefined>;
  /**
   * Applies `patch` if the task's current status is one of `onlyFrom` (when given) and its
   * deadline is after `beforeDeadline` (when given). Sets `statusUpdatedAt` to `now` when the
   * status changes. Returns the updated task, or undefined when the task does not exist or was not
   * in an allowed status or past that deadline (nothing written).
   */
  update(
    id: string,
    patch: TaskPatch,
    opts: { now: number; onlyFrom?: readonly TaskStatus[]; beforeDeadline?: number },
    tx?: Tx,
  ): Promise<Task | undefined>;
  /** Counts tasks per status (for health and metrics). */
  countByStatus(): Promise<Record<TaskStatus, number>>;
  /**
   * One page of an owner's tasks ordered by creation time (then id), starting after the task
   * `after` (exclusive) when given, only those in `status` when given. Asks for `limit` rows.
   */
  listForOwner(
    ownerId: string,
    opts: {
      after?: { createdAt: number; id: string };
      limit: number;
      order: "asc" | "desc";
      status?: TaskStatus | undefined;
    },
  ): Promise<Task[]>;
  /** Completed published tasks (the public gallery), newest first, after the cursor task when given. */
  listPublished(opts: { after?: { createdAt: number; id: string }; limit: number }): Promise<Task[]>;
  /** Any owner's tasks, newest first, filtered by status and owner when given (admin search). */
  search(opts: {
    status?: TaskStatus | undefined;
    ownerId?: string | undefined;
    limit: number;
  }): Promise<Task[]>;
  /** The owner's tasks that are pending or processing. */
  countActive(ownerId: string, tx?: Tx): Promise<number>;
  /** Removes a task; true when it existed. */
  delete(id: string, tx?: Tx): Promise<boolean>;
}

export interface IdempotencyRecord {
  readonly fingerprint: string;
  readonly taskId: string;
  readonly createdAt: number;
}

/** Idempotency keys of creates: one task per (owner, key) within the retention window. */
export interface IdempotencyStore {
  find(ownerId: string, key: string, tx?: Tx): Promise<IdempotencyRecord | undefined>;
  /** Records the key; false when another request recorded it first (nothing written). */
  insert(ownerId: string, key: string, record: IdempotencyRecord, tx?: Tx): Promise<boolean>;
  remove(ownerId: string, key: string, tx?: Tx): Promise<void>;
}

/**
 * Hears of every task that reaches a final status (completed, failed, cancelled), inside the
 * transaction that puts it there: what it writes (the webhook outbox) commits with the status.
 */
export interface TaskEvents {
  taskEnded(task: Task, tx: Tx): Promise<void>;
  /**
   * The task's feed recorded a progress event (already coalesced, see feed.ts), inside the
   * transaction that wrote it: the outbox for endpoints that asked for `video.progress`.
   */
  taskProgressed?(task: Task, event: FeedEvent, tx: Tx): Promise<void>;
}
