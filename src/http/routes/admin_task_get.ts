/**
 * `GET /admin/tasks/{id}`: any owner's task as the admin sees it (the unified query view with its
 * owner, attempts, channel and upstream id) and its event feed: where the dashboard's drill-down
 * leads. Its money is `GET /admin/tasks/{id}/ledger`.
 */
import { ErrorCode, errors } from "../../core/errors.js";
import { isTaskId } from "../../core/ids.js";
import type { Route } from "../route.js";
import { type AdminTaskDetail, adminTaskDetailSchema } from "../stats_schemas.js";
import { adminTaskRows } from "./admin_tasks.js";

/** Events shown with a task: its feed holds at most a few hundred (feed.ts coalesces progress). */
const MAX_EVENTS = 1000;

export const adminTaskGet: Route = {
  method: "GET",
  url: "/admin/tasks/:id",
  auth: "admin",
  summary: "Any task: attempts, channel, upstream id, timings, cost and its events",
  tag: "Admin",
  ok: { status: 200, schema: adminTaskDetailSchema, description: "The task" },
  errors: [ErrorCode.taskNotFound],
  handler:
    (s) =>
    async (req): Promise<AdminTaskDetail> => {
      const { id } = req.params as { id: string };
      if (!isTaskId(id)) throw errors.taskNotFound(id);
      const task = await s.engine.peek(id);
      if (!task) throw errors.taskNotFound(id);
      const [[row], events] = await Promise.all([
        adminTaskRows(s, [task]),
        s.events.store.after(id, 0, MAX_EVENTS),
      ]);
      if (!row) throw errors.taskNotFound(id);
      return {
        ...row,
        events: events.map((e) => ({
          seq: e.seq,
          type: e.type,
          at: e.at,
          status: e.data.status,
          progress: e.data.progress,
        })),
      };
    },
};
