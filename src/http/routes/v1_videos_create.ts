/** `POST /v1/videos` (OpenAI Videos API): multipart (the official client) or JSON (older clients). */
import type { FastifyInstance } from "fastify";
import { parseOpenAiCreate } from "../../core/openai_params.js";
import { principalOf, requireKey } from "../auth.js";
import { createTask } from "../create_task.js";
import { formInput, readForm } from "../multipart.js";
import { openAiRequest, storeReference } from "../openai_inputs.js";
import type { AppServices } from "../services.js";
import { type OpenAiVideo, openAiVideo } from "../views/openai_video.js";

export function v1VideosCreate(app: FastifyInstance, s: AppServices): void {
  app.post("/v1/videos", { onRequest: requireKey(s) }, async (req): Promise<OpenAiVideo> => {
    const principal = principalOf(req);
    const form = await readForm(req, { spoolDir: s.uploads.spoolDir, maxFileBytes: s.uploads.maxImageBytes });
    try {
      const p = parseOpenAiCreate(form, s.models, s.uploads.maxImageBytes);
      const param = p.reference?.kind === "bytes" ? "input_reference[image_url]" : "input_reference";
      const key = p.reference ? await storeReference(s, p.reference, param) : null;
      const request = openAiRequest(p.cap, p, {
        images: p.reference?.kind === "url" ? [p.reference.url] : [],
        imageKeys: key ? [key] : [],
      });
      return openAiVideo(await createTask(s, req, principal.ownerId, request, formInput(form)));
    } finally {
      await form.discard();
    }
  });
}
