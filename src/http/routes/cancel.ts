/**
 * Cancel a pending or running task: `POST /v1/video/cancel?id=` (unified format, answers with the
 * query view) and `POST /v1/videos/{id}/cancel` (OpenAI shape). The render stops; the task ends
 * `cancelled` (OpenAI view: `failed` with code `cancelled`).
 */
import { z } from "zod";
import { ErrorCode, errors } from "../../core/errors.js";
import { taskQueryView } from "../../core/tasks/views.js";
import { principalOf } from "../auth.js";
import type { Route } from "../route.js";
import {
  type OpenAiVideo,
  openAiVideoSchema,
  type VideoQueryResponse,
  videoQueryResponseSchema,
} from "../schemas.js";
import { openAiVideo } from "../views/openai_video.js";

export const v1VideoCancel: Route = {
  method: "POST",
  url: "/v1/video/cancel",
  auth: "key",
  summary: "Cancel a pending or running task (unified format)",
  tag: "Unified API",
  query: { id: { schema: z.string(), required: true, description: "The task id" } },
  ok: { status: 200, schema: videoQueryResponseSchema, description: "The task, cancelled" },
  errors: [ErrorCode.taskNotFound, ErrorCode.taskNotCancellable],
  handler:
    (s) =>
    async (req): Promise<VideoQueryResponse> => {
      const { id, ...rest } = req.query as Record<string, unknown>;
      const extra = Object.keys(rest)[0];
      if (extra !== undefined) throw errors.invalidField(extra, `Unknown query parameter '${extra}'`);
      if (typeof id !== "string" || id === "")
        throw errors.invalidField("id", "'id' is required: the id that create returned");
      return taskQueryView(await s.engine.cancel(principalOf(req).ownerId, id), s);
    },
};

export const v1VideosCancel: Route = {
  method: "POST",
  url: "/v1/videos/:id/cancel",
  auth: "key",
  summary: "Cancel a queued or in-progress video",
  tag: "OpenAI-compatible API",
  ok: {
    status: 200,
    schema: openAiVideoSchema,
    description: "The video (status failed, error.code cancelled)",
  },
  errors: [ErrorCode.taskNotFound, ErrorCode.taskNotCancellable],
  handler:
    (s) =>
    async (req): Promise<OpenAiVideo> => {
      const { id } = req.params as { id: string };
      return openAiVideo(await s.engine.cancel(principalOf(req).ownerId, id));
    },
};
