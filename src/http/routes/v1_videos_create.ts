/** `POST /v1/videos` (OpenAI Videos API): multipart (the official client) or JSON (older clients). */

import { z } from "zod";
import { openAiCreateSchema, parseOpenAiCreate } from "../../core/tasks/openai_params.js";
import { principalOf } from "../auth.js";
import { createTask, quoteTask, takeDryRun } from "../create_task.js";
import { type VideoQuote, videoQuoteSchema } from "../money_schemas.js";
import { formInput, readForm } from "../multipart.js";
import { openAiRequest, storeInputs } from "../openai_inputs.js";
import { CREATE_ERRORS, file, type Route } from "../route.js";
import { openAiVideoSchema } from "../schemas.js";
import { type OpenAiVideo, openAiVideo } from "../views/openai_video.js";

const DRY_RUN = "true: answer the quote (as POST /v1/video/quote) and create nothing";
const dryRunFlag = z.boolean().optional().meta({ description: DRY_RUN });

export const v1VideosCreate: Route = {
  method: "POST",
  url: "/v1/videos",
  auth: "key",
  summary: "Create a video (OpenAI Videos API)",
  tag: "OpenAI-compatible API",
  body: openAiCreateSchema.extend({ dry_run: dryRunFlag }),
  multipart: openAiCreateSchema.extend({
    dry_run: z.enum(["true", "false"]).optional().meta({ description: DRY_RUN }),
    input_reference: z
      .union([file, z.object({ image_url: z.string().optional(), file_id: z.string().optional() })])
      .optional(),
    last_frame: z.union([file, z.string()]).optional(),
    reference_images: z
      .array(z.union([file, z.string()]))
      .meta({ description: "Repeat the part (files or links)" })
      .optional(),
    seed: z.string().meta({ description: "A whole number, 0 to 4294967295" }).optional(),
    audio: z.enum(["true", "false"]).optional(),
  }),
  ok: {
    status: 200,
    schema: z.union([openAiVideoSchema, videoQuoteSchema]).meta({ id: "VideoOrQuote" }),
    description: "The video, queued; with `dry_run: true`, the quote (VideoQuote)",
  },
  errors: CREATE_ERRORS,
  scope: "form",
  handler:
    (s) =>
    async (req): Promise<OpenAiVideo | VideoQuote> => {
      const principal = principalOf(req);
      const form = await readForm(req, {
        spoolDir: s.uploads.spoolDir,
        maxFileBytes: s.uploads.maxImageBytes,
      });
      try {
        const { dryRun, rest: fields } = takeDryRun(form.fields);
        const p = parseOpenAiCreate({ ...form, fields }, s.models, s.uploads.maxImageBytes);
        const stored = await storeInputs(
          s,
          p.images.map((i) => ({
            ...i,
            param:
              i.param === "input_reference" && i.ref.kind === "bytes"
                ? "input_reference[image_url]"
                : i.param,
          })),
          { dryRun },
        );
        const request = { ...openAiRequest(p.cap, p, stored), ...p.additions };
        if (dryRun) return quoteTask(s, req, principal.ownerId, request, formInput(form));
        return openAiVideo(await createTask(s, req, principal.ownerId, request, formInput(form)));
      } finally {
        await form.discard();
      }
    },
};
