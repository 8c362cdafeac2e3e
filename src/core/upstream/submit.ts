/**
 * Sending a task to the channel the router picks. At submit, a refusal that is the channel's
 * fault (429, 5xx, unreachable, a refused credential) moves on to the next channel; a create whose
 * answer was lost is never sent to another channel (only again to the same one, and only where it
 * honours idempotency keys). A task failed over after acceptance (failover.ts) comes back here
 * and goes to a channel it has not been tried on.
 */

import { ErrorCode, errors, isReelayError, type ReelayError, UpstreamRefusal } from "../errors.js";
import type { ClaimedJob, JobQueue } from "../jobs/ports.js";
import type { Clock, Database, Logger } from "../ports.js";
import type { TaskLifecycle } from "../tasks/lifecycle.js";
import { hasFirstFrame, type Task } from "../tasks/task.js";
import type { Channel, ChannelRouter } from "./channels.js";
import type {
  TaskAttempt,
  TaskAttemptStore,
  UpstreamProvider,
  UpstreamTaskRecord,
  UpstreamTaskStore,
} from "./ports.js";
import { planRoute } from "./route_plan.js";
import { ERROR_CLASSES } from "./taxonomy.js";

export type Dispatch = { kind: "local" } | { kind: "submitted"; channelId: string };

export interface Dispatcher {
  /**
   * Submits the task to an upstream channel and hands the job back as done (the poller follows the
   * task from here), or says the local renderer is to make it. Throws a ReelayError when no
   * channel took it: retryable when a later try may work.
   */
  dispatch(
    job: ClaimedJob,
    task: Task,
    ctx: {
      imageFiles: readonly string[];
      workDir: string;
      signal: AbortSignal;
      /** Called when the task goes to an upstream channel: it will not need a render slot. */
      toUpstream?: () => void;
    },
  ): Promise<Dispatch>;
}

