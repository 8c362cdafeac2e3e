/**
 * Cancel a pending or running task: `POST /v1/video/cancel?id=` (unified format, answers with the
 * query view) and `POST /v1/videos/{id}/cancel` (OpenAI shape). The render stops; the task ends
 * `cancelled` (OpenAI view: `failed` with code `cancelled`).
 */
import type { FastifyInstance } from "fastify";
import { errors } from "../../core/errors.js";
import { taskQueryView } from "../../core/task_views.js";
import { principalOf, requireKey } from "../auth.js";
import type { OpenAiVideo, VideoQueryResponse } from "../schemas.js";
import type { AppServices } from "../services.js";
import { openAiVideo } from "../views/openai_video.js";

export function cancel(app: FastifyInstance, s: AppServices): void {
  app.post("/v1/video/cancel", { onRequest: requireKey(s) }, async (req): Promise<VideoQueryResponse> => {
    const { id, ...rest } = req.query as Record<string, unknown>;
    const extra = Object.keys(rest)[0];
    if (extra !== undefined) throw errors.invalidField(extra, `Unknown query parameter '${extra}'`);
    if (typeof id !== "string" || id === "")
      throw errors.invalidField("id", "'id' is required: the id that create returned");
    return taskQueryView(await s.engine.cancel(principalOf(req).ownerId, id), s);
  });

  app.post("/v1/videos/:id/cancel", { onRequest: requireKey(s) }, async (req): Promise<OpenAiVideo> => {
    const { id } = req.params as { id: string };
    return openAiVideo(await s.engine.cancel(principalOf(req).ownerId, id));
  });
}
