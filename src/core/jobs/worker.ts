/**
 * The render worker's claim loop: claims as many render jobs as it has free slots, starts each
 * task in the claim's transaction (job_start.ts), and runs each job (worker_job.ts) until it ends
 * (worker_outcome.ts). Stopping aborts the running jobs and hands them back to the queue.
 */
import { gate } from "../gate.js";
import type { Logger } from "../ports.js";
import { type Plan, planJob } from "./job_start.js";
import type { ClaimedJob } from "./ports.js";
import { createJobRunner, type WorkerDeps } from "./worker_job.js";
import { createJobEnder, Shutdown, TaskGone } from "./worker_outcome.js";

export type { WorkerDeps, WorkerSettings } from "./worker_job.js";

export interface Worker {
  start(): void;
  /** Looks for work now instead of at the next poll. */
  wake(): void;
  /** Stops the task's running attempt in this process, if there is one (after a cancel or delete). */
  interrupt(taskId: string): void;
  /** Stops taking jobs; aborts running ones and hands them back to the queue. */
  stop(): Promise<void>;
  /** Jobs running in this worker now. */
  readonly active: number;
}

/** Runs are keyed by claim: a job whose lease ran out may be claimed again while its first run goes on. */
const claimKey = (job: ClaimedJob): string => `${job.id}:${job.leaseToken}`;

export function createWorker(deps: WorkerDeps): Worker {
  const { db, tasks, queue, lifecycle, clock, logger, settings } = deps;
  // With upstream channels a job may be a short create call: more jobs run than renders, and
  // renders take a slot of their own. Concurrency 0 still means "run nothing".
  const jobSlots =
    deps.dispatcher && settings.concurrency > 0
      ? settings.concurrency + settings.submitConcurrency
      : settings.concurrency;
  const runJob = createJobRunner({
    ...deps,
    ender: createJobEnder(deps),
    rendering: gate(Math.max(1, settings.concurrency)),
  });
  const running = new Map<string, { controller: AbortController; done: Promise<void>; taskId: string }>();
  /**
   * Running jobs that may still need a render slot (not yet handed to an upstream channel). Claims
   * never exceed the free render slots: a job claimed only to wait for one would hold its lease,
   * and a killed worker would delay it for a lease for nothing.
   */
  const mayRender = new Set<string>();
  let timer: NodeJS.Timeout | undefined;
  let stopping = false;
  let filling = false;
  let again = false;
  let wakePending = false;

  async function fill(): Promise<void> {
    // One claim loop at a time; a wake during it asks for one more pass.
    if (filling) {
      again = true;
      return;
    }
    filling = true;
    try {
      do {
        again = false;
        const free = Math.min(jobSlots - running.size, settings.concurrency - mayRender.size);
        if (stopping || free <= 0) break;
        const claimed = await db.transaction(async (tx) => {
          const jobs = await queue.claim(
            { limit: free, leaseMs: settings.leaseMs, now: clock.now(), kinds: ["render"] },
            tx,
          );
          const plans: { job: ClaimedJob; plan: Plan }[] = [];
          for (const job of jobs)
            plans.push({ job, plan: await planJob(job, tx, { tasks, lifecycle, clock }) });
          return plans;
        });
        for (const { job, plan } of claimed) launch(job, plan);
        if (claimed.length === free) again = true;
      } while (again);
    } catch (e) {
      logger.error({ err: e }, "claiming jobs failed");
    } finally {
      filling = false;
    }
  }

  function launch(job: ClaimedJob, plan: Plan): void {
    const claim = claimKey(job);
    const controller = new AbortController();
    const toUpstream = () => {
      mayRender.delete(claim);
      void fill();
    };
    const done = runJob(job, plan, { controller, log: logFor(job), toUpstream })
      .catch((e) => logger.error({ err: e, jobId: job.id }, "job handler crashed"))
      .finally(() => {
        running.delete(claim);
        mayRender.delete(claim);
        void fill();
      });
    running.set(claim, { controller, done, taskId: job.payload.taskId });
    mayRender.add(claim);
  }

  /** Log lines of one job carry its task and the id of the request that created it. */
  const logFor = (job: ClaimedJob): Logger =>
    logger.child({
      taskId: job.payload.taskId,
      jobId: job.id,
      ...(job.payload.requestId ? { reqId: job.payload.requestId } : {}),
    });

  return {
    start() {
      stopping = false;
      timer = setInterval(() => void fill(), settings.pollIntervalMs);
      void fill();
    },
    interrupt(taskId) {
      for (const r of running.values()) {
        if (r.taskId === taskId) r.controller.abort(new TaskGone("task cancelled or deleted"));
      }
    },
    wake() {
      // Wakes in the same turn of the event loop (a burst of creates) make one claim, not one each.
      if (wakePending) return;
      wakePending = true;
      setImmediate(() => {
        wakePending = false;
        void fill();
      });
    },
    async stop() {
      stopping = true;
      if (timer) clearInterval(timer);
      for (const { controller } of running.values()) controller.abort(new Shutdown("shutdown"));
      await Promise.all([...running.values()].map((r) => r.done));
    },
    get active() {
      return running.size;
    },
  };
}
