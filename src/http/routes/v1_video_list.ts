/**
 * `GET /v1/video/list?status=&after=&limit=`: the caller's tasks in the unified query view, newest
 * first, cursor-paginated, optionally only one status (the web UI's "my tasks").
 */
import { z } from "zod";
import { parseInput } from "../../core/tasks/params.js";
import { TASK_STATUSES } from "../../core/tasks/task.js";
import { taskQueryView } from "../../core/tasks/views.js";
import { principalOf } from "../auth.js";
import { queryOf, type Route } from "../route.js";
import { cursorPageQuery, listPage, type VideoTaskList, videoTaskListSchema } from "../schemas.js";

export const videoListQuerySchema = z.strictObject({
  ...cursorPageQuery,
  status: z.enum(TASK_STATUSES).optional(),
});

export const v1VideoList: Route = {
  method: "GET",
  url: "/v1/video/list",
  auth: "key",
  summary: "List your tasks (the unified format), newest first",
  tag: "Unified API",
  query: queryOf(videoListQuerySchema),
  ok: { status: 200, schema: videoTaskListSchema, description: "A page" },
  errors: [],
  handler:
    (s) =>
    async (req): Promise<VideoTaskList> => {
      const { after, limit = 20, status } = parseInput(videoListQuerySchema, req.query);
      const page = await s.engine.list(principalOf(req).ownerId, { after, limit, order: "desc", status });
      return listPage(
        page.tasks.map((t) => taskQueryView(t, s)),
        page.hasMore,
      );
    },
};
