/** `POST /v1/videos` (OpenAI Videos API): multipart (the official client) or JSON (older clients). */

import { z } from "zod";
import { openAiCreateSchema, parseOpenAiCreate } from "../../core/tasks/openai_params.js";
import { principalOf } from "../auth.js";
import { createTask } from "../create_task.js";
import { formInput, readForm } from "../multipart.js";
import { openAiRequest, storeReference } from "../openai_inputs.js";
import { CREATE_ERRORS, file, type Route } from "../route.js";
import { openAiVideoSchema } from "../schemas.js";
import { type OpenAiVideo, openAiVideo } from "../views/openai_video.js";

export const v1VideosCreate: Route = {
  method: "POST",
  url: "/v1/videos",
  auth: "key",
  summary: "Create a video (OpenAI Videos API)",
  tag: "OpenAI-compatible API",
  body: openAiCreateSchema,
  multipart: openAiCreateSchema.extend({
    input_reference: z
      .union([file, z.object({ image_url: z.string().optional(), file_id: z.string().optional() })])
      .optional(),
  }),
  ok: { status: 200, schema: openAiVideoSchema, description: "The video, queued" },
  errors: CREATE_ERRORS,
  scope: "form",
  handler:
    (s) =>
    async (req): Promise<OpenAiVideo> => {
      const principal = principalOf(req);
      const form = await readForm(req, {
        spoolDir: s.uploads.spoolDir,
        maxFileBytes: s.uploads.maxImageBytes,
      });
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
    },
};
