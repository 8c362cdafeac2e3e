/** `GET /v1/video/query?id=`: the unified format's task view. Every field is documented in the README. */
import type { FastifyInstance } from "fastify";
import { errors } from "../../core/errors.js";
import { isTaskId } from "../../core/ids.js";
import type { Task } from "../../core/task.js";
import { principalOf, requireKey } from "../auth.js";
import type { VideoQueryResponse } from "../schemas.js";
import type { AppServices } from "../services.js";

export function videoQueryView(task: Task, s: Pick<AppServices, "clock" | "links">): VideoQueryResponse {
  const now = s.clock.now();
  const video = task.result ? s.links.sign(task.result.videoKey, now) : null;
  const thumb = task.result ? s.links.sign(task.result.thumbnailKey, now) : null;
  const r = task.request;
  return {
    id: task.id,
    status: task.status,
    status_update_time: task.statusUpdatedAt,
    video_url: video?.url ?? null,
    thumbnail_url: thumb?.url ?? null,
    width: task.result?.width ?? null,
    height: task.result?.height ?? null,
    duration: task.result?.durationS ?? null,
    enhanced_prompt: task.enhancedPrompt,
    progress: task.progress,
    remixed_from: r.source?.kind === "remix" ? r.source.taskId : null,
    error: task.status === "failed" ? task.error : null,
    detail: {
      id: task.id,
      status: task.status,
      created_at: task.createdAt,
      input: {
        model: r.model,
        prompt: r.prompt,
        orientation: r.orientation,
        size: r.size,
        duration: r.duration,
        images: r.images,
        watermark: r.watermark,
        private: r.private,
      },
      pending_info: {
        progress_pct: task.progress / 100,
        status: task.status,
        failure_reason: task.failureReason,
        attempts: task.attempts,
      },
      url: video?.url ?? null,
      thumbnail_url: thumb?.url ?? null,
      urls_expire_at: video?.expiresAt ?? null,
      has_watermark: task.result?.watermarked ?? null,
    },
  };
}

export function v1VideoQuery(app: FastifyInstance, s: AppServices): void {
  app.get("/v1/video/query", { onRequest: requireKey(s) }, async (req): Promise<VideoQueryResponse> => {
    const principal = principalOf(req);
    const { id, ...rest } = req.query as Record<string, unknown>;
    const unknown = Object.keys(rest)[0];
    if (unknown !== undefined) throw errors.invalidField(unknown, `Unknown query parameter '${unknown}'`);
    if (id === undefined || id === "")
      throw errors.invalidField("id", "'id' is required: the id that create returned");
    if (typeof id !== "string") throw errors.invalidField("id", "'id' must be given once");
    if (!isTaskId(id)) {
      throw errors.invalidField(
        "id",
        `'id' must look like 'sora-2:task_<26 characters>' (got '${id.slice(0, 80)}')`,
      );
    }
    return videoQueryView(await s.engine.getOwned(principal.ownerId, id), s);
  });
}
