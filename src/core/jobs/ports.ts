/**
 * The job queue port (split from ports.ts, which re-exports it): jobs written in the transactions
 * of the rows they serve, leased to workers, retried, dead-lettered.
 */
import type { Tx } from "../ports.js";

/** Versioned payloads: a worker refuses a version it does not know instead of misreading it. */
export type JobPayload =
  | {
      kind: "render";
      version: 1;
      taskId: string;
      /** The id of the HTTP request that created the task, so its log lines can be followed into the worker. */
      requestId?: string;
    }
  | {
      kind: "storyboard";
      version: 1;
      /** The storyboard (parent task) to move on: start its next shot, join its film, or end it. */
      taskId: string;
      requestId?: string;
    }
  | {
      kind: "webhook";
      version: 1;
      /** The webhook delivery this job sends. */
      deliveryId: string;
      /** The task the event is about (for log lines). */
      taskId: string;
      /** Never set: here so that code reading any job's log fields needs no kind check. */
      requestId?: undefined;
    };
export type JobKind = JobPayload["kind"];

export interface NewJob {
  readonly payload: JobPayload;
  /** Epoch ms before which the job is not handed out. */
  readonly runAt: number;
  readonly maxAttempts: number;
}

export interface ClaimedJob {
  readonly id: string;
  readonly payload: JobPayload;
  /** 1 on the first run. */
  readonly attempt: number;
  readonly maxAttempts: number;
  /** Proves this worker still holds the lease: stale holders cannot complete or retry the job. */
  readonly leaseToken: string;
  /** Earlier attempts cut short by the death of their process (not counted in `attempt`). */
  readonly interrupted: number;
}

export interface QueueDepth {
  readonly queued: number;
  readonly running: number;
  readonly dead: number;
}

export interface JobQueue {
  /** Adds a job; with `tx` it commits or rolls back together with that transaction. */
  enqueue(job: NewJob, tx?: Tx): Promise<string>;
  /**
   * Leases up to `limit` due jobs for `leaseMs`. An expired lease makes the job claimable again.
   * With `kinds`, only jobs of those kinds (each runner claims its own, so none starves another).
   * With `tx`, the claim commits or rolls back with that transaction (the worker marks the
   * claimed tasks `processing` in the same commit).
   */
  claim(
    opts: {
      limit: number;
      leaseMs: number;
      now: number;
      kinds?: readonly JobKind[];
    },
    tx?: Tx,
  ): Promise<ClaimedJob[]>;
  /** Extends a held lease; false when the lease was lost (expired and taken by another worker). */
  extendLease(job: ClaimedJob, opts: { leaseMs: number; now: number }): Promise<boolean>;
  /** Removes a finished job. */
  complete(job: ClaimedJob, tx?: Tx): Promise<void>;
  /**
   * Hands the job back to run again at `runAt`, recording why. `free`: the attempt does not count
   * (the job waited for capacity, e.g. every channel at its cap; it did not fail).
   */
  retry(job: ClaimedJob, opts: { runAt: number; error: string; free?: boolean }, tx?: Tx): Promise<void>;
  /**
   * Hands a job back unfinished, not counting the attempt (its worker is shutting down): it runs
   * again at once, as a job whose process died would.
   */
  release(job: ClaimedJob, tx?: Tx): Promise<void>;
  /** Moves the job to the dead-letter state, recording why. */
  bury(job: ClaimedJob, error: string, tx?: Tx): Promise<void>;
  /**
   * Ends every lease at once, handing the attempts back (the process died, not the job) and
   * counting an interruption. Only safe when no other worker can hold one (embedded mode at start).
   */
  releaseAllLeases(): Promise<number>;
  depth(now: number): Promise<QueueDepth>;
}
