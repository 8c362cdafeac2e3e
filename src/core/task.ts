import type { ModelCapability, Orientation, SizeName } from "./models.js";

export const TASK_STATUSES = ["pending", "processing", "completed", "failed", "cancelled"] as const;
export type TaskStatus = (typeof TASK_STATUSES)[number];

export const TERMINAL: ReadonlySet<TaskStatus> = new Set(["completed", "failed", "cancelled"]);
export const isTerminal = (s: TaskStatus): boolean => TERMINAL.has(s);

/** The state machine: which status may follow which. Terminal states have no successor. */
const NEXT: Record<TaskStatus, readonly TaskStatus[]> = {
  pending: ["processing", "failed", "cancelled"],
  // processing → pending: a retryable failure puts the task back in the queue.
  processing: ["pending", "completed", "failed", "cancelled"],
  completed: [],
  failed: [],
  cancelled: [],
};
export const canMove = (from: TaskStatus, to: TaskStatus): boolean => NEXT[from].includes(to);
export const predecessorsOf = (to: TaskStatus): TaskStatus[] =>
  (Object.keys(NEXT) as TaskStatus[]).filter((from) => NEXT[from].includes(to));

/** A create request after validation and normalisation: what every provider receives. */
export interface VideoRequest {
  readonly model: string;
  readonly family: string;
  readonly prompt: string;
  readonly orientation: Orientation;
  readonly size: SizeName;
  readonly width: number;
  readonly height: number;
  readonly duration: number;
  readonly images: readonly string[];
  readonly watermark: boolean;
  readonly private: boolean;
}

export interface TaskError {
  readonly code: string;
  readonly message: string;
}

export interface TaskResult {
  readonly videoKey: string;
  readonly thumbnailKey: string;
  readonly width: number;
  readonly height: number;
  readonly durationS: number;
  readonly bytes: number;
  readonly watermarked: boolean;
}

export interface Task {
  readonly id: string;
  readonly ownerId: string;
  readonly request: VideoRequest;
  readonly status: TaskStatus;
  /** 0–100. */
  readonly progress: number;
  readonly createdAt: number;
  readonly statusUpdatedAt: number;
  /** Epoch ms after which the task fails with `task_timeout`. */
  readonly deadlineAt: number;
  readonly attempts: number;
  readonly error: TaskError | null;
  /** Why the last attempt failed, while a retry is pending; the final reason once failed. */
  readonly failureReason: string | null;
  readonly enhancedPrompt: string | null;
  readonly result: TaskResult | null;
}

export type ModelLookup = (name: string) => ModelCapability | undefined;
