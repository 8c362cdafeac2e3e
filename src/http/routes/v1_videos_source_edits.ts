/**
 * `POST /v1/videos/edits` (a new video from a source with a new prompt) and
 * `POST /v1/videos/extensions` (the source continued by `seconds`). Both take `video[id]` or an
 * uploaded video.
 */
import type { RouteHandlerMethod } from "fastify";
import { z } from "zod";
import { parseSourceRequest, sourceSchema } from "../../core/tasks/openai_params.js";
import { principalOf } from "../auth.js";
import { createTask } from "../create_task.js";
import { formInput, readForm } from "../multipart.js";
import { openAiRequest, resolveSource } from "../openai_inputs.js";
import { FROM_VIDEO_ERRORS, file, type Route } from "../route.js";
import { openAiVideoSchema } from "../schemas.js";
import type { AppServices } from "../services.js";
import { type OpenAiVideo, openAiVideo } from "../views/openai_video.js";

const sourceHandler =
  (kind: "edit" | "extend") =>
  (s: AppServices): RouteHandlerMethod =>
  async (req): Promise<OpenAiVideo> => {
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
  };

const sourceVideo = z.union([file, z.object({ id: z.string() })]);

export const v1VideosEdits: Route = {
  method: "POST",
  url: "/v1/videos/edits",
  auth: "key",
  summary: "A new video from a source video and a new prompt",
  tag: "OpenAI-compatible API",
  body: sourceSchema.omit({ seconds: true }),
  multipart: sourceSchema.omit({ seconds: true }).extend({ video: sourceVideo }),
  ok: { status: 200, schema: openAiVideoSchema, description: "The new video" },
  errors: FROM_VIDEO_ERRORS,
  scope: "form",
  handler: sourceHandler("edit"),
};

export const v1VideosExtensions: Route = {
  method: "POST",
  url: "/v1/videos/extensions",
  auth: "key",
  summary: "Continue a video by `seconds`",
  tag: "OpenAI-compatible API",
  body: sourceSchema,
  multipart: sourceSchema.extend({ video: sourceVideo }),
  ok: { status: 200, schema: openAiVideoSchema, description: "The new video" },
  errors: FROM_VIDEO_ERRORS,
  scope: "form",
  handler: sourceHandler("extend"),
};
