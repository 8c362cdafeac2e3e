/**
 * An upstream task that finished: its result is downloaded and stored here (re-hosted, so links
 * never point at the upstream), then the task completes through the lifecycle. A download that
 * fails is tried again later, up to `fetchAttempts` times; the lease is renewed while it runs.
 */
import { mkdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { ErrorCode, errors, isReelayError, type ReelayError } from "../errors.js";
import type { Gate } from "../gate.js";
import { type BackoffPolicy, delayMs, SHORTENING_JITTER } from "../jobs/backoff.js";
import type { BlobStore } from "../media/ports.js";
import type { Clock, Database, Logger, Telemetry } from "../ports.js";
import type { TaskLifecycle } from "../tasks/lifecycle.js";
import type { TaskStore } from "../tasks/ports.js";
import type { Task, TaskResult } from "../tasks/task.js";
import type { ChannelRouter } from "./channels.js";
import type { Failover } from "./failover.js";
import type { UpstreamStatus, UpstreamTaskRecord, UpstreamTaskStore } from "./ports.js";

export interface PollerSettings {
  /** Tasks followed at once (polls in flight, downloads under way): no more are leased. */
  readonly concurrency: number;
  /** Result downloads at once (they move whole videos). */
  readonly fetchConcurrency: number;
  /** How long a leased task is left alone by other pollers (renewed while its result downloads). */
  readonly leaseMs: number;
  /** How often it looks for due tasks (besides when a lane frees up or a task is submitted). */
  readonly idleMs: number;
  /** Longest wait between polls of a task whose polls keep failing. */
  readonly maxBackoffMs: number;
  /** Downloads of a result tried before the task fails. */
  readonly fetchAttempts: number;
  readonly scratchDir: string;
}

/** Turns a downloaded video into a stored result: probes it, makes a thumbnail when there is none. */
export interface ResultFinisher {
  finish(input: {
    task: Task;
    videoPath: string;
    thumbnailPath: string | null;
    /** What the upstream says of a watermark; null: nothing (recorded as none). */
    watermarked: boolean | null;
    /** The channel it came from (named in errors). */
    channelId: string;
    workDir: string;
    signal: AbortSignal;
  }): Promise<TaskResult>;
}

/** What one follow of a task leaves to write back: its counts and next poll; null when it ended. */
export type Outcome = {
  taskId: string;
  nextPollAt: number;
  pollErrors: number;
  fetchErrors: number;
  lastStatus: string | null;
} | null;

/** The row's bookkeeping as it is (what a follow changes, it overrides). */
export const keep = (row: UpstreamTaskRecord): NonNullable<Outcome> => ({
  taskId: row.taskId,
  nextPollAt: row.nextPollAt,
  pollErrors: row.pollErrors,
  fetchErrors: row.fetchErrors,
  lastStatus: row.lastStatus,
});

/** The poller's retry policy: from the channel's poll interval, doubling per error in a row (ten times at most). */
export const pollRetries = (pollIntervalMs: number, maxBackoffMs: number): BackoffPolicy => ({
  baseMs: pollIntervalMs,
  maxMs: maxBackoffMs,
  maxDoublings: 10,
  jitter: SHORTENING_JITTER,
});

/** The wait after `errorsInRow` failures in a row (polls or downloads) of a task on this channel. */
export const pollRetryDelayMs = (
  pollIntervalMs: number,
  maxBackoffMs: number,
  errorsInRow: number,
  retryAfterS: number | null,
): number => delayMs(pollRetries(pollIntervalMs, maxBackoffMs), errorsInRow + 1, { retryAfterS });

export interface PollerDeps {
  db: Database;
  tasks: TaskStore;
  /** Every status change of a task goes through it (with its money and event). */
  lifecycle: TaskLifecycle;
  upstreamTasks: UpstreamTaskStore;
  router: ChannelRouter;
  blobs: BlobStore;
  finisher: ResultFinisher;
  clock: Clock;
  logger: Logger;
  telemetry: Telemetry;
  settings: PollerSettings;
  /** Submits a task that failed upstream to another channel; absent: such a task fails. */
  failover?: Failover;
}

export interface ResultDeps extends PollerDeps {
  /** Aborted when the poller stops. */
  stopped: AbortSignal;
  /** The poller's download slots (`fetchConcurrency` of them). */
  downloads: Gate;
  /** The download failed for good: the task fails over, or fails (upstream record, status, refund, event). */
  end: (task: Task, row: UpstreamTaskRecord, err: ReelayError) => Promise<void>;
}

/** Downloads, stores and commits the result of an upstream task reported completed. */
export function createResultFetcher(deps: ResultDeps) {
  const { db, upstreamTasks, clock, logger, settings } = deps;
  const fetching = deps.downloads;

  /** Commits the stored result; a task ended otherwise meanwhile loses this download's files. */
  async function commit(task: Task, result: TaskResult, status: UpstreamStatus): Promise<boolean> {
    const done = await db.transaction(async (tx) => {
      const updated = await deps.lifecycle.delivered(
        task,
        { result, enhancedPrompt: status.enhancedPrompt ?? task.request.prompt },
        tx,
      );
      await upstreamTasks.finish(task.id, tx);
      return updated;
    });
    if (done) return true;
    // Completed meanwhile by another process's poller (this one's lease ran out while the
    // download waited or ran), or cancelled or deleted. This download stored under a folder of
    // its own (blob_keys.ts), which nobody points to: it goes, the task's own files stay.
    const current = await deps.tasks.get(task.id);
    if (current?.status === "completed") {
      logger.warn(
        { taskId: task.id, kept: current.result?.videoKey },
        "another poller completed this task first; this download is discarded",
      );
    }
    await Promise.all(
      [result.videoKey, result.thumbnailKey, result.spritesheetKey].map((k) =>
        k ? deps.blobs.delete(k).catch(() => undefined) : undefined,
      ),
    );
    return false;
  }

  return async function complete(
    task: Task,
    row: UpstreamTaskRecord,
    status: UpstreamStatus,
  ): Promise<Outcome> {
    const channel = deps.router.get(row.channelId);
    if (!channel?.upstream || !row.upstreamId) return null;
    const upstream = channel.upstream;
    const upstreamId = row.upstreamId;
    const workDir = join(settings.scratchDir, `fetch-${task.id.replace(/[^A-Za-z0-9_-]/g, "_")}`);
    // Waiting for a download slot and downloading may outlast the lease: keep renewing it, so no
    // other poller downloads the same video meanwhile (if this process dies, the lease runs out).
    const renew = setInterval(
      () => void upstreamTasks.hold(task.id, clock.now() + settings.leaseMs).catch(() => undefined),
      Math.max(50, Math.floor(settings.leaseMs / 3)),
    );
    try {
      const result = await fetching(async () => {
        await mkdir(workDir, { recursive: true });
        const signal = AbortSignal.any([deps.stopped, AbortSignal.timeout(30 * 60_000)]);
        const got = await upstream.fetchResult(upstreamId, workDir, signal);
        const made = await deps.finisher.finish({ task, ...got, channelId: row.channelId, workDir, signal });
        // The provider's own usage figures stay with the result (billing reconciles to them later).
        return status.usage ? { ...made, usage: status.usage } : made;
      });
      if (await commit(task, result, status)) {
        logger.info({ taskId: task.id, channel: row.channelId }, "task completed");
      }
      return null;
    } catch (e) {
      if (deps.stopped.aborted) return { ...keep(row), nextPollAt: clock.now() };
      const err = isReelayError(e) ? e : errors.upstreamBadContent(row.channelId, String(e));
      // Storage away for a while is not the download's fault: it waits (bounded by the deadline)
      // without spending one of the download's tries.
      const fetchErrors = row.fetchErrors + (err.code === ErrorCode.storageUnavailable ? 0 : 1);
      if (err.retryable && fetchErrors < settings.fetchAttempts) {
        logger.warn(
          { taskId: task.id, err: err.message, fetchErrors },
          "downloading a result failed; will retry",
        );
        const wait = pollRetryDelayMs(
          channel.spec.pollIntervalMs,
          settings.maxBackoffMs,
          fetchErrors,
          err.retryAfterS,
        );
        return { ...keep(row), fetchErrors, lastStatus: status.raw, nextPollAt: clock.now() + wait };
      }
      await deps.end(task, row, err);
      return null;
    } finally {
      clearInterval(renew);
      await rm(workDir, { recursive: true, force: true }).catch(() => undefined);
    }
  };
}
