/**
 * Each task's feed: a durable, ordered list of its changes (status, progress, attempts, final
 * links), written by the lifecycle in the transaction that makes the change, and read by the live
 * event streams (`GET /v1/videos/{id}/events`, `GET /v1/video/events`). An event's `seq` counts
 * from 1 within its task; a client that reconnects with `Last-Event-ID: n` gets every event after
 * n. Events go with their task when it is deleted.
 */
import type { Clock, Tx } from "../ports.js";
import { isTerminal, type Task } from "./task.js";

/** What changes on a task over its life: the task without what it was created with. */
export type TaskSnapshot = Omit<Task, "id" | "ownerId" | "request" | "createdAt" | "deadlineAt">;

/** The kinds of event: a status reached (`video.<status>`), progress, or a change of attempts. */
export type FeedEventType =
  | "video.pending"
  | "video.processing"
  | "video.completed"
  | "video.failed"
  | "video.cancelled"
  | "video.progress"
  | "video.attempt";

export interface FeedEvent {
  readonly taskId: string;
  /** 1 for the task's first event, then one more for each. */
  readonly seq: number;
  readonly type: FeedEventType;
  /** The task's changing fields just after the change. */
  readonly data: TaskSnapshot;
  readonly at: number;
}

/** Where feeds are kept. */
export interface TaskFeedStore {
  /**
   * Stores `e` unless the task already has an event at `e.seq`; true when this call stored it.
   * The lifecycle calls it in the transaction that changed the task, which holds the task's row:
   * two changes of one task cannot pick the same seq.
   */
  insert(e: FeedEvent, tx: Tx): Promise<boolean>;
  /**
   * Stores `e` as the task's next event (seq one past its newest, 1 for the first) in one
   * statement, unless the feed has ended (a final event): the event as stored, or undefined when
   * nothing was written. Called, like `insert`, in the transaction that changed the task.
   */
  append(e: Omit<FeedEvent, "seq">, tx: Tx): Promise<FeedEvent | undefined>;
  /** The task's newest event; undefined when it has none. */
  last(taskId: string, tx?: Tx): Promise<FeedEvent | undefined>;
  /** The task's events after `seq`, oldest first, at most `limit`. */
  after(taskId: string, seq: number, limit: number): Promise<FeedEvent[]>;
  /** The newest seq of each of `taskIds` that has events (what a shared tail asks each tick). */
  latest(taskIds: readonly string[]): Promise<Map<string, number>>;
  /** Removes the task's events (with the task); how many there were. */
  deleteFor(taskId: string, tx: Tx): Promise<number>;
}

/** Ends a feed: after one of these, nothing more is written for the task. */
export const isFinalEvent = (type: FeedEventType): boolean =>
  type === "video.completed" || type === "video.failed" || type === "video.cancelled";

/**
 * Progress events are coalesced: one is written only when the progress differs from the feed's
 * last event by at least PROGRESS_STEP points, or by anything once PROGRESS_INTERVAL_MS have
 * passed since that event. A task's feed thus holds at most 100 / PROGRESS_STEP progress events
 * per attempt plus one a second, however often a renderer or an upstream reports; the task row
 * keeps the exact figure for queries.
 */
export const PROGRESS_STEP = 5;
export const PROGRESS_INTERVAL_MS = 1000;

export const snapshotOf = (task: Task): TaskSnapshot => {
  const { id: _id, ownerId: _o, request: _r, createdAt: _c, deadlineAt: _d, ...changing } = task;
  return changing;
};

/** A task as it stood at one event of its feed: what it was created with, and the event's state. */
export const taskAt = (task: Task, e: FeedEvent): Task => ({ ...task, ...e.data });

/** A feed's first event: the task's status as it stands. */
const firstEvent = (task: Task, at: number): FeedEvent => ({
  taskId: task.id,
  seq: 1,
  type: `video.${task.status}`,
  data: snapshotOf(task),
  at,
});

/** What is recorded: a status change, a progress report, or a change of the task's attempts. */
export type FeedChange = "status" | "progress" | "attempt";

export interface TaskFeed {
  /**
   * Appends `task` as it is now to its feed, in `tx`; a progress event only under the coalescing
   * rule. The event written, or undefined when none was.
   */
  record(task: Task, change: FeedChange, tx: Tx): Promise<FeedEvent | undefined>;
  /**
   * The first event of a task just stored in `tx` (its feed is empty: nothing is read first, a
   * statement fewer on every create).
   */
  opened(task: Task, tx: Tx): Promise<void>;
  /**
   * Gives a task with an empty feed (one made before feeds existed) one event, its state now, so
   * that a stream of it has something to start from. Harmless when another process does it too.
   */
  backfill(task: Task, tx: Tx): Promise<void>;
  /** Removes the task's feed, in the transaction that deletes the task. */
  forget(taskId: string, tx: Tx): Promise<void>;
}

export function createTaskFeed(deps: { store: TaskFeedStore; clock: Clock }): TaskFeed {
  const { store, clock } = deps;
  const typeOf = (task: Task, change: FeedChange): FeedEventType =>
    change === "progress"
      ? "video.progress"
      : change === "attempt"
        ? "video.attempt"
        : `video.${task.status}`;
  return {
    async record(task, change, tx) {
      // A status or attempt change is always recorded (unless the feed has ended): no read first.
      if (change !== "progress")
        return store.append(
          { taskId: task.id, type: typeOf(task, change), data: snapshotOf(task), at: clock.now() },
          tx,
        );
      const last = await store.last(task.id, tx);
      // Nothing is written after the end: a late progress report of a finished task says nothing.
      if (last && isFinalEvent(last.type)) return undefined;
      const at = clock.now();
      if (last) {
        const moved = Math.abs(task.progress - last.data.progress);
        if (moved === 0 && task.status === last.data.status) return undefined;
        if (moved < PROGRESS_STEP && at - last.at < PROGRESS_INTERVAL_MS) return undefined;
      }
      const e: FeedEvent = {
        taskId: task.id,
        seq: (last?.seq ?? 0) + 1,
        type: typeOf(task, change),
        data: snapshotOf(task),
        at,
      };
      return (await store.insert(e, tx)) ? e : undefined;
    },
    async opened(task, tx) {
      await store.insert(firstEvent(task, clock.now()), tx);
    },
    async backfill(task, tx) {
      if (await store.last(task.id, tx)) return;
      await store.insert(firstEvent(task, clock.now()), tx);
    },
    async forget(taskId, tx) {
      await store.deleteFor(taskId, tx);
    },
  };
}

/** Whether a stream that has sent up to `seq` may stop: the task ended and its feed has nothing after. */
export const feedEnded = (task: Task, pending: readonly FeedEvent[]): boolean =>
  pending.length === 0 && isTerminal(task.status);
