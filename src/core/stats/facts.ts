/**
 * How a finished task is counted: its channel, its failure class and its money, from the task,
 * its upstream attempts and its pin (the channel holding it), as the stored rows give them.
 */
import type { FinalStatus, FinishedTask } from "./ports.js";

export interface FinishedTaskSource {
  readonly id: string;
  readonly ownerId: string;
  readonly status: FinalStatus;
  readonly model: string;
  readonly createdAt: number;
  readonly finishedAt: number;
  /** How many times a worker started it (0: it never ran). */
  readonly attempts: number;
  readonly errorCode: string | null;
  readonly cost: {
    readonly held?: number;
    readonly charged?: number | null;
    readonly refunded?: number;
    readonly providerCostUsd?: number;
  } | null;
  /** The channel its upstream pin names, if any. */
  readonly pinnedChannel: string | null;
  /** Its last upstream attempt, if any. */
  readonly lastAttempt: { readonly channel: string; readonly errorClass: string | null } | null;
}

/** A task's error codes that name a class of the taxonomy without an upstream attempt. */
const CLASS_OF_CODE: Readonly<Record<string, string>> = { task_timeout: "timeout" };

export function finishedTaskOf(t: FinishedTaskSource, localChannel: string | null): FinishedTask {
  // The channel that holds it, else the last that accepted it, else the local renderer if a worker
  // ever started it (as the admin task list says).
  const channel = t.pinnedChannel ?? t.lastAttempt?.channel ?? (t.attempts > 0 ? localChannel : null);
  let failureClass: string | null = null;
  if (t.status === "failed") {
    failureClass =
      t.lastAttempt?.errorClass ??
      (t.errorCode === null ? "unknown" : (CLASS_OF_CODE[t.errorCode] ?? t.errorCode));
  }
  const c = t.cost;
  return {
    taskId: t.id,
    ownerId: t.ownerId,
    model: t.model,
    channel,
    status: t.status,
    failureClass,
    createdAt: t.createdAt,
    finishedAt: t.finishedAt,
    held: c?.held ?? 0,
    charged: c?.charged ?? 0,
    refunded: c?.refunded ?? 0,
    providerCostUsd: c?.providerCostUsd ?? 0,
  };
}
