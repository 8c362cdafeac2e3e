import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { materialiseInputs, removeWorkDir } from "./attempt_inputs.js";
import { backoffMs } from "./backoff.js";
import { dropUploads, newAttemptDir } from "./blob_keys.js";
import { ErrorCode, errors, isReelayError, ReelayError } from "./errors.js";
import { gate } from "./gate.js";
import { type Plan, planJob } from "./job_start.js";
import { renderHere } from "./local_render.js";
import type {
  BlobStore,
  ClaimedJob,
  Clock,
  Database,
  JobQueue,
  Logger,
  TaskEvents,
  TaskStore,
  Telemetry,
  VideoProvider,
  WatermarkRemover,
} from "./ports.js";
import { type Billing, settleDelivered } from "./pricing.js";
import type { Task, VideoRequest } from "./task.js";
import { failTask } from "./task_failure.js";
import type { Dispatcher } from "./upstream_submit.js";

export interface WorkerSettings {
  /** Local renders at once; the rest wait in the queue. */
  readonly concurrency: number;
  /**
   * Jobs that may be sending tasks to upstream channels on top of the renders (a create is a
   * short HTTP call, not a render: it should not wait behind them). Used with a dispatcher only.
   */
  readonly submitConcurrency: number;
  readonly leaseMs: number;
  readonly pollIntervalMs: number;
  readonly backoffBaseMs: number;
  readonly backoffMaxMs: number;
  /** Where each attempt gets a scratch directory (on the same disk as the blob store, so results move, not copy). */
  readonly scratchDir: string;
  /** Minimum time between two progress writes for one task. */
  readonly progressWriteMs: number;
  /** Tries at removing a watermark when the request asks for a clean video (`watermark: false`). */
  readonly watermarkAttempts: number;
}

export interface Worker {
  start(): void;
  /** Looks for work now instead of at the next poll. */
  wake(): void;
  /** Stops the task's running attempt in this process, if there is one (after a cancel or delete). */
  interrupt(taskId: string): void;
  /** Stops taking jobs; aborts running ones and hands them back to the queue. */
  stop(): Promise<void>;
  /** Jobs running in this worker now. */
  readonly active: number;
}

/** Runs are keyed by claim: a job whose lease ran out may be claimed again while its first run goes on. */
const claimKey = (job: ClaimedJob): string => `${job.id}:${job.leaseToken}`;

/** Why a running attempt was aborted: each reason ends differently. */
class Shutdown extends Error {}
class LeaseLost extends Error {}
/** The task was deleted while it ran: drop the work quietly. */
class TaskGone extends Error {}

