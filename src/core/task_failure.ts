/**
 * Ending a task that failed for good, the same way wherever it fails (a render job, the upstream
 * poller): status, refund and event in one transaction. After it commits, the caller drops the
 * task's uploads (blob_keys.ts dropUploads): no retry will read them again.
 */
import type { ReelayError } from "./errors.js";
import type { Clock, TaskEvents, TaskStore, Tx } from "./ports.js";
import type { Billing } from "./pricing.js";
import type { Task } from "./task.js";

export interface TaskFailureDeps {
  readonly tasks: TaskStore;
  readonly billing: Billing | null;
  readonly clock: Clock;
  /** Told of the ended task inside the transaction (the webhook outbox). */
  readonly events?: TaskEvents | undefined;
}

/**
 * Fails the task and, in the same transaction, refunds what it was charged and records its event:
 * never one without the others. Undefined when the task had already ended (nothing changes then).
 */
export async function failTask(
  deps: TaskFailureDeps,
  task: Task,
  err: ReelayError,
  tx: Tx,
): Promise<Task | undefined> {
  const { tasks, billing, clock } = deps;
  const failed = await tasks.update(
    task.id,
    { status: "failed", error: { code: err.code, message: err.message }, failureReason: err.message },
    { now: clock.now(), onlyFrom: ["pending", "processing"] },
    tx,
  );
  if (failed && billing) await billing.accounts.refund(task.id, clock.now(), tx);
  if (failed) await deps.events?.taskEnded(failed, tx);
  return failed;
}
