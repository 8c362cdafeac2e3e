/**
 * The upstream poller: follows every task an upstream has accepted until it ends. One loop per
 * process, not one timer or queue job per task: it leases as many due tasks as it has free lanes
 * (`concurrency`), follows each in its lane, and writes the outcomes back before it leases more
 * (those that came in meanwhile in one transaction). Thousands of tasks in flight cost a row each
 * in the store and nothing in memory; a poller that dies holds back only the tasks it was
 * following, for one lease.
 */
import { mkdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { dropUploads } from "./blob_keys.js";
import type { ChannelRouter } from "./channels.js";
import { ErrorCode, errors, isReelayError, type ReelayError } from "./errors.js";
import { gate } from "./gate.js";
import type { BlobStore, Clock, Database, Logger, TaskEvents, TaskStore, Telemetry } from "./ports.js";
import { type Billing, settleDelivered } from "./pricing.js";
import { isTerminal, type Task, type TaskResult } from "./task.js";
import { failTask } from "./task_failure.js";
import type { UpstreamStatus, UpstreamTaskRecord, UpstreamTaskStore } from "./upstream.js";

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

export interface UpstreamPoller {
  start(): void;
  /** Looks for due tasks now. */
  wake(): void;
  stop(): Promise<void>;
}

type Outcome = {
  taskId: string;
  nextPollAt: number;
  pollErrors: number;
  fetchErrors: number;
  lastStatus: string | null;
} | null;

export function createUpstreamPoller(deps: {
  db: Database;
  tasks: TaskStore;
  upstreamTasks: UpstreamTaskStore;
  router: ChannelRouter;
  blobs: BlobStore;
  finisher: ResultFinisher;
  billing: Billing | null;
  clock: Clock;
  logger: Logger;
  telemetry: Telemetry;
  /** Told of every task the poller ends, inside that transaction (the webhook outbox). */
  events?: TaskEvents;
  settings: PollerSettings;
}): UpstreamPoller {
  const { db, tasks, upstreamTasks, router, clock, logger, settings } = deps;
  const stopper = new AbortController();
  const fetching = gate(settings.fetchConcurrency);
  let timer: NodeJS.Timeout | undefined;
  let again = false;
  let stopped = true;

  const backoff = (errorsInRow: number, retryAfterS: number | null, baseMs: number) => {
    const exp = Math.min(settings.maxBackoffMs, baseMs * 2 ** Math.min(10, errorsInRow));
    const jittered = exp / 2 + Math.random() * (exp / 2);
    // Whole milliseconds: times are stored as integers (PostgreSQL's bigint refuses fractions).
    return Math.round(Math.max(jittered, (retryAfterS ?? 0) * 1000));
  };

  async function end(task: Task, row: UpstreamTaskRecord, err: ReelayError): Promise<void> {
    logger.warn(
      { taskId: task.id, channel: row.channelId, code: err.code, message: err.message },
      "task failed",
    );
    const ended = await db.transaction(async (tx) => {
      await upstreamTasks.finish(task.id, tx);
      return failTask(deps, task, err, tx);
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

  async function complete(task: Task, row: UpstreamTaskRecord, status: UpstreamStatus): Promise<Outcome> {
    const channel = router.get(row.channelId);
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
        const signal = AbortSignal.any([stopper.signal, AbortSignal.timeout(30 * 60_000)]);
        const got = await upstream.fetchResult(upstreamId, workDir, signal);
        return deps.finisher.finish({ task, ...got, channelId: row.channelId, workDir, signal });
      });
      const done = await db.transaction(async (tx) => {
        const updated = await tasks.update(
          task.id,
          {
            status: "completed",
            progress: 100,
            result,
            enhancedPrompt: status.enhancedPrompt ?? task.request.prompt,
            error: null,
            failureReason: null,
          },
          { now: clock.now(), onlyFrom: ["pending", "processing"] },
          tx,
        );
        await upstreamTasks.finish(task.id, tx);
        if (updated && deps.billing) await settleDelivered(deps.billing, updated, result, clock.now(), tx);
        if (updated) await deps.events?.taskEnded(updated, tx);
        return updated;
      });
      if (!done) {
        // Completed meanwhile by another process's poller (this one's lease ran out while the
        // download waited or ran), or cancelled or deleted. This download stored under a folder of
        // its own (blob_keys.ts), which nobody points to: it goes, the task's own files stay.
        const current = await tasks.get(task.id);
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
        return null;
      }
      logger.info({ taskId: task.id, channel: row.channelId }, "task completed");
      return null;
    } catch (e) {
      if (stopper.signal.aborted) return { ...keep(row), nextPollAt: clock.now() };
      const err = isReelayError(e) ? e : errors.upstreamBadContent(row.channelId, String(e));
      // Storage away for a while is not the download's fault: it waits (bounded by the deadline)
      // without spending one of the download's tries.
      const fetchErrors = row.fetchErrors + (err.code === ErrorCode.storageUnavailable ? 0 : 1);
      if (err.retryable && fetchErrors < settings.fetchAttempts) {
        logger.warn(
          { taskId: task.id, err: err.message, fetchErrors },
          "downloading a result failed; will retry",
        );
        return {
          ...keep(row),
          fetchErrors,
          lastStatus: status.raw,
          nextPollAt: clock.now() + backoff(fetchErrors, err.retryAfterS, channel.spec.pollIntervalMs),
        };
      }
      await end(task, row, err);
      return null;
    } finally {
      clearInterval(renew);
      await rm(workDir, { recursive: true, force: true }).catch(() => undefined);
    }
  }

  const keep = (row: UpstreamTaskRecord) => ({
    taskId: row.taskId,
    nextPollAt: row.nextPollAt,
    pollErrors: row.pollErrors,
    fetchErrors: row.fetchErrors,
    lastStatus: row.lastStatus,
  });

  async function follow(row: UpstreamTaskRecord): Promise<Outcome> {
    const now = clock.now();
    const task = await tasks.get(row.taskId);
    if (!task || isTerminal(task.status)) {
      // Cancelled or deleted here: stop it there too, so it is not left running (and billing) upstream.
      if (!task || task.status === "cancelled") await cancelUpstream(row);
      await upstreamTasks.finish(row.taskId);
      return null;
    }
    const channel = router.get(row.channelId);
    if (!channel?.upstream || !row.upstreamId) {
      await end(
        task,
        row,
        errors.upstreamFailed(
          row.channelId,
          null,
          "this channel is no longer configured, so the task cannot be followed",
        ),
      );
      return null;
    }
    if (now >= task.deadlineAt) {
      await cancelUpstream(row);
      const s = Math.round((task.deadlineAt - task.createdAt) / 1000);
      await end(
        task,
        row,
        errors.taskTimeout(
          s,
          `channel '${row.channelId}' still reported it as '${row.lastStatus ?? "unknown"}'`,
        ),
      );
      return null;
    }
    let polled: { status: UpstreamStatus; retryAfterS: number | null };
    const started = performance.now();
    try {
      polled = await channel.upstream.poll(
        row.upstreamId,
        AbortSignal.any([stopper.signal, AbortSignal.timeout(30_000)]),
      );
      deps.telemetry.upstreamPoll?.({
        channel: row.channelId,
        seconds: (performance.now() - started) / 1000,
        outcome: "ok",
      });
    } catch (e) {
      const code = isReelayError(e) ? e.code : "exception";
      deps.telemetry.upstreamPoll?.({
        channel: row.channelId,
        seconds: (performance.now() - started) / 1000,
        outcome: code,
      });
      const pollErrors = row.pollErrors + 1;
      const retryAfterS = isReelayError(e) ? e.retryAfterS : null;
      if (pollErrors === 1 || pollErrors % 10 === 0)
        logger.warn(
          { taskId: task.id, channel: row.channelId, err: (e as Error).message, pollErrors },
          "polling failed; will retry",
        );
      return {
        ...keep(row),
        pollErrors,
        nextPollAt: now + backoff(pollErrors, retryAfterS, channel.spec.pollIntervalMs),
      };
    }
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
      case "failed":
        await end(
          task,
          row,
          errors.upstreamFailed(
            row.channelId,
            status.error?.code ?? null,
            status.error?.message ?? "no reason given",
          ),
        );
        return null;
      case "expired":
        await end(task, row, errors.upstreamExpired(row.channelId, status.raw ?? "expired"));
        return null;
      default: {
        const mirrored = status.state === "queued" ? "pending" : "processing";
        const progress = Math.max(0, Math.min(99, Math.round(status.progress ?? task.progress)));
        if (mirrored !== task.status || progress !== task.progress) {
          await tasks.update(
            task.id,
            { status: mirrored, progress },
            { now, onlyFrom: ["pending", "processing"] },
          );
        }
        const wait = Math.max(channel.spec.pollIntervalMs, (polled.retryAfterS ?? 0) * 1000);
        return { ...keep(row), pollErrors: 0, lastStatus: status.raw, nextPollAt: now + wait };
      }
    }
  }

  /** Tasks being followed now (each holds its lease), at most `settings.concurrency`. */
  const following = new Set<Promise<void>>();
  let filling = false;
  /** The fill under way (or the last one). */
  let filled: Promise<void> = Promise.resolve();
  /** Outcomes waiting to be written; written together while no write is under way. */
  const unsaved: NonNullable<Outcome>[] = [];
  let saving: Promise<void> | null = null;

  /**
   * Writes the outcomes collected so far in one transaction (several polls, one commit). When that
   * fails, each is written on its own: one bad row must not keep the others' counts and times
   * from being saved (their leases would hold them back until they ran out).
   */
  function save(): Promise<void> {
    saving ??= (async () => {
      while (unsaved.length > 0) {
        const batch = unsaved.splice(0);
        await upstreamTasks.saveMany(batch).catch(async (e) => {
          if (batch.length === 1) {
            logger.error({ err: e, taskId: batch[0]?.taskId }, "saving an upstream task's poll failed");
            return;
          }
          for (const o of batch) {
            await upstreamTasks
              .saveMany([o])
              .catch((err) =>
                logger.error({ err, taskId: o.taskId }, "saving an upstream task's poll failed"),
              );
          }
        });
      }
    })().finally(() => {
      // What came in after the loop's last look is written by the next fill (or stop).
      saving = null;
    });
    return saving;
  }

  async function followOne(row: UpstreamTaskRecord): Promise<void> {
    try {
      const o = await follow(row);
      // Written by the next fill, with the others that ended meanwhile; its lease holds till then.
      if (o) unsaved.push(o);
    } catch (e) {
      logger.error({ err: e, taskId: row.taskId }, "following an upstream task failed");
    }
  }

  /**
   * Under load, lanes are refilled once a quarter of them are free (at once when none is busy):
   * outcomes are written and tasks leased in batches, a few transactions a second rather than
   * two per poll.
   */
  const refillAt = Math.max(1, Math.floor(settings.concurrency / 4));

  /**
   * Writes the outcomes that came in, then leases as many due tasks as there are free lanes and
   * follows each in its own lane: a lease lasts while its task is polled (or its result
   * downloaded) and until its outcome is written, so a poller that dies holds back only those,
   * for one lease.
   */
  function fill(): Promise<void> {
    if (filling) {
      again = true;
      return filled;
    }
    filling = true;
    filled = fillLanes();
    return filled;
  }

  async function fillLanes(): Promise<void> {
    try {
      do {
        again = false;
        await save();
        // An outcome not yet written still holds its lease: it keeps its lane until then.
        const free = settings.concurrency - following.size - unsaved.length;
        if (stopped || free <= 0) break;
        const rows = await upstreamTasks.claimDue({
          limit: free,
          now: clock.now(),
          leaseMs: settings.leaseMs,
        });
        for (const row of rows) {
          const lane: Promise<void> = followOne(row).finally(() => {
            following.delete(lane);
            if (following.size === 0 || settings.concurrency - following.size >= refillAt) void fill();
          });
          following.add(lane);
        }
        if (rows.length === free) again = true;
      } while (again);
    } catch (e) {
      logger.error({ err: e }, "leasing upstream tasks failed");
    } finally {
      filling = false;
    }
  }

  return {
    start() {
      stopped = false;
      timer = setInterval(() => void fill(), settings.idleMs);
      void fill();
    },
    wake() {
      if (!stopped) void fill();
    },
    async stop() {
      stopped = true;
      if (timer) clearInterval(timer);
      stopper.abort();
      // A claim under way may still start lanes: wait for it first.
      await filled;
      await Promise.all([...following]);
      // Until every outcome is written, including those that came in during a write under way.
      while (saving || unsaved.length > 0) await save();
    },
  };
}
