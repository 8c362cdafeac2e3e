/**
 * Sending a task to the channel the router picks. Failover happens only before an upstream has
 * accepted a task: a refusal that is the channel's fault (429, 5xx, unreachable, a refused
 * credential) moves on to the next channel; a create whose answer was lost is never sent to
 * another channel (only again to the same one, and only where it honours idempotency keys).
 */

import { ErrorCode, errors, isReelayError, type ReelayError } from "../errors.js";
import type { ClaimedJob, JobQueue } from "../jobs/ports.js";
import type { Clock, Database, Logger } from "../ports.js";
import type { TaskLifecycle } from "../tasks/lifecycle.js";
import { hasFirstFrame, type Task } from "../tasks/task.js";
import type { Channel, ChannelRouter } from "./channels.js";
import type { UpstreamProvider, UpstreamTaskRecord, UpstreamTaskStore } from "./ports.js";

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
    if (r.source !== null || (r.characters?.length ?? 0) > 0) {
      // Upstreams take a prompt and images; a source video or characters need the local renderer,
      // except a remix of a video an upstream made, which goes back to that upstream where it can.
      const src =
        r.source?.kind === "remix" && r.source.taskId ? await upstreamTasks.get(r.source.taskId) : undefined;
      const origin = src ? router.get(src.channelId) : undefined;
      if (src?.upstreamId && origin?.upstream?.remix)
        return { candidates: [origin], remixOf: src.upstreamId };
      const local = router.all().filter((c) => c.upstream === null);
      if (local.length === 0)
        throw errors.noChannelFor(r.model, r.source ? `a ${r.source.kind}` : "a video with characters");
      return { candidates: local, remixOf: null };
    }
    const plan = await router.plan(r.model, clock.now());
    if (plan.channels.length === 0)
      throw errors.channelsUnavailable(r.model, plan.why ?? "none", plan.retryAfterS);
    return { candidates: plan.channels, remixOf: null };
  }

  /** Sends the create and, once the upstream accepted it, pins the task to it and ends the job. */
  async function submit(
    job: ClaimedJob,
    task: Task,
    to: { channel: Channel; upstream: UpstreamProvider },
    remixOf: string | null,
    ctx: Parameters<Dispatcher["dispatch"]>[2],
  ): Promise<void> {
    const { channel, upstream } = to;
    const callbackUrl = deps.callbackUrlFor?.(channel.spec.id, task.id) ?? null;
    const submitCtx = {
      taskId: task.id,
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
        { queued: status.state === "queued", progress: status.progress ?? 0 },
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
      const { candidates, remixOf } = await candidatesFor(task, pinned);
      let last: ReelayError | null = null;
      for (const channel of candidates) {
        const upstream = channel.upstream;
        if (!upstream) return { kind: "local" };
        ctx.toUpstream?.();
        const channelId = channel.spec.id;
        await upstreamTasks.begin({
          taskId: task.id,
          channelId,
          now: clock.now(),
          deadlineAt: task.deadlineAt,
        });
        try {
          await submit(job, task, { channel, upstream }, remixOf, ctx);
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
          if (e.code === ErrorCode.upstreamRejected && e.retryable) {
            logger.warn(
              { taskId: task.id, channel: channelId, err: e.message },
              "channel refused the create; failing over",
            );
            await router.failure(channel, e.message, clock.now());
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
