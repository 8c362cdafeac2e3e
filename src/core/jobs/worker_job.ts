/**
 * One claimed render job, run to its end: the task's deadline and the job's lease are watched,
 * its inputs copied to a scratch folder, then the task is sent to an upstream channel (when a
 * dispatcher has one for it) or rendered here, and the result committed through the lifecycle.
 */
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { errors } from "../errors.js";
import { materialiseInputs, removeWorkDir } from "../media/attempt_inputs.js";
import { newAttemptDir } from "../media/blob_keys.js";
import { renderHere } from "../media/local_render.js";
import type { BlobStore, VideoProvider, WatermarkRemover } from "../media/ports.js";
import type { Clock, Database, Logger, Telemetry } from "../ports.js";
import type { TaskLifecycle } from "../tasks/lifecycle.js";
import type { TaskStore } from "../tasks/ports.js";
import type { Task, TaskResult, VideoRequest } from "../tasks/task.js";
import type { Dispatcher } from "../upstream/submit.js";
import type { Plan } from "./job_start.js";
import type { ClaimedJob, JobQueue } from "./ports.js";
import { type JobEnder, LeaseLost, TaskGone } from "./worker_outcome.js";

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

export interface WorkerDeps {
  db: Database;
  tasks: TaskStore;
  queue: JobQueue;
  blobs: BlobStore;
  /** Every status change of a task goes through it (with its money and event). */
  lifecycle: TaskLifecycle;
  providerFor: (request: VideoRequest) => VideoProvider;
  /** The key of a file made by one attempt of a task (blob_keys.ts). */
  blobKey: (taskId: string, attempt: string, file: string) => string;
  clock: Clock;
  logger: Logger;
  telemetry: Telemetry;
  remover: WatermarkRemover;
  /** Sends tasks to upstream channels; null: every task is rendered here. */
  dispatcher: Dispatcher | null;
  settings: WorkerSettings;
}

export interface JobRunnerDeps extends WorkerDeps {
  ender: JobEnder;
  /** Runs a render in one of the worker's render slots. */
  rendering: <T>(fn: () => Promise<T>) => Promise<T>;
}

/** What one run needs from the claim loop. */
export interface JobContext {
  readonly controller: AbortController;
  readonly log: Logger;
  /** The task went to an upstream channel: it will not need a render slot. */
  readonly toUpstream: () => void;
}

export type JobRunner = (job: ClaimedJob, plan: Plan, ctx: JobContext) => Promise<void>;

export function createJobRunner(deps: JobRunnerDeps): JobRunner {
  const { queue, blobs, clock, settings, ender } = deps;

  /** Aborts the run at the task's deadline or when the lease is lost; returns the stopper. */
  function watch(job: ClaimedJob, task: Task, { controller, log }: JobContext): () => void {
    const deadlineTimer = setTimeout(
      () => controller.abort(errors.taskTimeout(Math.round((task.deadlineAt - task.createdAt) / 1000))),
      Math.max(0, task.deadlineAt - clock.now()),
    );
    const heartbeat = setInterval(
      () => {
        queue
          .extendLease(job, { leaseMs: settings.leaseMs, now: clock.now() })
          .then((held) => {
            if (!held) controller.abort(new LeaseLost("lease lost"));
          })
          .catch((e) => log.warn({ err: e, jobId: job.id }, "extending a lease failed"));
      },
      Math.max(50, Math.floor(settings.leaseMs / 3)),
    );
    return () => {
      clearTimeout(deadlineTimer);
      clearInterval(heartbeat);
    };
  }

  /** Progress as the renderer reports it, written at most every `progressWriteMs`, only forward. */
  function progressWriter(task: Task, { controller, log }: JobContext): (fraction: number) => void {
    let lastWrite = 0;
    let lastPct = 0;
    return (fraction) => {
      const pct = Math.floor(Math.max(0, Math.min(0.99, fraction)) * 100);
      const t = clock.now();
      if (pct <= lastPct || t - lastWrite < settings.progressWriteMs) return;
      lastPct = pct;
      lastWrite = t;
      deps.lifecycle
        .progress(task.id, pct)
        .then((still) => {
          if (!still) controller.abort(new TaskGone("task deleted or no longer running"));
        })
        .catch((e) => log.warn({ err: e, taskId: task.id }, "writing progress failed"));
    };
  }

  /** Commits a rendered result; when the task ended otherwise meanwhile, this attempt's files go. */
  async function keep(
    job: ClaimedJob,
    task: Task,
    made: { result: TaskResult; enhancedPrompt: string; note: string | null },
    log: Logger,
  ): Promise<boolean> {
    const done = await deps.db.transaction(async (tx) => {
      const updated = await deps.lifecycle.rendered(task, made, tx);
      await queue.complete(job, tx);
      return updated;
    });
    if (done) return true;
    // Another attempt finished the task (this one lost its lease, paused or cut off), or the
    // task was cancelled or deleted meanwhile. Either way these files are this attempt's
    // alone (named after it) and nobody points to them: they go, and nothing else does.
    const current = await deps.tasks.get(task.id);
    if (current?.status === "completed") {
      log.warn(
        { taskId: task.id, attempt: job.attempt, kept: current.result?.videoKey },
        "another attempt completed this task first; this attempt's result is discarded",
      );
    }
    const { videoKey, thumbnailKey, spritesheetKey } = made.result;
    await Promise.all([videoKey, thumbnailKey, spritesheetKey].map((k) => (k ? blobs.delete(k) : undefined)));
    return false;
  }

  return async function runJob(job, plan, ctx) {
    if (plan.kind === "bury") return queue.bury(job, plan.reason);
    if (plan.kind === "complete") return queue.complete(job);
    if (plan.kind === "fail") return ender.finishFailed(job, plan.task, plan.err, ctx.log);
    const { task } = plan;
    const { controller, log } = ctx;
    // One scratch dir per claim, not per attempt number: a run whose lease ran out keeps its attempt
    // number when it is claimed again, and the paused first claim may still be using its own dir.
    const workDir = join(settings.scratchDir, `${job.id}-${job.leaseToken.replace(/[^A-Za-z0-9_-]/g, "_")}`);
    const unwatch = watch(job, task, ctx);
    try {
      await mkdir(workDir, { recursive: true });
      const files = await materialiseInputs(blobs, task.request, workDir);
      if (deps.dispatcher) {
        const sent = await deps.dispatcher.dispatch(job, task, {
          imageFiles: files.imageFiles,
          workDir,
          signal: controller.signal,
          toUpstream: ctx.toUpstream,
        });
        if (sent.kind === "submitted") return;
      }
      const provider = deps.providerFor(task.request);
      // This attempt's files carry a name of its own: an attempt that lost its job to
      // another (a paused process whose lease ran out) can neither overwrite nor delete them.
      const attemptDir = newAttemptDir(clock.now());
      const made = await deps.rendering(() =>
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
          { workDir, files, signal: controller.signal, onProgress: progressWriter(task, ctx) },
        ),
      );
      if (await keep(job, task, made, log)) {
        log.info({ taskId: task.id, attempt: job.attempt, provider: provider.name }, "task completed");
      }
    } catch (e) {
      const reason: unknown = controller.signal.aborted ? controller.signal.reason : e;
      await ender.settle(job, task, reason, log);
    } finally {
      unwatch();
      await removeWorkDir(workDir);
    }
  };
}
