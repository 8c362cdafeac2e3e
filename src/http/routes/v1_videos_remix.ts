/** `POST /v1/videos/{id}/remix` (`{prompt}`): a new video from a finished one, with a new prompt. */
import type { FastifyInstance } from "fastify";
import { parseRemix } from "../../core/openai_params.js";
import { principalOf, requireKey } from "../auth.js";
import { capabilityOf, completedSource, openAiRequest } from "../openai_inputs.js";
import type { AppServices } from "../services.js";
import { type OpenAiVideo, openAiVideo } from "../views/openai_video.js";

export function v1VideosRemix(app: FastifyInstance, s: AppServices): void {
  app.post("/v1/videos/:id/remix", { onRequest: requireKey(s.keys) }, async (req): Promise<OpenAiVideo> => {
    const { ownerId } = principalOf(req);
    const { id } = req.params as { id: string };
    const prompt = parseRemix(req.body);
    const from = await completedSource(s, ownerId, id);
    const { width, height } = from.result;
    const request = {
      ...openAiRequest(
        capabilityOf(s, from.request.model),
        {
          prompt,
          seconds: Math.max(1, Math.round(from.result.durationS)),
          width,
          height,
          size: `${width}x${height}`,
        },
        {
          source: {
            kind: "remix",
            taskId: from.id,
            videoKey: from.result.videoKey,
            durationS: from.result.durationS,
          },
        },
      ),
      // A remix inherits what the source was made with.
      api: from.request.api,
      watermark: from.request.watermark,
      private: from.request.private,
    };
    return openAiVideo(await s.engine.create(ownerId, request, { requestId: req.id }));
  });
}
