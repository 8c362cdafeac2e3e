/**
 * The first step of a claimed render job, taken inside the claim's own transaction: decide what
 * the job is for, and mark a task that may run `processing` in that same commit.
 */
import { errors, type ReelayError } from "../errors.js";
import type { Clock, Tx } from "../ports.js";
import type { TaskLifecycle } from "../tasks/lifecycle.js";
import type { TaskStore } from "../tasks/ports.js";
import type { Task } from "../tasks/task.js";
import type { ClaimedJob } from "./ports.js";

/** A claimed job's next step. */
export type Plan =
  | { readonly kind: "run"; readonly task: Task }
  | { readonly kind: "complete" }
  | { readonly kind: "fail"; readonly task: Task; readonly err: ReelayError }
  | { readonly kind: "bury"; readonly reason: string };

/** Process deaths under one job before it is failed: a crash loop must end somewhere. */
export const MAX_INTERRUPTIONS = 10;

/**
 * What to do with a job just claimed, decided in the claim's transaction: a task that may run
 * is marked `processing` there, so the claim and the start are one commit. Everything else
 * (failing, completing, burying) runs after, in transactions of its own.
 */
export async function planJob(
  job: ClaimedJob,
  tx: Tx,
  { tasks, lifecycle, clock }: { tasks: TaskStore; lifecycle: TaskLifecycle; clock: Clock },
): Promise<Plan> {
  if (job.payload.kind !== "render" || job.payload.version !== 1) {
    return { kind: "bury", reason: `unknown job payload ${JSON.stringify(job.payload)}` };
  }
  const now = clock.now();
  if (job.interrupted < MAX_INTERRUPTIONS && job.attempt <= job.maxAttempts) {
    // The usual case, in one statement: the task starts if it still runs and its deadline has not
    // passed. Otherwise the task is read below to learn which of the other plans it is.
    const started = await lifecycle.start({ id: job.payload.taskId }, job.attempt, tx, {
      beforeDeadline: now,
    });
    if (started) return { kind: "run", task: started };
  }
  const task = await tasks.get(job.payload.taskId, tx);
  if (!task || task.status === "completed" || task.status === "failed" || task.status === "cancelled") {
    return { kind: "complete" };
  }
  if (now >= task.deadlineAt) {
    return {
      kind: "fail",
      task,
      err: errors.taskTimeout(Math.round((task.deadlineAt - task.createdAt) / 1000)),
    };
  }
  if (job.interrupted >= MAX_INTERRUPTIONS) {
    // A job whose process keeps dying under it is likely what kills it: stop trying.
    return {
      kind: "fail",
      task,
      err: errors.renderFailed(`the worker process died ${job.interrupted} times while rendering this task`),
    };
  }
  if (job.attempt > job.maxAttempts) {
    // A backstop: attempts are counted when they fail (a run whose lease ran out is an
    // interruption, above), so a job is not normally handed out past its last attempt.
    return {
      kind: "fail",
      task,
      err: errors.retriesExhausted(job.maxAttempts, task.failureReason ?? "the worker stopped"),
    };
  }
  const started = await lifecycle.start(task, job.attempt, tx);
  return started ? { kind: "run", task } : { kind: "complete" };
}
