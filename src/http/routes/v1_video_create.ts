/**
 * `POST /v1/video/create`: the seed's unified create, exactly. `images` may also hold inline
 * `data:image/…;base64,` URLs: they are stored and used after the links.
 */
import { isDataUrl } from "../../core/tasks/openai_params.js";
import { parseUnifiedCreate, unifiedCreateSchema } from "../../core/tasks/params.js";
import { principalOf } from "../auth.js";
import { createTask } from "../create_task.js";
import { storeDataUrls } from "../openai_inputs.js";
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
      const request = parseUnifiedCreate(req.body, s.models);
      if (request.callbackUrl !== undefined)
        await s.webhooks.checkCallback(principal.ownerId, request.callbackUrl);
      const imageKeys = await storeDataUrls(
        s,
        request.images.flatMap((url, i) => (isDataUrl(url) ? [{ url, param: `images[${i}]` }] : [])),
      );
      const links = request.images.filter((u) => !isDataUrl(u));
      const task = await createTask(s, req, principal.ownerId, { ...request, images: links, imageKeys });
      return { id: task.id, status: "pending", status_update_time: task.createdAt };
    },
};
