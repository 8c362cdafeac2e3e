/**
 * The task lifecycle: the one place a task's status changes. Callers say what happened (a job
 * started, a render finished, an upstream said it failed, the owner cancelled); the lifecycle
 * checks the move against the state machine (task.ts), writes it, and in the same transaction
 * does the money (charge, settle, refund) and the event (the webhook outbox) that go with it.
 *
 * `TaskStore.update` stays the store's primitive; nothing outside this module calls it (a unit
 * test, test/unit/task-lifecycle-writers.test.ts, holds every caller to that).
 */

import { type Billing, chargeOf, priceOf, settleDelivered } from "../catalogue/pricing.js";
import { ErrorCode, errors, type ReelayError } from "../errors.js";
import type { Clock, Tx } from "../ports.js";
import type { TaskEvents, TaskPatch, TaskStore } from "./ports.js";
import { canWrite, type Task, type TaskResult, type TaskStatus, type VideoRequest } from "./task.js";

export interface TaskLifecycleDeps {
  readonly tasks: TaskStore;
  /** Credits and prices; null while billing is off. */
  readonly billing: Billing | null;
  readonly clock: Clock;
  /** Told of every task that ends, inside that transaction (the webhook outbox). */
  readonly events?: TaskEvents | undefined;
}

/** What an upstream says of a task it is running: waiting in its queue or under way, and how far. */
export interface UpstreamProgress {
  readonly queued: boolean;
  readonly progress: number;
}

/** What follows a failed attempt: it is tried again (the task is pending), or the task failed. */
export type AfterFailure =
  | { readonly kind: "retry"; readonly free: boolean }
  | { readonly kind: "failed"; readonly task: Task | undefined; readonly err: ReelayError };

export interface TaskLifecycle {
  /** A new task: charged its price (when billing is on) and stored `pending`, in `tx`. */
  open(task: Task, payer: { keyId: string | null }, tx: Tx): Promise<void>;
  /** A claimed job starts (or restarts) the task: `processing`, attempt `attempt`. */
  start(task: Task, attempt: number, tx: Tx): Promise<Task | undefined>;
  /** A render got this far (0–99). Undefined when the task no longer runs (cancelled, deleted). */
  progress(taskId: string, pct: number): Promise<Task | undefined>;
  /** An upstream channel accepted the task: it mirrors the upstream's status from now on. */
  accepted(taskId: string, upstream: UpstreamProgress, tx: Tx): Promise<Task | undefined>;
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
  /** The task failed for good: refunded, its event recorded. Undefined when it had already ended. */
  fail(task: Task, err: ReelayError, tx: Tx): Promise<Task | undefined>;
  /** The owner cancelled: refunded, its event recorded. Undefined when it had already ended. */
  cancel(taskId: string, tx: Tx): Promise<Task | undefined>;
  /** The owner deleted the task: an undelivered one is refunded. True when it existed. */
  remove(task: Task, tx: Tx): Promise<boolean>;
}

/** A task as it starts: pending, nothing tried yet. Stored by `open`. */
export const newTask = (t: {
  id: string;
  ownerId: string;
  request: VideoRequest;
  now: number;
  deadlineAt: number;
}): Task => ({
  id: t.id,
  ownerId: t.ownerId,
  request: t.request,
  status: "pending",
  progress: 0,
  createdAt: t.now,
  statusUpdatedAt: t.now,
  deadlineAt: t.deadlineAt,
  attempts: 0,
  error: null,
  failureReason: null,
  enhancedPrompt: null,
  result: null,
});

/** The model a charge found no price for: a storyboard names its shot's. */
const unpricedModel = (billing: Billing, r: VideoRequest): string =>
  r.storyboard?.shots.find((s) => priceOf(billing.prices, s.request) === null)?.request.model ?? r.model;

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

  /** The store's conditional write: nothing changes unless the task is in one of `from`. */
  const write = (id: string, patch: TaskPatch, from: readonly TaskStatus[], tx?: Tx) =>
    tasks.update(id, patch, { now: clock.now(), onlyFrom: from }, tx);

  /** An ending write: the money and the event go with it, or nothing happens. */
  async function end(
    id: string,
    patch: TaskPatch & { status: "failed" | "cancelled" },
    tx: Tx,
  ): Promise<Task | undefined> {
    const ended = await write(id, patch, checked(RUNNING, patch.status), tx);
    if (ended && billing) await billing.accounts.refund(id, clock.now(), tx);
    if (ended) await deps.events?.taskEnded(ended, tx);
    return ended;
  }

  async function complete(
    id: string,
    patch: TaskPatch & { result: TaskResult },
    from: readonly TaskStatus[],
    tx: Tx,
  ): Promise<Task | undefined> {
    const done = await write(id, { ...patch, status: "completed", progress: 100, error: null }, from, tx);
    if (done && billing) await settleDelivered(billing, done, patch.result, clock.now(), tx);
    if (done) await deps.events?.taskEnded(done, tx);
    return done;
  }

  const fail = (task: Task, err: ReelayError, tx: Tx) =>
    end(
      task.id,
      { status: "failed", error: { code: err.code, message: err.message }, failureReason: err.message },
      tx,
    );

  const mirrored = (u: UpstreamProgress): TaskStatus => (u.queued ? "pending" : "processing");
  const clampPct = (p: number) => Math.max(0, Math.min(99, Math.round(p)));

  return {
    async open(task, payer, tx) {
      if (task.status !== "pending") throw new Error(`a new task starts pending, not ${task.status}`);
      if (billing) {
        // The pre-charge: a hold, settled against what is delivered, refunded on failure.
        const price = chargeOf(billing.prices, task.request);
        if (price === null) throw errors.noPrice(unpricedModel(billing, task.request));
        const charge = {
          ownerId: task.ownerId,
          keyId: payer.keyId,
          taskId: task.id,
          model: task.request.model,
          amount: price,
          now: task.createdAt,
        };
        if (price > 0 && !(await billing.accounts.charge(charge, tx)))
          throw errors.insufficientCredits(price);
      }
      await tasks.insert(task, tx);
    },

    start: (task, attempt, tx) =>
      // From processing too: a job whose lease ran out is claimed again and restarts its task.
      write(
        task.id,
        { status: "processing", progress: 0, attempts: attempt },
        checked(RUNNING, "processing"),
        tx,
      ),

    // No status in the patch: writing one would move `statusUpdatedAt`, and progress is no move.
    progress: (taskId, pct) => write(taskId, { progress: pct }, checked(["processing"], "processing")),

    accepted: (taskId, upstream, tx) =>
      write(
        taskId,
        { status: mirrored(upstream), progress: clampPct(upstream.progress), failureReason: null },
        checked(["processing"], mirrored(upstream)),
        tx,
      ),

    async upstreamRunning(task, upstream) {
      const status = mirrored(upstream);
      const progress = clampPct(upstream.progress);
      if (status === task.status && progress === task.progress) return task;
      return write(task.id, { status, progress }, checked(RUNNING, status));
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

    cancel: (taskId, tx) =>
      end(
        taskId,
        { status: "cancelled", error: { code: "cancelled", message: "Cancelled by the caller" } },
        tx,
      ),

    async remove(task, tx) {
      // An unfinished task that is deleted was never delivered: its charge goes back.
      if (billing && task.status !== "completed") await billing.accounts.refund(task.id, clock.now(), tx);
      return tasks.delete(task.id, tx);
    },
  };
}
