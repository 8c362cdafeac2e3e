/**
 * One follow of an upstream task: the task is polled once and what the upstream says decides
 * what follows (through the lifecycle): still running (mirrored, polled again after the channel's
 * interval), completed (its result re-hosted: poller_result.ts), failed or expired (the task
 * fails, refunded). A task past its deadline, or on a channel no longer configured, fails here.
 */

import { errors, isReelayError, type ReelayError } from "../errors.js";
import { dropUploads } from "../media/blob_keys.js";
import { isTerminal, type Task } from "../tasks/task.js";
import {
  createResultFetcher,
  keep,
  type Outcome,
  type PollerDeps,
  pollRetryDelayMs,
} from "./poller_result.js";
import type { UpstreamProvider, UpstreamStatus, UpstreamTaskRecord } from "./ports.js";

export interface FollowDeps extends PollerDeps {
  /** Aborted when the poller stops. */
  stopped: AbortSignal;
}

export function createFollower(deps: FollowDeps): (row: UpstreamTaskRecord) => Promise<Outcome> {
  const { tasks, upstreamTasks, router, clock, logger, settings } = deps;

  async function end(task: Task, row: UpstreamTaskRecord, err: ReelayError): Promise<void> {
    logger.warn(
      { taskId: task.id, channel: row.channelId, code: err.code, message: err.message },
      "task failed",
    );
    const ended = await deps.db.transaction(async (tx) => {
      await upstreamTasks.finish(task.id, tx);
      return deps.lifecycle.fail(task, err, tx);
    });
    // Failed for good: no retry will read its uploads again.
    if (ended) {
      await dropUploads(deps.blobs, ended, (e) =>
        logger.warn({ err: e, taskId: task.id }, "deleting a failed task's uploads failed"),
      );
    }
  }
  const complete = createResultFetcher({ ...deps, end });

  async function cancelUpstream(row: UpstreamTaskRecord): Promise<void> {
    const channel = router.get(row.channelId);
    if (!channel?.upstream || !row.upstreamId) return;
    await channel.upstream
      .cancel(row.upstreamId, AbortSignal.timeout(10_000))
      .catch((e) => logger.warn({ err: e, taskId: row.taskId }, "cancelling the upstream task failed"));
  }

  /** Polls once; a failed poll is tried again later, backing off while the polls keep failing. */
  async function poll(
    task: Task,
    row: UpstreamTaskRecord & { upstreamId: string },
    channel: { upstream: UpstreamProvider; pollIntervalMs: number },
    now: number,
  ): Promise<{ status: UpstreamStatus; retryAfterS: number | null } | NonNullable<Outcome>> {
    const started = performance.now();
    const report = (outcome: string) =>
      deps.telemetry.upstreamPoll?.({
        channel: row.channelId,
        seconds: (performance.now() - started) / 1000,
        outcome,
      });
    try {
      const polled = await channel.upstream.poll(
        row.upstreamId,
        AbortSignal.any([deps.stopped, AbortSignal.timeout(30_000)]),
      );
      report("ok");
      return polled;
    } catch (e) {
      report(isReelayError(e) ? e.code : "exception");
      const pollErrors = row.pollErrors + 1;
      const retryAfterS = isReelayError(e) ? e.retryAfterS : null;
      if (pollErrors === 1 || pollErrors % 10 === 0)
        logger.warn(
          { taskId: task.id, channel: row.channelId, err: (e as Error).message, pollErrors },
          "polling failed; will retry",
        );
      const wait = pollRetryDelayMs(channel.pollIntervalMs, settings.maxBackoffMs, pollErrors, retryAfterS);
      return { ...keep(row), pollErrors, nextPollAt: now + wait };
    }
  }

  return async function follow(row) {
    const now = clock.now();
    const task = await tasks.get(row.taskId);
    if (!task || isTerminal(task.status)) {
      // Cancelled or deleted here: stop it there too, so it is not left running (and billing) upstream.
      if (!task || task.status === "cancelled") await cancelUpstream(row);
      await upstreamTasks.finish(row.taskId);
      return null;
    }
    const channel = router.get(row.channelId);
    const upstreamId = row.upstreamId;
    if (!channel?.upstream || !upstreamId) {
      const why = "this channel is no longer configured, so the task cannot be followed";
      await end(task, row, errors.upstreamFailed(row.channelId, null, why));
      return null;
    }
    if (now >= task.deadlineAt) {
      await cancelUpstream(row);
      const s = Math.round((task.deadlineAt - task.createdAt) / 1000);
      const seen = `channel '${row.channelId}' still reported it as '${row.lastStatus ?? "unknown"}'`;
      await end(task, row, errors.taskTimeout(s, seen));
      return null;
    }
    const polled = await poll(
      task,
      { ...row, upstreamId },
      { upstream: channel.upstream, pollIntervalMs: channel.spec.pollIntervalMs },
      now,
    );
    if (!("status" in polled)) return polled;
    const { status } = polled;
    deps.telemetry.upstreamStatus?.({
      channel: row.channelId,
      status: status.raw ?? "(missing)",
      known: status.known,
    });
    if (!status.known) {
      logger.warn(
        { taskId: task.id, channel: row.channelId, status: status.raw },
        "unknown upstream status; treated as still running",
      );
    }
    switch (status.state) {
      case "completed":
        return complete(task, row, status);
      case "failed": {
        const [code, message] = [status.error?.code ?? null, status.error?.message ?? "no reason given"];
        const failure =
          status.error?.class === "content_policy"
            ? errors.contentPolicy(row.channelId, code, message)
            : errors.upstreamFailed(row.channelId, code, message);
        await end(task, row, failure);
        return null;
      }
      case "expired":
        await end(task, row, errors.upstreamExpired(row.channelId, status.raw ?? "expired"));
        return null;
      default: {
        const queued = status.state === "queued";
        await deps.lifecycle.upstreamRunning(task, { queued, progress: status.progress ?? task.progress });
        const wait = Math.max(channel.spec.pollIntervalMs, (polled.retryAfterS ?? 0) * 1000);
        return { ...keep(row), pollErrors: 0, lastStatus: status.raw, nextPollAt: now + wait };
      }
    }
  };
}
