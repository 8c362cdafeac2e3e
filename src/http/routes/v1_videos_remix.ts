/** `POST /v1/videos/{id}/remix` (`{prompt}`): a new video from a finished one, with a new prompt. */

import { parseRemix, remixSchema } from "../../core/tasks/openai_params.js";
import { remixRequest } from "../../core/tasks/remix.js";
import { principalOf } from "../auth.js";
import { createTask } from "../create_task.js";
import { FROM_VIDEO_ERRORS, type Route } from "../route.js";
import { openAiVideoSchema } from "../schemas.js";
import { type OpenAiVideo, openAiVideo } from "../views/openai_video.js";

export const v1VideosRemix: Route = {
  method: "POST",
  url: "/v1/videos/:id/remix",
  auth: "key",
  summary: "Remix a finished video with a new prompt",
  tag: "OpenAI-compatible API",
  body: remixSchema,
  ok: { status: 200, schema: openAiVideoSchema, description: "The new video" },
  errors: FROM_VIDEO_ERRORS,
  handler:
    (s) =>
    async (req): Promise<OpenAiVideo> => {
      const { ownerId } = principalOf(req);
      const { id } = req.params as { id: string };
      const prompt = parseRemix(req.body);
      const from = await s.engine.source(ownerId, id, "remix");
      const request = remixRequest(from, { prompt, api: "openai" });
      return openAiVideo(await createTask(s, req, ownerId, request));
    },
};
