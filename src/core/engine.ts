/**
 * Creating and reading tasks. A task row and its render job are written in one transaction:
 * there is never a task without a job to run it, nor a job without its task.
 */
import { errors } from "./errors.js";
import { newTaskId } from "./ids.js";
import type { Clock, Database, JobQueue, TaskStore } from "./ports.js";
import type { Task, VideoRequest } from "./task.js";

export interface EngineSettings {
  /** Attempts per task, the first included. */
  readonly maxAttempts: number;
  /** A task not finished this long after creation fails with `task_timeout`. */
  readonly taskTimeoutS: number;
}

export interface TaskEngine {
  create(ownerId: string, request: VideoRequest): Promise<Task>;
  /** The task if `ownerId` owns it; otherwise `task_not_found`, exactly as if it did not exist. */
  getOwned(ownerId: string, id: string): Promise<Task>;
}

export function createTaskEngine(deps: {
  db: Database;
  tasks: TaskStore;
  queue: JobQueue;
  clock: Clock;
  settings: EngineSettings;
  /** Called after a job commits, to wake a local worker without waiting for its next poll. */
  onEnqueued: () => void;
}): TaskEngine {
  const { db, tasks, queue, clock, settings } = deps;
  return {
    async create(ownerId, request) {
      const now = clock.now();
      const task: Task = {
        id: newTaskId(request.family, now),
        ownerId,
        request,
        status: "pending",
        progress: 0,
        createdAt: now,
        statusUpdatedAt: now,
        deadlineAt: now + settings.taskTimeoutS * 1000,
        attempts: 0,
        error: null,
        failureReason: null,
        enhancedPrompt: null,
        result: null,
      };
      await db.transaction(async (tx) => {
        await tasks.insert(task, tx);
        await queue.enqueue(
          {
            payload: { kind: "render", version: 1, taskId: task.id },
            runAt: now,
            maxAttempts: settings.maxAttempts,
          },
          tx,
        );
      });
      deps.onEnqueued();
      return task;
    },

    async getOwned(ownerId, id) {
      const task = await tasks.get(id);
      if (!task || task.ownerId !== ownerId) throw errors.taskNotFound(id);
      return task;
    },
  };
}
