/**
 * How a render job ends when its attempt does not complete the task: handed back (shutdown),
 * left to another worker (lease lost), dropped (the task was deleted), tried again or failed for
 * good. The lifecycle decides what the task's status becomes; this file does the job's side of
 * it (complete, retry, release, bury) in the same transaction.
 */

import { ErrorCode, isReelayError, ReelayError } from "../errors.js";
import { dropUploads } from "../media/blob_keys.js";
import type { BlobStore } from "../media/ports.js";
import type { Clock, Database, Logger } from "../ports.js";
import type { TaskLifecycle } from "../tasks/lifecycle.js";
import type { Task } from "../tasks/task.js";
import { backoffMs } from "./backoff.js";
import type { ClaimedJob, JobQueue } from "./ports.js";

/** Why a running attempt was aborted: each reason ends differently. */
export class Shutdown extends Error {}
export class LeaseLost extends Error {}
/** The task was deleted while it ran: drop the work quietly. */
export class TaskGone extends Error {}

export interface JobEnder {
  /** The attempt stopped with `reason` (what it threw, or why it was aborted). */
  settle(job: ClaimedJob, task: Task, reason: unknown, log: Logger): Promise<void>;
  /** The task fails for good with `err`; the job is done. */
  finishFailed(job: ClaimedJob, task: Task, err: ReelayError, log: Logger): Promise<void>;
}

export function createJobEnder(deps: {
  db: Database;
  queue: JobQueue;
  blobs: BlobStore;
  lifecycle: TaskLifecycle;
  clock: Clock;
  settings: { readonly backoffBaseMs: number; readonly backoffMaxMs: number };
}): JobEnder {
  const { db, queue, lifecycle, clock, settings } = deps;

  /** A task failed for good: no retry will read its uploads again. */
  const dropUploadsOf = (failed: Task, log: Logger) =>
    dropUploads(deps.blobs, failed, (e) =>
      log.warn({ err: e, taskId: failed.id }, "deleting a failed task's uploads failed"),
    );

  async function finishFailed(job: ClaimedJob, task: Task, err: ReelayError, log: Logger): Promise<void> {
    log.warn({ err, taskId: task.id, code: err.code, message: err.message }, "task failed");
    const failed = await db.transaction(async (tx) => {
      const f = await lifecycle.fail(task, err, tx);
      await queue.complete(job, tx);
      return f;
    });
    if (failed) await dropUploadsOf(failed, log);
  }

  /** Something no ReelayError describes: the task fails as an internal error, the job is buried. */
  async function crashed(job: ClaimedJob, task: Task, reason: unknown, log: Logger): Promise<void> {
    log.error({ err: reason, taskId: task.id, jobId: job.id }, "unexpected error in a render job");
    const failed = await db.transaction(async (tx) => {
      const f = await lifecycle.fail(
        task,
        new ReelayError(ErrorCode.internal, "Internal error while rendering"),
        tx,
      );
      await queue.bury(job, String(reason instanceof Error ? reason.stack : reason), tx);
      return f;
    });
    if (failed) await dropUploadsOf(failed, log);
  }

  async function attemptFailed(job: ClaimedJob, task: Task, err: ReelayError, log: Logger): Promise<void> {
    const now = clock.now();
    const delay = backoffMs(job.attempt, {
      baseMs: settings.backoffBaseMs,
      maxMs: settings.backoffMaxMs,
      retryAfterS: err.retryAfterS,
    });
    const attempt = { number: job.attempt, max: job.maxAttempts, err, retryAt: now + delay };
    const after = await db.transaction(async (tx) => {
      const next = await lifecycle.attemptFailed(task, attempt, tx);
      if (next.kind === "retry") {
        await queue.retry(job, { runAt: now + delay, error: err.message, free: next.free }, tx);
      } else {
        await queue.complete(job, tx);
      }
      return next;
    });
    if (after.kind === "retry") {
      log.warn(
        // `err` carries the cause (e.g. ffmpeg's stderr), which the task's message leaves out.
        { err, taskId: task.id, attempt: job.attempt, code: err.code, retryInMs: delay },
        "attempt failed; will retry",
      );
      return;
    }
    log.warn(
      { err: after.err, taskId: task.id, code: after.err.code, message: after.err.message },
      "task failed",
    );
    if (after.task) await dropUploadsOf(after.task, log);
  }

  return {
    finishFailed,
    async settle(job, task, reason, log) {
      if (reason instanceof TaskGone) {
        await queue.complete(job).catch(() => undefined);
        return;
      }
      if (reason instanceof LeaseLost) {
        // Another worker holds the job now: leave the task to it.
        log.warn({ taskId: task.id, jobId: job.id }, "lease lost; another worker took the job over");
        return;
      }
      if (reason instanceof Shutdown) {
        await db.transaction(async (tx) => {
          await lifecycle.interrupted(task.id, tx);
          await queue.release(job, tx);
        });
        return;
      }
      if (!isReelayError(reason)) return crashed(job, task, reason, log);
      return attemptFailed(job, task, reason, log);
    },
  };
}
