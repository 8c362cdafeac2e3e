/** A task as the OpenAI Videos API shows it: the `Video` object the official client reads. */
import type { Task, TaskStatus } from "../../core/tasks/task.js";
import { costView, inputAdditions } from "../../core/tasks/views.js";
import type { OpenAiVideo } from "../schemas.js";

export type { OpenAiVideo };

export type OpenAiStatus = "queued" | "in_progress" | "completed" | "failed";

/** One to one, except `cancelled`: OpenAI has no such status, so it reads as failed with code `cancelled`. */
const STATUS: Record<TaskStatus, OpenAiStatus> = {
  pending: "queued",
  processing: "in_progress",
  completed: "completed",
  failed: "failed",
  cancelled: "failed",
};

const unix = (ms: number): number => Math.floor(ms / 1000);

export function openAiVideo(task: Task): OpenAiVideo {
  const r = task.request;
  const planned = r.source?.kind === "extend" ? r.source.durationS + r.duration : r.duration;
  const error =
    task.status === "failed"
      ? task.error
      : task.status === "cancelled"
        ? { code: "cancelled", message: "The video was cancelled" }
        : null;
  return {
    id: task.id,
    object: "video",
    model: r.model,
    status: STATUS[task.status],
    progress: task.progress,
    created_at: unix(task.createdAt),
    completed_at: task.status === "completed" ? unix(task.statusUpdatedAt) : null,
    // Reelay keeps results until they are deleted.
    expires_at: null,
    prompt: r.prompt,
    remixed_from_video_id: r.source?.kind === "remix" ? r.source.taskId : null,
    seconds: String(Math.round(task.result?.durationS ?? planned)),
    size: task.result ? `${task.result.width}x${task.result.height}` : `${r.width}x${r.height}`,
    error,
    usage: task.result?.usage ?? null,
    cost: costView(task),
    // Reelay's additions, where the task was created with them (clients ignore fields they do not know).
    ...inputAdditions(r),
  };
}
