/**
 * Creating and reading tasks. A task row and its render job are written in one transaction:
 * there is never a task without a job to run it, nor a job without its task.
 */

import { errors } from "../errors.js";
import { newTaskId } from "../ids.js";
import type { JobQueue } from "../jobs/ports.js";
import { dropUploads, taskPrefixFor, uploadKeysOf } from "../media/blob_keys.js";
import type { BlobStore } from "../media/ports.js";
import type { Clock, Database, Tx } from "../ports.js";
import { newTask, type TaskLifecycle } from "./lifecycle.js";
import type { IdempotencyStore, TaskStore } from "./ports.js";
import { isPublished, type Task, type TaskResult, type TaskStatus, type VideoRequest } from "./task.js";

export interface EngineSettings {
  /** Attempts per task, the first included. */
  readonly maxAttempts: number;
  /** A task not finished this long after creation fails with `task_timeout`. */
  readonly taskTimeoutS: number;
}

export interface TaskEngine {
  /**
   * Stores a task and its job in one transaction. With an idempotency key seen (for this owner)
   * in the last 24 h: the same fingerprint returns the earlier task (`reused`), another one is
   * `idempotency_conflict`.
   */
  create(
    ownerId: string,
    request: VideoRequest,
    opts?: {
      requestId?: string;
      idempotency?: { key: string; fingerprint: string };
      maxActive?: number;
      /** The API key that pays (for the usage report). */
      keyId?: string;
    },
  ): Promise<{ task: Task; reused: boolean }>;
  /** The task if `ownerId` owns it; otherwise `task_not_found`, exactly as if it did not exist. */
  getOwned(ownerId: string, id: string): Promise<Task>;
  /**
   * A page of the owner's tasks, only those in `status` when given; `after` is a task id of theirs
   * (else `invalid_request` on `after`).
   */
  list(
    ownerId: string,
    opts: {
      after?: string | undefined;
      limit: number;
      order: "asc" | "desc";
      status?: TaskStatus | undefined;
    },
  ): Promise<{ tasks: Task[]; hasMore: boolean }>;
  /**
   * A finished video to start a new one from (remix, edit, extend): the caller's own, or (for a
   * remix) a published one. 404 when the caller may not see it, `video_private` when it is
   * private, `video_not_ready` until it is completed.
   */
  source(
    ownerId: string,
    id: string,
    kind: "remix" | "edit" | "extend",
  ): Promise<Task & { result: TaskResult }>;
  /**
   * Cancels a pending or running task of the owner's: it ends `cancelled` at once and its work
   * stops. A task already finished is `task_not_cancellable`.
   */
  cancel(ownerId: string, id: string): Promise<Task>;
  /** Admin search over every owner's tasks. */
  search(opts: {
    status?: TaskStatus | undefined;
    ownerId?: string | undefined;
    limit: number;
  }): Promise<Task[]>;
  /** Any task by id, whoever owns it: for lineage and internal reads, never to answer a caller directly. */
  peek(id: string): Promise<Task | undefined>;
  /** The public gallery: completed published videos, newest first. */
  gallery(opts: { after?: string | undefined; limit: number }): Promise<{ tasks: Task[]; hasMore: boolean }>;
  /**
   * Deletes the task and every file stored for it (results and uploads). A render still running
   * notices at its next progress report and stops; its output is discarded.
   */
  remove(ownerId: string, id: string): Promise<void>;
}

export const IDEMPOTENCY_WINDOW_MS = 24 * 3600 * 1000;

