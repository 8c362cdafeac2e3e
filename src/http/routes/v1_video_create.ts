/**
 * `POST /v1/video/create`: the seed's unified create, exactly, plus Reelay's optional additions
 * (core/tasks/additions.ts). `images`, `last_frame` and `reference_images` may also hold inline
 * `data:image/…;base64,` URLs: they are stored and used after the links.
 */
import { decodeImageDataUrl, isDataUrl } from "../../core/tasks/openai_params.js";
import { parseUnifiedCreateWithImages, unifiedCreateSchema } from "../../core/tasks/params.js";
import { principalOf } from "../auth.js";
import { createTask } from "../create_task.js";
import { storeInputs } from "../openai_inputs.js";
import { CREATE_ERRORS, type Route } from "../route.js";
import { type VideoCreateResponse, videoCreateResponseSchema } from "../schemas.js";

/** Room for a few inline images; bodies of links only stay far below it. */
export const CREATE_BODY_LIMIT = 32 * 1024 * 1024;

export const v1VideoCreate: Route = {
  method: "POST",
  url: "/v1/video/create",
  auth: "key",
  summary: "Create a video (the unified format)",
  tag: "Unified API",
  body: unifiedCreateSchema,
  ok: { status: 200, schema: videoCreateResponseSchema, description: "The task, pending" },
  errors: CREATE_ERRORS,
  bodyLimit: CREATE_BODY_LIMIT,
  handler:
    (s) =>
    async (req): Promise<VideoCreateResponse> => {
      const principal = principalOf(req);
      const { request, images } = parseUnifiedCreateWithImages(req.body, s.models);
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
      );
      const { imageRoles: _roles, ...rest } = request;
      const task = await createTask(s, req, principal.ownerId, { ...rest, ...stored });
      return { id: task.id, status: "pending", status_update_time: task.createdAt };
    },
};
