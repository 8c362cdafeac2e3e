/** `GET /v1/videos/{id}`: any task of the caller's, whichever API created it. */
import type { FastifyInstance } from "fastify";
import { principalOf, requireKey } from "../auth.js";
import type { AppServices } from "../services.js";
import { type OpenAiVideo, openAiVideo } from "../views/openai_video.js";

export function v1VideosRetrieve(app: FastifyInstance, s: AppServices): void {
  app.get("/v1/videos/:id", { onRequest: requireKey(s) }, async (req): Promise<OpenAiVideo> => {
    const { id } = req.params as { id: string };
    return openAiVideo(await s.engine.getOwned(principalOf(req).ownerId, id));
  });
}
