/**
 * The task lifecycle: the one place a task's status changes. Callers say what happened (a job
 * started, a render finished, an upstream said it failed, the owner cancelled); the lifecycle
 * checks the move against the state machine (task.ts), writes it, and in the same transaction
 * does the money (charge, settle, refund) and the events (the task's feed, the webhook outbox)
 * that go with it.
 *
 * `TaskStore.update` stays the store's primitive; nothing outside this module calls it (a unit
 * test, test/unit/task-lifecycle-writers.test.ts, holds every caller to that).
 */

import { holdFor } from "../catalogue/hold.js";
import type { Billing } from "../catalogue/pricing.js";
import { settlementFor } from "../catalogue/settlement.js";
import { ErrorCode, errors, type ReelayError } from "../errors.js";
import type { Clock, Database, Tx } from "../ports.js";
import type { AttemptEnd, TaskAttempt, TaskAttemptStore, UpstreamUsage } from "../upstream/ports.js";
import { classOfError } from "../upstream/taxonomy.js";
import type { FeedChange, TaskFeed } from "./feed.js";
import type { TaskEvents, TaskPatch, TaskStore } from "./ports.js";
import { canWrite, type Task, type TaskCost, type TaskResult, type TaskStatus } from "./task.js";

// A task as it starts (stored by `open`): defined beside the Task type.
export { newTask } from "./task.js";

export interface TaskLifecycleDeps {
  readonly tasks: TaskStore;
  /** Credits and prices; null while billing is off. */
  readonly billing: Billing | null;
  readonly clock: Clock;
  /** Told of every task that ends, inside that transaction (the webhook outbox). */
  readonly events?: TaskEvents | undefined;
  /** Each accepted upstream submission of a task, ended with the task's moves; absent: none kept. */
  readonly attempts?: TaskAttemptStore | undefined;
  /**
   * The task's feed of changes (live event streams), written with each change; `db` opens the
   * transaction for the changes callers make outside one (progress reports).
   */
  readonly feed?: { readonly feed: TaskFeed; readonly db: Database } | undefined;
}

/** What an upstream says of a task it is running: waiting in its queue or under way, and how far. */
export interface UpstreamProgress {
  readonly queued: boolean;
  readonly progress: number;
}

/** An upstream channel accepted the task: where, under which id, and how far it is. */
export interface Acceptance extends UpstreamProgress {
  readonly channelId: string;
  readonly upstreamId: string;
}

/**
 * Why an upstream attempt failed: its class and the provider's own code and message, with what
 * the provider reports it used meanwhile, when it says.
 */
export type AttemptError = NonNullable<TaskAttempt["error"]> & { readonly usage?: UpstreamUsage | null };

/** The attempt's end for a failure `why`: the error as stored, its usage beside it, no credits. */
const failedAttempt = ({ usage, ...error }: AttemptError): AttemptEnd => ({
  outcome: "failed",
  error,
  usage: usage ?? null,
  credits: 0,
});

/** What follows a failed attempt: it is tried again (the task is pending), or the task failed. */
export type AfterFailure =
  | { readonly kind: "retry"; readonly free: boolean }
  | { readonly kind: "failed"; readonly task: Task | undefined; readonly err: ReelayError };

