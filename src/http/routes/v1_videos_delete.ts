/** `DELETE /v1/videos/{id}`: removes the task and its stored files. */
import type { FastifyInstance } from "fastify";
import { principalOf, requireKey } from "../auth.js";
import type { VideoDeleteResponse } from "../schemas.js";
import type { AppServices } from "../services.js";

export function v1VideosDelete(app: FastifyInstance, s: AppServices): void {
  app.delete("/v1/videos/:id", { onRequest: requireKey(s) }, async (req): Promise<VideoDeleteResponse> => {
    const { id } = req.params as { id: string };
    await s.engine.remove(principalOf(req).ownerId, id);
    return { id, object: "video.deleted", deleted: true };
  });
}
