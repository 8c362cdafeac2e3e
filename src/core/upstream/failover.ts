/**
 * Failover after acceptance. A task an upstream accepted and then failed for a reason that is not
 * the request's (its class says so: taxonomy.ts) is submitted again to the next channel serving
 * its model that it has not been tried on, up to the model's limit of attempts. In one
 * transaction: the attempt ends failed (costing nothing), the task waits again (its one charge
 * still held), its pin to the channel goes and a render job is enqueued — so a crash leaves either
 * the old state (the poller sees the failure again and decides again) or the new one (the job
 * submits), never a task that is neither followed nor queued. The first channel's task is
 * cancelled first where it may still run (a cancel that then finds no commit is harmless: the
 * poller sees it failed and fails it over again).
 */
import { DEFAULT_FAILOVER_ATTEMPTS, type ModelTable } from "../catalogue/models.js";
import type { JobQueue } from "../jobs/ports.js";
import type { Clock, Database, Logger, Telemetry } from "../ports.js";
import type { AttemptError, TaskLifecycle } from "../tasks/lifecycle.js";
import type { Task } from "../tasks/task.js";
import type { ChannelRouter } from "./channels.js";
import type { TaskAttemptStore, UpstreamTaskRecord, UpstreamTaskStore } from "./ports.js";
import { ERROR_CLASSES } from "./taxonomy.js";

export interface FailoverDeps {
  readonly db: Database;
  readonly lifecycle: TaskLifecycle;
  readonly upstreamTasks: UpstreamTaskStore;
  readonly attempts: TaskAttemptStore;
  readonly queue: JobQueue;
  readonly router: ChannelRouter;
  /** The catalogue: each model's limit of attempts. */
  readonly models: ModelTable;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly telemetry?: Telemetry;
  /** Attempts of the render job it enqueues (as a create's). */
  readonly jobMaxAttempts: number;
  /** A task was failed over: the worker may look for its job now. */
  readonly onFailedOver?: () => void;
}

export interface Failover {
  /**
   * Fails the task over when its failure allows and a channel is left; true when it did (or the
   * task ended meanwhile), false when the caller is to fail the task.
   */
  tryFailover(
    task: Task,
    row: UpstreamTaskRecord,
    why: AttemptError,
    opts: { mayStillRun: boolean },
  ): Promise<boolean>;
}

/** Rolls the failover's transaction back: the task ended (cancelled, deleted) before it. */
class TaskEnded extends Error {}

export function createFailover(deps: FailoverDeps): Failover {
  const { db, router, clock, logger } = deps;

  /** Whether another attempt is allowed and some channel serving the model has not been tried. */
  async function hasNext(task: Task, row: UpstreamTaskRecord): Promise<boolean> {
    const r = task.request;
    // A remix goes back to the upstream that made its source, and sources need the local
    // renderer: such tasks have one place to go.
    if (r.source !== null || (r.characters?.length ?? 0) > 0) return false;
    const max = deps.models.get(r.model)?.failover?.maxAttempts ?? DEFAULT_FAILOVER_ATTEMPTS;
    const done = await deps.attempts.list(task.id);
    if (done.length >= max) return false;
    const tried = new Set([row.channelId, ...done.map((a) => a.channelId)]);
    return router.serving(r.model).some((c) => !tried.has(c.spec.id));
  }

  async function cancelThere(row: UpstreamTaskRecord): Promise<void> {
    const upstream = router.get(row.channelId)?.upstream;
    if (!upstream || !row.upstreamId) return;
    await upstream
      .cancel(row.upstreamId, AbortSignal.timeout(10_000))
      .catch((e) =>
        logger.warn({ err: e, taskId: row.taskId }, "cancelling the failed-over upstream task failed"),
      );
  }

  return {
    async tryFailover(task, row, why, { mayStillRun }) {
      if (!ERROR_CLASSES[why.class].failover) return false;
      if (!(await hasNext(task, row))) return false;
      if (mayStillRun) await cancelThere(row);
      const moved = await db
        .transaction(async (tx) => {
          // Only the poller that still finds the task pinned there fails it over (a second one, whose
          // lease ran out meanwhile, finds it released and changes nothing).
          const at = { channelId: row.channelId, upstreamId: row.upstreamId };
          if (!(await deps.upstreamTasks.release(task.id, at, tx))) return false;
          const pending = await deps.lifecycle.failedOver(task, { ...why, channelId: row.channelId }, tx);
          // Ended meanwhile (cancelled, deleted): the release rolls back with nothing else to do.
          if (!pending) throw new TaskEnded();
          await deps.queue.enqueue(
            {
              payload: { kind: "render", version: 1, taskId: task.id },
              runAt: clock.now(),
              maxAttempts: deps.jobMaxAttempts,
            },
            tx,
          );
          return true;
        })
        .catch((e: unknown) => {
          if (e instanceof TaskEnded) return false;
          throw e;
        });
      const channel = router.get(row.channelId);
      if (moved && channel && ERROR_CLASSES[why.class].coolDown)
        await router.failure(channel, `${why.class}: ${why.message}`, clock.now());
      if (moved) {
        logger.warn(
          { taskId: task.id, channel: row.channelId, class: why.class, code: why.code, message: why.message },
          "task failed upstream; failing over to another channel",
        );
        deps.telemetry?.upstreamFailover?.({ channel: row.channelId, class: why.class });
        deps.onFailedOver?.();
      }
      // Failed over here, or by another poller, or the task ended meanwhile: nothing is left to fail.
      return true;
    },
  };
}