export function createDispatcher(deps: {
  db: Database;
  lifecycle: TaskLifecycle;
  queue: JobQueue;
  upstreamTasks: UpstreamTaskStore;
  router: ChannelRouter;
  /** The task's earlier attempts: a failed-over task is not sent to a channel it failed on. */
  attempts?: TaskAttemptStore;
  clock: Clock;
  logger: Logger;
  /** An upstream accepted a task: the poller may want to look sooner. */
  onSubmitted: () => void;
  /** The URL the channel's provider may push the task's changes to; null: the channel is polled only. */
  callbackUrlFor?: (channelId: string, taskId: string) => string | null;
}): Dispatcher {
  const { db, lifecycle, queue, upstreamTasks, router, clock, logger } = deps;

  /**
   * The channels to try, best first, and the upstream video a remix starts from (when the task
   * remixes a video an upstream made: the remix goes back to that upstream).
   */
  async function candidatesFor(
    task: Task,
    pinned: UpstreamTaskRecord | undefined,
    earlier: readonly TaskAttempt[],
  ): Promise<{ candidates: readonly Channel[]; remixOf: string | null }> {
    const r = task.request;
    if (pinned) {
      // An earlier create to this channel got no answer (or its process died while sending).
      const channel = router.get(pinned.channelId);
      if (!channel?.upstream?.idempotent) {
        await upstreamTasks.finish(task.id);
        throw errors.upstreamOutcomeUnknown(pinned.channelId, "an earlier create got no answer", false);
      }
      return { candidates: [channel], remixOf: null };
    }
    const plan = await planRoute({ router, upstreamTasks, clock }, r);
    const tried = new Set(earlier.map((a) => a.channelId));
    if (tried.size === 0 || plan.remixOf !== null) return plan;
    const untried = plan.candidates.filter((c) => !tried.has(c.spec.id));
    if (untried.length > 0) return { candidates: untried, remixOf: null };
    // Failed over, and every channel open now was tried: one cooling down or busy may open later.
    const left = router.serving(r.model).filter((c) => !tried.has(c.spec.id));
    if (left.length === 0) throw errors.noChannelLeft(r.model, [...tried]);
    throw errors.channelsUnavailable(
      r.model,
      "the channels it was not yet tried on are busy or cooling down",
      5,
    );
  }

  /** Sends the create and, once the upstream accepted it, pins the task to it and ends the job. */
  async function submit(
    job: ClaimedJob,
    task: Task,
    to: { channel: Channel; upstream: UpstreamProvider },
    remixOf: string | null,
    ctx: Parameters<Dispatcher["dispatch"]>[2],
    attempt: number,
  ): Promise<void> {
    const { channel, upstream } = to;
    const callbackUrl = deps.callbackUrlFor?.(channel.spec.id, task.id) ?? null;
    const submitCtx = {
      // The idempotency key: a failed-over task's next attempt gets one of its own, or a channel
      // on the same upstream would hand back the task that failed.
      taskId: attempt === 1 ? task.id : `${task.id}-${attempt}`,
      upstreamModel: router.upstreamModel(channel, task.request.model, {
        firstFrame: hasFirstFrame(task.request),
      }),
      imageFiles: ctx.imageFiles,
      workDir: ctx.workDir,
      signal: ctx.signal,
      ...(callbackUrl ? { callbackUrl } : {}),
    };
    const { upstreamId, status } =
      remixOf !== null && upstream.remix
        ? await upstream.remix(remixOf, task.request, submitCtx)
        : await upstream.submit(task.request, submitCtx);
    const now = clock.now();
    await db.transaction(async (tx) => {
      await upstreamTasks.accepted(
        task.id,
        { upstreamId, status: status.raw, nextPollAt: now + channel.spec.pollIntervalMs },
        tx,
      );
      await lifecycle.accepted(
        task.id,
        {
          queued: status.state === "queued",
          progress: status.progress ?? 0,
          channelId: channel.spec.id,
          upstreamId,
        },
        tx,
      );
      await queue.complete(job, tx);
    });
    await router.success(channel, clock.now());
    logger.info({ taskId: task.id, channel: channel.spec.id, upstreamId }, "task accepted upstream");
    deps.onSubmitted();
  }

  return {
    async dispatch(job, task, ctx) {
      const pinned = await upstreamTasks.get(task.id);
      if (pinned && pinned.phase !== "submitting") return { kind: "submitted", channelId: pinned.channelId };
      const earlier = (await deps.attempts?.list(task.id)) ?? [];
      const { candidates, remixOf } = await candidatesFor(task, pinned, earlier);
      let last: ReelayError | null = null;
      for (const channel of candidates) {
        const upstream = channel.upstream;
        if (!upstream) return { kind: "local" };
        ctx.toUpstream?.();
        const channelId = channel.spec.id;
        const now = clock.now();
        const { taskTimeoutMs } = channel.spec;
        // Durable before the create is sent, in a transaction of its own: on SQLite the creates
        // under way share its COMMIT (group commit), not one fsync each on the event loop.
        await db.transaction((tx) =>
          upstreamTasks.begin(
            {
              taskId: task.id,
              channelId,
              now,
              // The channel's own time limit, within the task's: past it the task fails over.
              deadlineAt:
                taskTimeoutMs === undefined
                  ? task.deadlineAt
                  : Math.min(task.deadlineAt, now + taskTimeoutMs),
            },
            tx,
          ),
        );
        try {
          await submit(job, task, { channel, upstream }, remixOf, ctx, earlier.length + 1);
          return { kind: "submitted", channelId };
        } catch (e) {
          if (ctx.signal.aborted) {
            // Shut down (or cancelled) mid-create: whether it arrived is unknown, so the record stays.
            throw e;
          }
          if (!isReelayError(e)) {
            await upstreamTasks.drop(task.id);
            throw e;
          }
          if (e.code === ErrorCode.upstreamOutcomeUnknown) {
            if (!e.retryable) await upstreamTasks.finish(task.id);
            // Pinned to this channel either way: never sent elsewhere.
            throw e;
          }
          await upstreamTasks.drop(task.id);
          // The refusal's class decides where the adapter knew it (taxonomy.ts), else its flag.
          const policy = e instanceof UpstreamRefusal && e.errorClass ? ERROR_CLASSES[e.errorClass] : null;
          if (e.code === ErrorCode.upstreamRejected && (policy?.retry ?? e.retryable)) {
            logger.warn(
              { taskId: task.id, channel: channelId, err: e.message },
              "channel refused the create; failing over",
            );
            if (policy?.coolDown ?? true) await router.failure(channel, e.message, clock.now());
            last = e;
            continue;
          }
          throw e;
        }
      }
      throw last ?? errors.channelsUnavailable(task.request.model, "no channel took it");
    },
  };
}