export function createWorker(deps: {
  db: Database;
  tasks: TaskStore;
  queue: JobQueue;
  blobs: BlobStore;
  providerFor: (request: VideoRequest) => VideoProvider;
  /** The key of a file made by one attempt of a task (blob_keys.ts). */
  blobKey: (taskId: string, attempt: string, file: string) => string;
  clock: Clock;
  logger: Logger;
  telemetry: Telemetry;
  remover: WatermarkRemover;
  /** Credits and prices; null while billing is off. */
  billing: Billing | null;
  /** Sends tasks to upstream channels; null: every task is rendered here. */
  dispatcher: Dispatcher | null;
  settings: WorkerSettings;
  /** Told of every task this worker ends, inside that transaction (the webhook outbox). */
  events?: TaskEvents;
}): Worker {
  const { db, tasks, queue, blobs, clock, logger, settings } = deps;
  // With upstream channels a job may be a short create call: more jobs run than renders, and
  // renders take a slot of their own. Concurrency 0 still means "run nothing".
  const jobSlots =
    deps.dispatcher && settings.concurrency > 0
      ? settings.concurrency + settings.submitConcurrency
      : settings.concurrency;
  const rendering = gate(Math.max(1, settings.concurrency));
  const running = new Map<string, { controller: AbortController; done: Promise<void>; taskId: string }>();
  /**
   * Running jobs that may still need a render slot (not yet handed to an upstream channel). Claims
   * never exceed the free render slots: a job claimed only to wait for one would hold its lease,
   * and a killed worker would delay it for a lease for nothing.
   */
  const mayRender = new Set<string>();
  let timer: NodeJS.Timeout | undefined;
  let stopping = false;
  let filling = false;
  let again = false;
  let wakePending = false;

  async function fill(): Promise<void> {
    // One claim loop at a time; a wake during it asks for one more pass.
    if (filling) {
      again = true;
      return;
    }
    filling = true;
    try {
      do {
        again = false;
        const free = Math.min(jobSlots - running.size, settings.concurrency - mayRender.size);
        if (stopping || free <= 0) break;
        const claimed = await db.transaction(async (tx) => {
          const jobs = await queue.claim(
            { limit: free, leaseMs: settings.leaseMs, now: clock.now(), kinds: ["render"] },
            tx,
          );
          const plans: { job: ClaimedJob; plan: Plan }[] = [];
          for (const job of jobs) plans.push({ job, plan: await planJob(job, tx, { tasks, clock }) });
          return plans;
        });
        for (const { job, plan } of claimed) launch(job, plan);
        if (claimed.length === free) again = true;
      } while (again);
    } catch (e) {
      logger.error({ err: e }, "claiming jobs failed");
    } finally {
      filling = false;
    }
  }

  function launch(job: ClaimedJob, plan: Plan): void {
    const claim = claimKey(job);
    const controller = new AbortController();
    const done = runJob(job, plan, controller)
      .catch((e) => logger.error({ err: e, jobId: job.id }, "job handler crashed"))
      .finally(() => {
        running.delete(claim);
        mayRender.delete(claim);
        void fill();
      });
    running.set(claim, { controller, done, taskId: job.payload.taskId });
    mayRender.add(claim);
  }

  /** Log lines of one job carry its task and the id of the request that created it. */
  const logFor = (job: ClaimedJob): Logger =>
    logger.child({
      taskId: job.payload.taskId,
      jobId: job.id,
      ...(job.payload.requestId ? { reqId: job.payload.requestId } : {}),
    });

  async function runJob(job: ClaimedJob, plan: Plan, controller: AbortController): Promise<void> {
    if (plan.kind === "bury") {
      await queue.bury(job, plan.reason);
      return;
    }
    if (plan.kind === "complete") {
      await queue.complete(job);
      return;
    }
    if (plan.kind === "fail") {
      await finishFailed(job, plan.task, plan.err);
      return;
    }
    const { task } = plan;
    const now = clock.now();

    // One scratch dir per claim, not per attempt number: a run whose lease ran out keeps its attempt
    // number when it is claimed again, and the paused first claim may still be using its own dir.
    const workDir = join(settings.scratchDir, `${job.id}-${job.leaseToken.replace(/[^A-Za-z0-9_-]/g, "_")}`);
    const deadlineTimer = setTimeout(
      () => controller.abort(errors.taskTimeout(Math.round((task.deadlineAt - task.createdAt) / 1000))),
      Math.max(0, task.deadlineAt - now),
    );
    const heartbeat = setInterval(
      () => {
        queue
          .extendLease(job, { leaseMs: settings.leaseMs, now: clock.now() })
          .then((held) => {
            if (!held) controller.abort(new LeaseLost("lease lost"));
          })
          .catch((e) => logFor(job).warn({ err: e, jobId: job.id }, "extending a lease failed"));
      },
      Math.max(50, Math.floor(settings.leaseMs / 3)),
    );

    let lastWrite = 0;
    let lastPct = 0;
    const onProgress = (fraction: number) => {
      const pct = Math.floor(Math.max(0, Math.min(0.99, fraction)) * 100);
      const t = clock.now();
      if (pct <= lastPct || t - lastWrite < settings.progressWriteMs) return;
      lastPct = pct;
      lastWrite = t;
      tasks
        .update(task.id, { progress: pct }, { now: t, onlyFrom: ["processing"] })
        .then((still) => {
          if (!still) controller.abort(new TaskGone("task deleted or no longer running"));
        })
        .catch((e) => logFor(job).warn({ err: e, taskId: task.id }, "writing progress failed"));
    };

    try {
      await mkdir(workDir, { recursive: true });
      const files = await materialiseInputs(blobs, task.request, workDir);
      if (deps.dispatcher) {
        const sent = await deps.dispatcher.dispatch(job, task, {
          imageFiles: files.imageFiles,
          workDir,
          signal: controller.signal,
          toUpstream: () => {
            mayRender.delete(claimKey(job));
            void fill();
          },
        });
        if (sent.kind === "submitted") return;
      }
      const provider = deps.providerFor(task.request);
      // This attempt's files go under a folder of its own: an attempt that lost its job to
      // another (a paused process whose lease ran out) can neither overwrite nor delete them.
      const attemptDir = newAttemptDir(clock.now());
      const { result, enhancedPrompt, note } = await rendering(() =>
        renderHere(
          {
            provider,
            telemetry: deps.telemetry,
            remover: deps.remover,
            blobs,
            blobKey: (file) => deps.blobKey(task.id, attemptDir, file),
            settings,
          },
          task,
          { workDir, files, signal: controller.signal, onProgress },
        ),
      );
      const { videoKey, thumbnailKey, spritesheetKey } = result;
      const done = await db.transaction(async (tx) => {
        const updated = await tasks.update(
          task.id,
          {
            status: "completed",
            progress: 100,
            result,
            enhancedPrompt,
            error: null,
            failureReason: note,
          },
          { now: clock.now(), onlyFrom: ["processing"] },
          tx,
        );
        await queue.complete(job, tx);
        if (updated && deps.billing) await settleDelivered(deps.billing, updated, result, clock.now(), tx);
        if (updated) await deps.events?.taskEnded(updated, tx);
        return updated;
      });
      if (!done) {
        // Another attempt finished the task (this one lost its lease, paused or cut off), or the
        // task was cancelled or deleted meanwhile. Either way these files are this attempt's
        // alone (its own folder) and nobody points to them: they go, and nothing else does.
        const current = await tasks.get(task.id);
        if (current?.status === "completed") {
          logFor(job).warn(
            { taskId: task.id, attempt: job.attempt, kept: current.result?.videoKey },
            "another attempt completed this task first; this attempt's result is discarded",
          );
        }
        await Promise.all(
          [videoKey, thumbnailKey, spritesheetKey].map((k) => (k ? blobs.delete(k) : undefined)),
        );
        return;
      }
      logFor(job).info({ taskId: task.id, attempt: job.attempt, provider: provider.name }, "task completed");
    } catch (e) {
      const reason: unknown = controller.signal.aborted ? controller.signal.reason : e;
      await settle(job, task, reason);
    } finally {
      clearTimeout(deadlineTimer);
      clearInterval(heartbeat);
      await removeWorkDir(workDir);
    }
  }

  async function settle(job: ClaimedJob, task: Task, reason: unknown): Promise<void> {
    if (reason instanceof TaskGone) {
      await queue.complete(job).catch(() => undefined);
      return;
    }
    if (reason instanceof LeaseLost) {
      // Another worker holds the job now: leave the task to it.
      logFor(job).warn({ taskId: task.id, jobId: job.id }, "lease lost; another worker took the job over");
      return;
    }
    if (reason instanceof Shutdown) {
      await db.transaction(async (tx) => {
        await tasks.update(
          task.id,
          { status: "pending", progress: 0 },
          { now: clock.now(), onlyFrom: ["processing"] },
          tx,
        );
        await queue.release(job, tx);
      });
      return;
    }
    if (!isReelayError(reason)) {
      logFor(job).error({ err: reason, taskId: task.id, jobId: job.id }, "unexpected error in a render job");
      const failed = await db.transaction(async (tx) => {
        const f = await failTask(
          deps,
          task,
          new ReelayError(ErrorCode.internal, "Internal error while rendering"),
          tx,
        );
        await queue.bury(job, String(reason instanceof Error ? reason.stack : reason), tx);
        return f;
      });
      if (failed) await dropUploadsOf(job, failed);
      return;
    }
    const now = clock.now();
    const delay = backoffMs(job.attempt, {
      baseMs: settings.backoffBaseMs,
      maxMs: settings.backoffMaxMs,
      retryAfterS: reason.retryAfterS,
    });
    // Every channel busy or cooling down, or the storage away for a while: the task waits for
    // the service to come back, it did not fail (so the retry spends no attempt; the deadline
    // still bounds the wait).
    const waitedForCapacity =
      reason.code === ErrorCode.providerUnavailable || reason.code === ErrorCode.storageUnavailable;
    if (
      reason.retryable &&
      (waitedForCapacity || job.attempt < job.maxAttempts) &&
      now + delay < task.deadlineAt
    ) {
      logFor(job).warn(
        // `err` carries the cause (e.g. ffmpeg's stderr), which the task's message leaves out.
        { err: reason, taskId: task.id, attempt: job.attempt, code: reason.code, retryInMs: delay },
        "attempt failed; will retry",
      );
      await db.transaction(async (tx) => {
        await tasks.update(
          task.id,
          {
            status: "pending",
            progress: 0,
            failureReason: `attempt ${job.attempt} failed: ${reason.message}`,
          },
          { now, onlyFrom: ["processing"] },
          tx,
        );
        await queue.retry(job, { runAt: now + delay, error: reason.message, free: waitedForCapacity }, tx);
      });
      return;
    }
    const final =
      reason.retryable && job.attempt >= job.maxAttempts
        ? errors.retriesExhausted(job.attempt, reason.message)
        : reason;
    await finishFailed(job, task, final);
  }

  async function finishFailed(job: ClaimedJob, task: Task, err: ReelayError): Promise<void> {
    logFor(job).warn({ err, taskId: task.id, code: err.code, message: err.message }, "task failed");
    const failed = await db.transaction(async (tx) => {
      const f = await failTask(deps, task, err, tx);
      await queue.complete(job, tx);
      return f;
    });
    if (failed) await dropUploadsOf(job, failed);
  }

  /** A task failed for good: no retry will read its uploads again. */
  const dropUploadsOf = (job: ClaimedJob, failed: Task) =>
    dropUploads(blobs, failed, (e) =>
      logFor(job).warn({ err: e, taskId: failed.id }, "deleting a failed task's uploads failed"),
    );

  return {
    start() {
      stopping = false;
      timer = setInterval(() => void fill(), settings.pollIntervalMs);
      void fill();
    },
    interrupt(taskId) {
      for (const r of running.values()) {
        if (r.taskId === taskId) r.controller.abort(new TaskGone("task cancelled or deleted"));
      }
    },
    wake() {
      // Wakes in the same turn of the event loop (a burst of creates) make one claim, not one each.
      if (wakePending) return;
      wakePending = true;
      setImmediate(() => {
        wakePending = false;
        void fill();
      });
    },
    async stop() {
      stopping = true;
      if (timer) clearInterval(timer);
      for (const { controller } of running.values()) controller.abort(new Shutdown("shutdown"));
      await Promise.all([...running.values()].map((r) => r.done));
    },
    get active() {
      return running.size;
    },
  };
}
