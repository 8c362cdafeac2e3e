/** `DELETE /v1/videos/{id}`: removes the task and its stored files. */

import { ErrorCode } from "../../core/errors.js";
import { principalOf } from "../auth.js";
import type { Route } from "../route.js";
import { type VideoDeleteResponse, videoDeleteResponseSchema } from "../schemas.js";

export const v1VideosDelete: Route = {
  method: "DELETE",
  url: "/v1/videos/:id",
  auth: "key",
  summary: "Delete a video and its files",
  tag: "OpenAI-compatible API",
  ok: { status: 200, schema: videoDeleteResponseSchema, description: "Deleted" },
  errors: [ErrorCode.taskNotFound],
  handler:
    (s) =>
    async (req): Promise<VideoDeleteResponse> => {
      const { id } = req.params as { id: string };
      await s.engine.remove(principalOf(req).ownerId, id);
      return { id, object: "video.deleted", deleted: true };
    },
};
