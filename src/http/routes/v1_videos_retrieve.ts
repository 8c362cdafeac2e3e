/** `GET /v1/videos/{id}`: any task of the caller's, whichever API created it. */

import { ErrorCode } from "../../core/errors.js";
import { attemptsView } from "../../core/tasks/attempt_views.js";
import { principalOf } from "../auth.js";
import type { Route } from "../route.js";
import { openAiVideoSchema } from "../schemas.js";
import { type OpenAiVideo, openAiVideo } from "../views/openai_video.js";

export const v1VideosRetrieve: Route = {
  method: "GET",
  url: "/v1/videos/:id",
  auth: "key",
  summary: "Retrieve a video",
  tag: "OpenAI-compatible API",
  ok: { status: 200, schema: openAiVideoSchema, description: "The video" },
  errors: [ErrorCode.taskNotFound],
  handler:
    (s) =>
    async (req): Promise<OpenAiVideo> => {
      const { id } = req.params as { id: string };
      const task = await s.engine.getOwned(principalOf(req).ownerId, id);
      return { ...openAiVideo(task), attempts: attemptsView(await s.attempts.list(task.id)) };
    },
};
