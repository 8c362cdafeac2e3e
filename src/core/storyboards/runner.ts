/**
 * The storyboard runner: claims `storyboard` jobs only (renders and webhooks have their own
 * runners) and runs one step of the storyboard each names (advance.ts). A step that fails in a way
 * that may pass (storage away, ffmpeg killed) is tried again with backoff; when its attempts are
 * spent, or at once for a fault that cannot pass, the storyboard fails and is refunded.
 * The hook `storyboardEvents` enqueues a step in the very transaction that ends a shot (or cancels
 * a storyboard), so no shot's end is ever missed, even across a crash.
 */
import { ErrorCode, isReelayError, ReelayError } from "../errors.js";
import { backoffMs } from "../jobs/backoff.js";
import type { ClaimedJob, JobQueue } from "../jobs/ports.js";
import type { Clock, Database, Logger } from "../ports.js";
import type { TaskLifecycle } from "../tasks/lifecycle.js";
import type { TaskEvents, TaskStore } from "../tasks/ports.js";
import type { StoryboardSteps } from "./advance.js";

/** Tries of one step before the storyboard fails (a join that keeps failing, storage that stays away). */
export const STEP_ATTEMPTS = 5;

export interface StoryboardRunnerSettings {
  readonly pollIntervalMs: number;
  readonly leaseMs: number;
  readonly backoffBaseMs: number;
  readonly backoffMaxMs: number;
}

export interface StoryboardRunner {
  start(): void;
  stop(): Promise<void>;
}

/** Enqueues a step of the storyboard a task belongs to when that task ends, in its transaction. */
export function storyboardEvents(queue: JobQueue, clock: Clock): TaskEvents {
  return {
    async taskEnded(task, tx) {
      const parentId =
        task.request.shotOf?.parentId ??
        // A storyboard that ends otherwise than by its own step (cancelled) stops its running shot.
        (task.request.storyboard && task.status === "cancelled" ? task.id : undefined);
      if (parentId === undefined) return;
      await queue.enqueue(
        {
          payload: { kind: "storyboard", version: 1, taskId: parentId },
          runAt: clock.now(),
          maxAttempts: STEP_ATTEMPTS,
        },
        tx,
      );
    },
  };
}

/** Both hooks hear of every ending task, in its transaction. */
export const bothEvents = (a: TaskEvents, b: TaskEvents): TaskEvents => ({
  async taskEnded(task, tx) {
    await a.taskEnded(task, tx);
    await b.taskEnded(task, tx);
  },
  // Every kind of event reaches both (progress ones too: webhooks may subscribe to them).
  async taskProgressed(task, e, tx) {
    await a.taskProgressed?.(task, e, tx);
    await b.taskProgressed?.(task, e, tx);
  },
});

export function createStoryboardRunner(deps: {
  db: Database;
  queue: JobQueue;
  tasks: TaskStore;
  lifecycle: TaskLifecycle;
  steps: StoryboardSteps;
  clock: Clock;
  logger: Logger;
  settings: StoryboardRunnerSettings;
}): StoryboardRunner {
  const { db, queue, clock, logger, settings } = deps;
  let controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | null = null;
  let stopping = false;

  /** The step failed with `e`: try again later, or fail the storyboard when that cannot help. */
  async function stepFailed(job: ClaimedJob, taskId: string, e: unknown): Promise<void> {
    const err = isReelayError(e)
      ? e
      : new ReelayError(ErrorCode.internal, "Internal error in a storyboard step");
    const log = logger.child({ taskId, jobId: job.id });
    if (err.retryable && job.attempt < job.maxAttempts) {
      const runAt =
        clock.now() +
        backoffMs(job.attempt, { baseMs: settings.backoffBaseMs, maxMs: settings.backoffMaxMs });
      log.warn({ err: e, runAt }, "storyboard step failed; will retry");
      await queue.retry(job, { runAt, error: err.message });
      return;
    }
    log.error({ err: e }, "storyboard step failed for good");
    await db.transaction(async (tx) => {
      const task = await deps.tasks.get(taskId, tx);
      if (task) await deps.lifecycle.fail(task, err, tx);
      await queue.bury(job, err.message, tx);
    });
  }

  async function run(job: ClaimedJob): Promise<void> {
    const p = job.payload;
    if (p.kind !== "storyboard" || p.version !== 1) {
      await queue.bury(job, `unknown job payload ${JSON.stringify(p)}`);
      return;
    }
    // A join may take a while: the lease is kept while it runs.
    const heartbeat = setInterval(
      () => void queue.extendLease(job, { leaseMs: settings.leaseMs, now: clock.now() }).catch(() => false),
      Math.max(50, Math.floor(settings.leaseMs / 3)),
    );
    try {
      await deps.steps.advance(p.taskId, controller.signal);
      await queue.complete(job);
    } catch (e) {
      // Cut by shutdown, not failed: the step runs again at the next start.
      if (controller.signal.aborted) await queue.release(job);
      else await stepFailed(job, p.taskId, e);
    } finally {
      clearInterval(heartbeat);
    }
  }

  /** One step at a time per process: a join is a full ffmpeg encode. */
  async function fill(): Promise<void> {
    if (running || stopping) return;
    const work = (async () => {
      try {
        for (let n = 0; n < 100 && !stopping; n++) {
          const [job] = await queue.claim({
            limit: 1,
            leaseMs: settings.leaseMs,
            now: clock.now(),
            kinds: ["storyboard"],
          });
          if (!job) break;
          await run(job).catch((e) => logger.error({ err: e, jobId: job.id }, "storyboard step crashed"));
        }
      } catch (e) {
        logger.error({ err: e }, "claiming storyboard jobs failed");
      }
    })();
    running = work.finally(() => {
      running = null;
    });
    await running;
  }

  return {
    start() {
      stopping = false;
      if (controller.signal.aborted) controller = new AbortController();
      timer = setInterval(() => void fill(), settings.pollIntervalMs);
      void fill();
    },
    async stop() {
      stopping = true;
      if (timer) clearInterval(timer);
      controller.abort(new Error("shutting down"));
      await running;
    },
  };
}
