/**
 * `POST /v1/videos/edits` (a new video from a source with a new prompt) and
 * `POST /v1/videos/extensions` (the source continued by `seconds`). Both take `video[id]` or an
 * uploaded video.
 */
import type { FastifyInstance } from "fastify";
import { parseSourceRequest } from "../../core/openai_params.js";
import { principalOf, requireKey } from "../auth.js";
import { createTask } from "../create_task.js";
import { formInput, readForm } from "../multipart.js";
import { openAiRequest, resolveSource } from "../openai_inputs.js";
import type { AppServices } from "../services.js";
import { type OpenAiVideo, openAiVideo } from "../views/openai_video.js";

function sourceRoute(app: FastifyInstance, s: AppServices, path: string, kind: "edit" | "extend"): void {
  app.post(path, { onRequest: requireKey(s) }, async (req): Promise<OpenAiVideo> => {
    const { ownerId } = principalOf(req);
    const form = await readForm(req, { spoolDir: s.uploads.spoolDir, maxFileBytes: s.uploads.maxVideoBytes });
    try {
      const parsed = parseSourceRequest(form, { needsSeconds: kind === "extend" });
      const src = await resolveSource(s, ownerId, parsed, kind);
      const request = openAiRequest(
        src.cap,
        {
          prompt: parsed.prompt,
          seconds: src.seconds,
          width: src.width,
          height: src.height,
          size: `${src.width}x${src.height}`,
        },
        { source: src.source },
      );
      return openAiVideo(await createTask(s, req, ownerId, request, formInput(form)));
    } finally {
      await form.discard();
    }
  });
}

export function v1VideosEdits(app: FastifyInstance, s: AppServices): void {
  sourceRoute(app, s, "/v1/videos/edits", "edit");
}

export function v1VideosExtensions(app: FastifyInstance, s: AppServices): void {
  sourceRoute(app, s, "/v1/videos/extensions", "extend");
}