export function createTaskEngine(deps: {
  db: Database;
  tasks: TaskStore;
  idempotency: IdempotencyStore;
  /** Every status change of a task goes through it (with its money and event). */
  lifecycle: TaskLifecycle;
  queue: JobQueue;
  blobs: BlobStore;
  clock: Clock;
  settings: EngineSettings;
  /** Called after a job commits, to wake a local worker without waiting for its next poll. */
  onEnqueued: () => void;
  /** Called after a task is cancelled or deleted, to stop a render this process runs for it. */
  onStopped: (taskId: string) => void;
}): TaskEngine {
  const { db, tasks, lifecycle, queue, blobs, clock, settings, idempotency } = deps;
  const getOwned = async (ownerId: string, id: string): Promise<Task> => {
    const task = await tasks.get(id);
    if (!task || task.ownerId !== ownerId) throw errors.taskNotFound(id);
    return task;
  };
  /**
   * One page after the task `after` (which `visible` must accept), fetched one row long to learn
   * whether more follow.
   */
  const page = async (
    after: string | undefined,
    limit: number,
    visible: (t: Task) => boolean,
    what: string,
    fetch: (cursor: { after?: { createdAt: number; id: string } }) => Promise<Task[]>,
  ): Promise<{ tasks: Task[]; hasMore: boolean }> => {
    let cursor: { after?: { createdAt: number; id: string } } = {};
    if (after !== undefined) {
      const t = await tasks.get(after);
      if (!t || !visible(t)) throw errors.invalidField("after", `'after' is not ${what}: ${after}`);
      cursor = { after: { createdAt: t.createdAt, id: t.id } };
    }
    const rows = await fetch(cursor);
    return { tasks: rows.slice(0, limit), hasMore: rows.length > limit };
  };

  /**
   * The task made first under this idempotency key (this owner's, in the last 24 h), when the
   * request is the same (else `idempotency_conflict`); undefined when the key is new, and now
   * recorded for `taskId` in `tx`.
   */
  async function underKey(
    ownerId: string,
    idem: { key: string; fingerprint: string },
    taskId: string,
    now: number,
    tx: Tx,
  ): Promise<Task | undefined> {
    /** The task made first under this key: this request's answer, if it is the same request. */
    const first = async (prior: { fingerprint: string; taskId: string }) => {
      if (prior.fingerprint !== idem.fingerprint) throw errors.idempotencyConflict(idem.key);
      const earlier = await tasks.get(prior.taskId, tx);
      // The first task may have been deleted since: then the key is spent.
      if (!earlier) throw errors.idempotencyConflict(idem.key);
      return earlier;
    };
    const prior = await idempotency.find(ownerId, idem.key, tx);
    if (prior && prior.createdAt > now - IDEMPOTENCY_WINDOW_MS) return first(prior);
    if (prior) await idempotency.remove(ownerId, idem.key, tx);
    const won = await idempotency.insert(
      ownerId,
      idem.key,
      { fingerprint: idem.fingerprint, taskId, createdAt: now },
      tx,
    );
    if (won) return undefined;
    // A concurrent create recorded the key between our read and our write (PostgreSQL).
    // The insert waited for that transaction to commit, and each statement reads what is
    // committed (READ COMMITTED), so its task is there to return: the same answer a retry
    // would get. Only if it is not (a rolled-back winner leaves no row) is the client asked
    // to retry.
    const winner = await idempotency.find(ownerId, idem.key, tx);
    if (winner) return first(winner);
    throw errors.idempotencyInProgress(idem.key);
  }

  return {
    async create(ownerId, request, opts = {}) {
      const now = clock.now();
      const task = newTask({
        id: newTaskId(request.family, now),
        ownerId,
        request,
        now,
        deadlineAt: now + settings.taskTimeoutS * 1000,
      });
      // As stored: with its cost when billing is on.
      let opened = task;
      const reused = await db.transaction(async (tx) => {
        if (opts.idempotency) {
          const earlier = await underKey(ownerId, opts.idempotency, task.id, now, tx);
          if (earlier) return earlier;
        }
        // Counted inside the transaction: concurrent creates cannot both slip under the limit.
        if (opts.maxActive && (await tasks.countActive(ownerId, tx)) >= opts.maxActive) {
          throw errors.tooManyActiveTasks(opts.maxActive);
        }
        opened = await lifecycle.open(task, { keyId: opts.keyId ?? null }, tx);
        await queue.enqueue(
          {
            payload: {
              // A storyboard is moved on by its own job (core/storyboards), which makes its shots.
              kind: request.storyboard ? "storyboard" : "render",
              version: 1,
              taskId: task.id,
              ...(opts.requestId ? { requestId: opts.requestId } : {}),
            },
            runAt: now,
            maxAttempts: settings.maxAttempts,
          },
          tx,
        );
        return undefined;
      });
      if (reused) return { task: reused, reused: true };
      deps.onEnqueued();
      return { task: opened, reused: false };
    },

    getOwned,

    list: (ownerId, { after, limit, order, status }) =>
      page(
        after,
        limit,
        (t) => t.ownerId === ownerId,
        "one of your videos",
        (cursor) => tasks.listForOwner(ownerId, { ...cursor, limit: limit + 1, order, status }),
      ),

    async source(ownerId, id, kind) {
      const task = await tasks.get(id);
      const visible = task && (task.ownerId === ownerId || (kind === "remix" && isPublished(task.request)));
      if (!task || !visible) throw errors.taskNotFound(id);
      if (task.request.private) throw errors.videoPrivate(id);
      // Its model is no model a channel serves: start from one of its shots (each an ordinary task).
      if (task.request.storyboard)
        throw errors.invalidField(
          "id",
          `A storyboard's film cannot be used for a ${kind}: use one of its shots`,
        );
      if (task.status !== "completed" || !task.result) throw errors.videoNotReady(id, task.status);
      return task as Task & { result: TaskResult };
    },

    peek: (id) => tasks.get(id),
    search: (opts) => tasks.search(opts),

    async cancel(ownerId, id) {
      const task = await getOwned(ownerId, id);
      const cancelled = await db.transaction((tx) => lifecycle.cancel(id, tx));
      if (!cancelled) throw errors.notCancellable(id, task.status);
      deps.onStopped(id);
      // A store failing now leaves them to the task's deletion; the cancel itself is done.
      await dropUploads(blobs, cancelled, () => undefined);
      return cancelled;
    },

    gallery: ({ after, limit }) =>
      page(
        after,
        limit,
        (t) => isPublished(t.request),
        "a video of the gallery",
        (cursor) => tasks.listPublished({ ...cursor, limit: limit + 1 }),
      ),

    async remove(ownerId, id) {
      const task = await getOwned(ownerId, id);
      await db.transaction((tx) => lifecycle.remove(task, tx));
      deps.onStopped(task.id);
      // The task's folder holds every attempt's results (a killed attempt's leftovers too).
      await Promise.all([
        blobs.deleteAll(taskPrefixFor(task.id)),
        ...uploadKeysOf(task.request).map((k) => blobs.delete(k)),
      ]);
    },
  };
}
