/** `POST /v1/videos/{id}/remix` (`{prompt}`): a new video from a finished one, with a new prompt. */
import type { FastifyInstance } from "fastify";
import { parseRemix } from "../../core/openai_params.js";
import { remixRequest } from "../../core/remix.js";
import { principalOf, requireKey } from "../auth.js";
import { createTask } from "../create_task.js";
import type { AppServices } from "../services.js";
import { type OpenAiVideo, openAiVideo } from "../views/openai_video.js";

export function v1VideosRemix(app: FastifyInstance, s: AppServices): void {
  app.post("/v1/videos/:id/remix", { onRequest: requireKey(s) }, async (req): Promise<OpenAiVideo> => {
    const { ownerId } = principalOf(req);
    const { id } = req.params as { id: string };
    const prompt = parseRemix(req.body);
    const from = await s.engine.source(ownerId, id, "remix");
    const request = remixRequest(from, { prompt, api: "openai" });
    return openAiVideo(await createTask(s, req, ownerId, request));
  });
}
