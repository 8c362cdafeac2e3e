/**
 * `GET /v1/video/list?status=&after=&limit=`: the caller's tasks in the unified query view, newest
 * first, cursor-paginated, optionally only one status (the web UI's "my tasks").
 */
import type { FastifyInstance } from "fastify";
import { z } from "zod";
import { parseInput } from "../../core/params.js";
import { TASK_STATUSES } from "../../core/task.js";
import { taskQueryView } from "../../core/task_views.js";
import { principalOf, requireKey } from "../auth.js";
import { cursorPageQuery, listPage, type VideoTaskList } from "../schemas.js";
import type { AppServices } from "../services.js";

export const videoListQuerySchema = z.strictObject({
  ...cursorPageQuery,
  status: z.enum(TASK_STATUSES).optional(),
});

export function v1VideoList(app: FastifyInstance, s: AppServices): void {
  app.get("/v1/video/list", { onRequest: requireKey(s) }, async (req): Promise<VideoTaskList> => {
    const { after, limit = 20, status } = parseInput(videoListQuerySchema, req.query);
    const page = await s.engine.list(principalOf(req).ownerId, { after, limit, order: "desc", status });
    return listPage(
      page.tasks.map((t) => taskQueryView(t, s)),
      page.hasMore,
    );
  });
}