export interface TaskLifecycle {
  /**
   * A new task: its price held (when billing is on; the same price a quote shows) and stored
   * `pending`, in `tx`. Returns the task as stored (with its `cost`).
   */
  open(task: Task, payer: { keyId: string | null }, tx: Tx): Promise<Task>;
  /**
   * A claimed job starts (or restarts) the task: `processing`, attempt `attempt`; with
   * `beforeDeadline`, only if its deadline is after that time (else nothing is written).
   */
  start(
    task: Pick<Task, "id">,
    attempt: number,
    tx: Tx,
    opts?: { beforeDeadline?: number },
  ): Promise<Task | undefined>;
  /** A render got this far (0–99). Undefined when the task no longer runs (cancelled, deleted). */
  progress(taskId: string, pct: number): Promise<Task | undefined>;
  /** An upstream channel accepted the task: it mirrors the upstream's status from now on. */
  accepted(taskId: string, upstream: Acceptance, tx: Tx): Promise<Task | undefined>;
  /** The poller saw the upstream task still queued or running. */
  upstreamRunning(task: Task, upstream: UpstreamProgress): Promise<Task | undefined>;
  /** A local render finished: the task is completed and settled against what it delivered. */
  rendered(
    task: Task,
    done: { result: TaskResult; enhancedPrompt: string | null; note: string | null },
    tx: Tx,
  ): Promise<Task | undefined>;
  /** An upstream delivered, and its result is stored: the task is completed and settled. */
  delivered(
    task: Task,
    done: { result: TaskResult; enhancedPrompt: string | null },
    tx: Tx,
  ): Promise<Task | undefined>;
  /** The process stops under a running attempt: the task waits in the queue again. */
  interrupted(taskId: string, tx: Tx): Promise<Task | undefined>;
  /**
   * An attempt failed with `err`: it is tried again when that may help, there is an attempt left
   * (or it only waited for capacity) and the retry comes before the deadline; else the task fails.
   */
  attemptFailed(
    task: Task,
    attempt: { number: number; max: number; err: ReelayError; retryAt: number },
    tx: Tx,
  ): Promise<AfterFailure>;
  /**
   * The task failed for good: refunded, its event recorded, its running attempt (if any) ended
   * failed with `why` (else classed from `err`). Undefined when it had already ended.
   */
  fail(task: Task, err: ReelayError, tx: Tx, why?: AttemptError): Promise<Task | undefined>;
  /**
   * The task's upstream attempt failed for a reason that is not the request's and it goes to
   * another channel: waiting (`pending`) again, the attempt ended failed at no cost, the task's
   * one charge still held. The caller enqueues its render job in `tx`. Undefined when it ended.
   */
  failedOver(task: Task, why: AttemptError & { channelId: string }, tx: Tx): Promise<Task | undefined>;
  /** The owner cancelled: refunded, its event recorded. Undefined when it had already ended. */
  cancel(taskId: string, tx: Tx): Promise<Task | undefined>;
  /** The owner deleted the task: an undelivered one is refunded. True when it existed. */
  remove(task: Task, tx: Tx): Promise<boolean>;
  /**
   * The task's attempts changed without a status move (a failover records its lineage): its
   * feed gets a `video.attempt` event with the task as it now is.
   */
  attemptsChanged(task: Task, tx: Tx): Promise<void>;
}

/** Running statuses: the ones a task may leave. */
const RUNNING: readonly TaskStatus[] = ["pending", "processing"];

/**
 * The statuses in `from` each checked against the state machine for a write to `to`: a mistake in
 * this module's tables fails loudly at its first use, not as a silent no-op write.
 */
function checked(from: readonly TaskStatus[], to: TaskStatus, via?: TaskStatus): readonly TaskStatus[] {
  for (const f of from) {
    const direct = canWrite(f, to);
    const through = via !== undefined && canWrite(f, via) && canWrite(via, to);
    if (!direct && !through) throw new Error(`the state machine does not allow ${f} → ${to}`);
  }
  return from;
}

