/** `GET /v1/video/query?id=`: the unified format's task view. Every field is documented in the README. */
import type { FastifyInstance } from "fastify";
import { errors } from "../../core/errors.js";
import { isTaskId } from "../../core/ids.js";
import { taskQueryView } from "../../core/task_views.js";
import { principalOf, requireKey } from "../auth.js";
import type { VideoQueryResponse } from "../schemas.js";
import type { AppServices } from "../services.js";

export function v1VideoQuery(app: FastifyInstance, s: AppServices): void {
  app.get("/v1/video/query", { onRequest: requireKey(s) }, async (req): Promise<VideoQueryResponse> => {
    const principal = principalOf(req);
    const { id, ...rest } = req.query as Record<string, unknown>;
    const unknown = Object.keys(rest)[0];
    if (unknown !== undefined) throw errors.invalidField(unknown, `Unknown query parameter '${unknown}'`);
    if (id === undefined || id === "")
      throw errors.invalidField("id", "'id' is required: the id that create returned");
    if (typeof id !== "string") throw errors.invalidField("id", "'id' must be given once");
    if (!isTaskId(id)) {
      throw errors.invalidField(
        "id",
        `'id' must look like 'sora-2:task_<26 characters>' (got '${id.slice(0, 80)}')`,
      );
    }
    return taskQueryView(await s.engine.getOwned(principal.ownerId, id), s);
  });
}
