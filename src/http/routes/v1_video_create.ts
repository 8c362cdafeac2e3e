/**
 * `POST /v1/video/create`: the seed's unified create, exactly. `images` may also hold inline
 * `data:image/…;base64,` URLs: they are stored and used after the links.
 */
import type { FastifyInstance } from "fastify";
import { isDataUrl } from "../../core/openai_params.js";
import { parseUnifiedCreate } from "../../core/params.js";
import { principalOf, requireKey } from "../auth.js";
import { createTask } from "../create_task.js";
import { storeDataUrls } from "../openai_inputs.js";
import type { VideoCreateResponse } from "../schemas.js";
import type { AppServices } from "../services.js";

/** Room for a few inline images; bodies of links only stay far below it. */
export const CREATE_BODY_LIMIT = 32 * 1024 * 1024;

export function v1VideoCreate(app: FastifyInstance, s: AppServices): void {
  app.post(
    "/v1/video/create",
    { onRequest: requireKey(s), bodyLimit: CREATE_BODY_LIMIT },
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
  );
}