export function createTaskLifecycle(deps: TaskLifecycleDeps): TaskLifecycle {
  const { tasks, billing, clock } = deps;

  /** Records the change in the task's feed, and offers a progress event to the webhooks. */
  async function announce(task: Task, change: FeedChange, tx: Tx): Promise<void> {
    const e = await deps.feed?.feed.record(task, change, tx);
    if (e?.type === "video.progress") await deps.events?.taskProgressed?.(task, e, tx);
  }

  /**
   * The store's conditional write: nothing changes unless the task is in one of `from`. With a
   * feed, the change is recorded in it, in the same transaction (opened here when `tx` is absent).
   */
  async function write(
    id: string,
    patch: TaskPatch,
    from: readonly TaskStatus[],
    tx: Tx | undefined,
    /** What the feed records; null: the caller announces the change itself, once it is whole. */
    change: FeedChange | null = "status",
    beforeDeadline?: number,
  ): Promise<Task | undefined> {
    const feed = deps.feed;
    const opts = {
      now: clock.now(),
      onlyFrom: from,
      ...(beforeDeadline === undefined ? {} : { beforeDeadline }),
    };
    if (!feed || change === null) return tasks.update(id, patch, opts, tx);
    const run = async (t: Tx) => {
      const task = await tasks.update(id, patch, opts, t);
      if (task) await announce(task, change, t);
      return task;
    };
    return tx ? run(tx) : feed.db.transaction(run);
  }

  /** An ended task's cost after its ledger movement, written in that movement's transaction. */
  const costed = async (task: Task, cost: TaskCost, tx: Tx): Promise<Task> =>
    (await tasks.update(task.id, { cost }, { now: clock.now() }, tx)) ?? task;

  /** An ending write: the money and the event go with it, or nothing happens. */
  async function end(
    id: string,
    patch: TaskPatch & { status: "failed" | "cancelled" },
    attempt: AttemptEnd,
    tx: Tx,
  ): Promise<Task | undefined> {
    // Announced below, with its cost: the feed's final event is the task as it ends.
    let ended = await write(id, patch, checked(RUNNING, patch.status), tx, null);
    if (ended && billing) {
      await billing.accounts.refund(id, clock.now(), tx);
      // Nothing was settled before an undelivered end: the whole hold went back (once: this write
      // was conditional on the task still running, and the refund row is unique per task).
      if (ended.cost)
        ended = await costed(ended, { ...ended.cost, charged: 0, refunded: ended.cost.held }, tx);
    }
    if (ended) await deps.attempts?.ended(id, { ...attempt, now: clock.now() }, tx);
    if (ended) await announce(ended, "status", tx);
    if (ended) await deps.events?.taskEnded(ended, tx);
    return ended;
  }

  async function complete(
    id: string,
    patch: TaskPatch & { result: TaskResult },
    from: readonly TaskStatus[],
    tx: Tx,
  ): Promise<Task | undefined> {
    // Announced below, with its cost: the feed's final event is the task as it ends.
    let done = await write(id, { ...patch, status: "completed", progress: 100, error: null }, from, tx, null);
    // Settled from the task as stored (its hold), once: the write above was conditional.
    const s = done && billing ? settlementFor(billing.prices, done, patch.result) : null;
    if (done && billing && s) {
      await billing.accounts.settle(
        { taskId: id, release: s.release, now: clock.now(), detail: s.detail },
        tx,
      );
      if (s.cost) done = await costed(done, s.cost, tx);
    }
    // The attempt that delivered (an upstream task's) carries the task's one settled charge.
    if (done)
      await deps.attempts?.ended(
        id,
        {
          outcome: "completed",
          usage: patch.result.usage ?? null,
          credits: done.cost?.charged ?? 0,
          now: clock.now(),
        },
        tx,
      );
    if (done) await announce(done, "status", tx);
    if (done) await deps.events?.taskEnded(done, tx);
    return done;
  }

  const fail = (task: Task, err: ReelayError, tx: Tx, why?: AttemptError) =>
    end(
      task.id,
      { status: "failed", error: { code: err.code, message: err.message }, failureReason: err.message },
      failedAttempt(why ?? { class: classOfError(err), code: err.code, message: err.message }),
      tx,
    );

  const mirrored = (u: UpstreamProgress): TaskStatus => (u.queued ? "pending" : "processing");
  const clampPct = (p: number) => Math.max(0, Math.min(99, Math.round(p)));

  return {
    async open(task, payer, tx) {
      if (task.status !== "pending") throw new Error(`a new task starts pending, not ${task.status}`);
      const stored = billing ? await holdFor(billing, task, payer, tx) : task;
      await tasks.insert(stored, tx);
      await deps.feed?.feed.opened(stored, tx);
      return stored;
    },

    start: (task, attempt, tx, opts = {}) =>
      // From processing too: a job whose lease ran out is claimed again and restarts its task.
      write(
        task.id,
        { status: "processing", progress: 0, attempts: attempt },
        checked(RUNNING, "processing"),
        tx,
        "status",
        opts.beforeDeadline,
      ),

    // No status in the patch: writing one would move `statusUpdatedAt`, and progress is no move.
    progress: (taskId, pct) =>
      write(taskId, { progress: pct }, checked(["processing"], "processing"), undefined, "progress"),

    async accepted(taskId, upstream, tx) {
      const moved = await write(
        taskId,
        { status: mirrored(upstream), progress: clampPct(upstream.progress), failureReason: null },
        checked(["processing"], mirrored(upstream)),
        tx,
      );
      if (moved) {
        await deps.attempts?.started(
          { taskId, channelId: upstream.channelId, upstreamId: upstream.upstreamId, now: clock.now() },
          tx,
        );
        await announce(moved, "attempt", tx);
      }
      return moved;
    },

    async upstreamRunning(task, upstream) {
      const status = mirrored(upstream);
      const progress = clampPct(upstream.progress);
      if (status === task.status && progress === task.progress) return task;
      const change = status === task.status ? "progress" : "status";
      return write(task.id, { status, progress }, checked(RUNNING, status), undefined, change);
    },

    rendered: (task, { result, enhancedPrompt, note }, tx) =>
      complete(
        task.id,
        { result, enhancedPrompt, failureReason: note },
        checked(["processing"], "completed"),
        tx,
      ),

    delivered: (task, { result, enhancedPrompt }, tx) =>
      complete(
        task.id,
        { result, enhancedPrompt, failureReason: null },
        // An upstream task last seen queued may turn up finished: it ran meanwhile, unseen.
        checked(RUNNING, "completed", "processing"),
        tx,
      ),

    interrupted: (taskId, tx) =>
      write(taskId, { status: "pending", progress: 0 }, checked(["processing"], "pending"), tx),

    async attemptFailed(task, { number, max, err, retryAt }, tx) {
      // Every channel busy or cooling down, or the storage away for a while: the task waits for
      // the service to come back, it did not fail (so the retry spends no attempt; the deadline
      // still bounds the wait).
      const free = err.code === ErrorCode.providerUnavailable || err.code === ErrorCode.storageUnavailable;
      if (err.retryable && (free || number < max) && retryAt < task.deadlineAt) {
        await write(
          task.id,
          { status: "pending", progress: 0, failureReason: `attempt ${number} failed: ${err.message}` },
          checked(["processing"], "pending"),
          tx,
        );
        return { kind: "retry", free };
      }
      const final = err.retryable && number >= max ? errors.retriesExhausted(number, err.message) : err;
      return { kind: "failed", task: await fail(task, final, tx), err: final };
    },

    fail,

    async failedOver(task, why, tx) {
      const { channelId, ...failure } = why;
      const moved = await write(
        task.id,
        {
          status: "pending",
          progress: 0,
          failureReason: `failed on channel '${channelId}' (${failure.class}: ${failure.message}); sent to another channel`,
        },
        checked(RUNNING, "pending"),
        tx,
      );
      // No money moves: the failed attempt costs nothing and the task's charge stays held for the next.
      if (moved) {
        await deps.attempts?.ended(task.id, { ...failedAttempt(failure), now: clock.now() }, tx);
        await announce(moved, "attempt", tx);
      }
      return moved;
    },

    cancel: (taskId, tx) =>
      end(
        taskId,
        { status: "cancelled", error: { code: "cancelled", message: "Cancelled by the caller" } },
        { outcome: "cancelled", credits: 0 },
        tx,
      ),

    async remove(task, tx) {
      // An unfinished task that is deleted was never delivered: its charge goes back.
      if (billing && task.status !== "completed") await billing.accounts.refund(task.id, clock.now(), tx);
      await deps.attempts?.forget(task.id, tx);
      await deps.feed?.feed.forget(task.id, tx);
      return tasks.delete(task.id, tx);
    },

    attemptsChanged: (task, tx) => announce(task, "attempt", tx),
  };
}
