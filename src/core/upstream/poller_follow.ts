/**
 * One follow of an upstream task: the task is polled once and what the upstream says decides
 * what follows (through the lifecycle): still running (mirrored, polled again after the channel's
 * interval), completed (its result re-hosted: poller_result.ts), failed or expired (classed by
 * taxonomy.ts: failed over to another channel where the class allows and one is left
 * (failover.ts), else the task fails, refunded). A task past its deadline, or on a channel no
 * longer configured, fails here; one past its channel's time limit fails over or fails.
 */

import { deadlines } from "../deadline.js";
import { errors, isReelayError, type ReelayError } from "../errors.js";
import type { Gate } from "../gate.js";
import { dropUploads } from "../media/blob_keys.js";
import type { AttemptError } from "../tasks/lifecycle.js";
import { isTerminal, type Task } from "../tasks/task.js";
import {
  createResultFetcher,
  keep,
  type Outcome,
  type PollerDeps,
  pollRetryDelayMs,
} from "./poller_result.js";
import type { UpstreamProvider, UpstreamStatus, UpstreamTaskRecord } from "./ports.js";
import { classOf, classOfError, failureOf } from "./taxonomy.js";

export interface FollowDeps extends PollerDeps {
  /** Aborted when the poller stops. */
  stopped: AbortSignal;
  /** The poller's download slots (`fetchConcurrency`), which it watches to lease no more than it can download. */
  downloads: Gate;
}

export function createFollower(deps: FollowDeps): (row: UpstreamTaskRecord) => Promise<Outcome> {
  const { tasks, upstreamTasks, router, clock, logger, settings } = deps;
  /** Each poll's signal: the poller's stop, or 30 s. */
  const pollDeadline = deadlines(deps.stopped);

  async function end(
    task: Task,
    row: UpstreamTaskRecord,
    err: ReelayError,
    why?: AttemptError,
  ): Promise<void> {
    logger.warn(
      { taskId: task.id, channel: row.channelId, code: err.code, message: err.message },
      "task failed",
    );
    const ended = await deps.db.transaction(async (tx) => {
      await upstreamTasks.finish(task.id, tx);
      return deps.lifecycle.fail(task, err, tx, why);
    });
    // Failed for good: no retry will read its uploads again.
    if (ended) {
      await dropUploads(deps.blobs, ended, (e) =>
        logger.warn({ err: e, taskId: task.id }, "deleting a failed task's uploads failed"),
      );
    }
  }

  async function cancelUpstream(row: UpstreamTaskRecord): Promise<void> {
    const channel = router.get(row.channelId);
    if (!channel?.upstream || !row.upstreamId) return;
    await channel.upstream
      .cancel(row.upstreamId, AbortSignal.timeout(10_000))
      .catch((e) => logger.warn({ err: e, taskId: row.taskId }, "cancelling the upstream task failed"));
  }

  /**
   * The task's attempt on this channel failed (`why`): it fails over where its class allows and
   * a channel is left, else the task fails with `err` (cancelled upstream first where it may run).
   */
  async function failed(
    task: Task,
    row: UpstreamTaskRecord,
    err: ReelayError,
    why: AttemptError,
    mayStillRun = false,
  ): Promise<void> {
    if (deps.failover && (await deps.failover.tryFailover(task, row, why, { mayStillRun }))) return;
    if (mayStillRun) await cancelUpstream(row);
    await end(task, row, err, why);
  }

  // A result that cannot be downloaded after its tries: `result_unavailable`, failed over.
  const complete = createResultFetcher({
    ...deps,
    end: (task, row, err) =>
      failed(task, row, err, { class: classOfError(err), code: err.code, message: err.message }),
  });

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
    const bound = pollDeadline(30_000);
    try {
      const polled = await channel.upstream.poll(row.upstreamId, bound.signal);
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
    } finally {
      bound.release();
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
      // Not failed over: the task may still run (and bill) there, and nothing can cancel it now.
      await end(task, row, errors.upstreamFailed(row.channelId, null, why), {
        class: "upstream_internal",
        code: null,
        message: why,
      });
      return null;
    }
    const seen = `channel '${row.channelId}' still reported it as '${row.lastStatus ?? "unknown"}'`;
    if (now >= task.deadlineAt) {
      await cancelUpstream(row);
      const s = Math.round((task.deadlineAt - task.createdAt) / 1000);
      const err = errors.taskTimeout(s, seen);
      await end(task, row, err, { class: "timeout", code: null, message: err.message });
      return null;
    }
    if (now >= row.deadlineAt) {
      // Past the channel's own time limit (taskTimeoutS), within the task's: tried elsewhere.
      const s = Math.round((row.deadlineAt - row.submittedAt) / 1000);
      const message = `not finished within the channel's limit of ${s} s: ${seen}`;
      const err = errors.upstreamFailed(row.channelId, "timeout", message);
      await failed(task, row, err, { class: "timeout", code: null, message }, true);
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
        const said = {
          code: status.error?.code ?? null,
          message: status.error?.message ?? "no reason given",
        };
        const cls = classOf({ ...said, class: status.error?.class });
        const usage = status.usage ?? null;
        await failed(task, row, failureOf(cls, row.channelId, said), { class: cls, ...said, usage });
        return null;
      }
      case "expired": {
        const err = errors.upstreamExpired(row.channelId, status.raw ?? "expired");
        const why = {
          class: status.error?.class ?? "result_unavailable",
          code: status.error?.code ?? status.raw,
          message: status.error?.message ?? err.message,
        };
        await failed(task, row, err, why);
        return null;
      }
      default: {
        const queued = status.state === "queued";
        await deps.lifecycle.upstreamRunning(task, { queued, progress: status.progress ?? task.progress });
        const wait = Math.max(channel.spec.pollIntervalMs, (polled.retryAfterS ?? 0) * 1000);
        return { ...keep(row), pollErrors: 0, lastStatus: status.raw, nextPollAt: now + wait };
      }
    }
  };
}
