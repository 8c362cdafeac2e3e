/**
 * The upstream poller: follows every task an upstream has accepted until it ends. One loop per
 * process, not one timer or queue job per task: it leases as many due tasks as it has free lanes
 * (`concurrency`), follows each in its lane, and writes the outcomes back as it leases more
 * (those that came in meanwhile and the next lease in one transaction). Thousands of tasks in flight cost a row each
 * in the store and nothing in memory; a poller that dies holds back only the tasks it was
 * following, for one lease. This file is the lanes and their scheduling; one follow of a task is
 * poller_follow.ts, the download of a finished one poller_result.ts.
 */
import { gate } from "../gate.js";
import { createFollower } from "./poller_follow.js";
import type { Outcome, PollerDeps } from "./poller_result.js";
import type { UpstreamTaskRecord } from "./ports.js";

export type { PollerDeps, PollerSettings, ResultFinisher } from "./poller_result.js";

export interface UpstreamPoller {
  start(): void;
  /** Looks for due tasks now. */
  wake(): void;
  stop(): Promise<void>;
}

export function createUpstreamPoller(deps: PollerDeps): UpstreamPoller {
  const { db, upstreamTasks, clock, logger, settings } = deps;
  const stopper = new AbortController();
  const downloads = gate(settings.fetchConcurrency);
  const follow = createFollower({ ...deps, stopped: stopper.signal, downloads });
  let timer: NodeJS.Timeout | undefined;
  let again = false;
  let stopped = true;

  /** Tasks being followed now (each holds its lease), at most `settings.concurrency`. */
  const following = new Set<Promise<void>>();
  /** The ids of the tasks being followed now. */
  const followed = new Set<string>();
  let filling = false;
  /** The fill under way (or the last one). */
  let filled: Promise<void> = Promise.resolve();
  /** Outcomes waiting to be written; written together while no write is under way. */
  const unsaved: NonNullable<Outcome>[] = [];
  let saving: Promise<void> | null = null;

  /**
   * Writes `batch` (one statement). When that fails, each outcome is written on its own: one bad
   * row must not keep the others' counts and times from being saved (their leases would hold
   * them back until they ran out).
   */
  async function write(batch: NonNullable<Outcome>[]): Promise<void> {
    await db
      .transaction((tx) => upstreamTasks.saveMany(batch, tx))
      .catch(async (e) => {
        if (batch.length === 1) {
          logger.error({ err: e, taskId: batch[0]?.taskId }, "saving an upstream task's poll failed");
          return;
        }
        for (const o of batch) {
          await db
            .transaction((tx) => upstreamTasks.saveMany([o], tx))
            .catch((err) => logger.error({ err, taskId: o.taskId }, "saving an upstream task's poll failed"));
        }
      });
  }

  /** Writes the outcomes collected so far, until none is left (several polls, one commit). */
  function save(): Promise<void> {
    saving ??= (async () => {
      while (unsaved.length > 0) await write(unsaved.splice(0));
    })().finally(() => {
      // What came in after the loop's last look is written by the next fill (or stop).
      saving = null;
    });
    return saving;
  }

  /**
   * Writes the outcomes collected so far and leases up to `limit` due tasks in one transaction:
   * one commit (one fsync on SQLite, shared with the other transactions waiting then) per batch
   * of polls rather than two. When that fails, the outcomes are written as `write` does and the
   * lease is taken on its own.
   */
  async function saveAndClaim(limit: number): Promise<UpstreamTaskRecord[]> {
    await saving;
    const batch = unsaved.splice(0);
    const claim = { limit, now: clock.now(), leaseMs: settings.leaseMs };
    if (batch.length === 0) return db.transaction((tx) => upstreamTasks.claimDue(claim, tx));
    try {
      return await db.transaction(async (tx) => {
        await upstreamTasks.saveMany(batch, tx);
        return upstreamTasks.claimDue(claim, tx);
      });
    } catch {
      await write(batch);
      return db.transaction((tx) => upstreamTasks.claimDue({ ...claim, now: clock.now() }, tx));
    }
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
   * How many tasks a claim may lease, as far as downloads go. A leased task that turns out
   * finished waits for a download slot while it holds its lease, and no other process may take
   * it: with every slot busy, the tasks followed and not downloading (waiting for a slot, or
   * being polled and so perhaps about to) are kept to as many as the slots, so the finished
   * tasks this process cannot download soon stay due, for a process whose slots are free (4
   * workers share the work evenly instead of one holding a backlog while another has nothing
   * to do). Polls wait meanwhile: a download ending makes room, and a task not leased is polled
   * late rather than downloaded late.
   */
  function downloadRoom(): number {
    if (downloads.running < settings.fetchConcurrency) return Number.POSITIVE_INFINITY;
    return Math.max(0, settings.fetchConcurrency - (following.size - downloads.running));
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
        // An outcome not yet written still holds its lease: its lane is free once it is written,
        // which the claim's transaction does first.
        const free = Math.min(settings.concurrency - following.size, downloadRoom());
        if (stopped || free <= 0) {
          await save();
          break;
        }
        const rows = await saveAndClaim(free);
        for (const row of rows) {
          // Made due again while this process follows it (a provider's callback): the follow
          // under way answers for it, and writes its next poll.
          if (followed.has(row.taskId)) continue;
          followed.add(row.taskId);
          const lane: Promise<void> = followOne(row).finally(() => {
            followed.delete(row.taskId);
            following.delete(lane);
            if (following.size === 0 || settings.concurrency - following.size >= refillAt) void fill();
          });
          following.add(lane);
        }
        if (rows.length === free) again = true;
        // Another pass only for a batch's worth of free lanes: lanes that ended during this one
        // asked for it, but a pass for each handful would be a commit for a handful of polls
        // (the next batch comes once enough lanes are free, or on the idle timer).
        if (following.size > 0 && settings.concurrency - following.size < refillAt) again = false;
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
