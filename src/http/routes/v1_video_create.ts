/**
 * `POST /v1/video/create`: the seed's unified create, exactly, plus Reelay's optional additions
 * (core/tasks/additions.ts). `images`, `last_frame` and `reference_images` may also hold inline
 * `data:image/…;base64,` URLs: they are stored and used after the links. With `dry_run: true` it
 * answers the quote (`POST /v1/video/quote`) instead, creating nothing.
 */
import type { FastifyRequest } from "fastify";
import { z } from "zod";
import { decodeImageDataUrl, isDataUrl } from "../../core/tasks/openai_params.js";
import { parseUnifiedCreateWithImages, unifiedCreateSchema } from "../../core/tasks/params.js";
import type { VideoRequest } from "../../core/tasks/task.js";
import { principalOf } from "../auth.js";
import { createTask, quoteTask, takeDryRun } from "../create_task.js";
import { type VideoQuote, videoQuoteSchema } from "../money_schemas.js";
import { storeInputs } from "../openai_inputs.js";
import { CREATE_ERRORS, type Route } from "../route.js";
import { type VideoCreateResponse, videoCreateResponseSchema } from "../schemas.js";
import type { AppServices } from "../services.js";

/** Room for a few inline images; bodies of links only stay far below it. */
export const CREATE_BODY_LIMIT = 32 * 1024 * 1024;

/**
 * A unified create body as its task's request: validated, the callback checked, inline images
 * checked and (unless `dryRun`) stored.
 */
export async function unifiedRequest(
  s: AppServices,
  req: FastifyRequest,
  body: unknown,
  opts: { dryRun: boolean },
): Promise<VideoRequest> {
  const principal = principalOf(req);
  const { request, images } = parseUnifiedCreateWithImages(body, s.models);
  if (request.callbackUrl !== undefined)
    await s.webhooks.checkCallback(principal.ownerId, request.callbackUrl);
  const stored = await storeInputs(
    s,
    images.map(({ image, role, param }) => ({
      ref: isDataUrl(image)
        ? decodeImageDataUrl(image, s.uploads.maxImageBytes, param)
        : { kind: "url" as const, url: image },
      role,
      param,
    })),
    opts,
  );
  const { imageRoles: _roles, ...rest } = request;
  return { ...rest, ...stored };
}

export const v1VideoCreate: Route = {
  method: "POST",
  url: "/v1/video/create",
  auth: "key",
  summary: "Create a video (the unified format)",
  tag: "Unified API",
  body: unifiedCreateSchema.extend({
    dry_run: z
      .boolean()
      .optional()
      .meta({ description: "true: answer the quote (as POST /v1/video/quote) and create nothing" }),
  }),
  ok: {
    status: 200,
    schema: z.union([videoCreateResponseSchema, videoQuoteSchema]).meta({ id: "UnifiedCreateOrQuote" }),
    description: "The task, pending; with `dry_run: true`, the quote (VideoQuote)",
  },
  errors: CREATE_ERRORS,
  bodyLimit: CREATE_BODY_LIMIT,
  handler:
    (s) =>
    async (req): Promise<VideoCreateResponse | VideoQuote> => {
      const { ownerId } = principalOf(req);
      const { dryRun, rest } = takeDryRun(req.body);
      const request = await unifiedRequest(s, req, rest, { dryRun });
      if (dryRun) return quoteTask(s, req, ownerId, request);
      const task = await createTask(s, req, ownerId, request);
      return { id: task.id, status: "pending", status_update_time: task.createdAt };
    },
};
