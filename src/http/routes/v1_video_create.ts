/** `POST /v1/video/create`: the seed's unified create, exactly. */
import type { FastifyInstance } from "fastify";
import { parseUnifiedCreate } from "../../core/params.js";
import { principalOf, requireKey } from "../auth.js";
import { createTask } from "../create_task.js";
import type { VideoCreateResponse } from "../schemas.js";
import type { AppServices } from "../services.js";

export function v1VideoCreate(app: FastifyInstance, s: AppServices): void {
  app.post("/v1/video/create", { onRequest: requireKey(s) }, async (req): Promise<VideoCreateResponse> => {
    const principal = principalOf(req);
    const request = parseUnifiedCreate(req.body, s.models);
    const task = await createTask(s, req, principal.ownerId, request);
    return { id: task.id, status: "pending", status_update_time: task.createdAt };
  });
}
