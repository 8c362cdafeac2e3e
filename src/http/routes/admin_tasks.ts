/** `GET /admin/tasks?status=&owner_id=&limit=`: every owner's tasks, newest first (unified query view plus owner). */
import { z } from "zod";
import { attemptsView } from "../../core/tasks/attempt_views.js";
import { parseInput } from "../../core/tasks/params.js";
import { TASK_STATUSES, type Task } from "../../core/tasks/task.js";
import { taskQueryView } from "../../core/tasks/views.js";
import { queryOf, type Route } from "../route.js";
import { type AdminTaskList, adminTaskListSchema, queryInt } from "../schemas.js";
import type { AppServices } from "../services.js";

export const adminTasksQuerySchema = z.strictObject({
  status: z.enum(TASK_STATUSES).optional(),
  owner_id: z.string().min(1).optional(),
  limit: queryInt(1, 500),
});

/** Tasks as the admin sees them: the unified query view, owner, attempts, channel and upstream id. */
export async function adminTaskRows(s: AppServices, tasks: readonly Task[]): Promise<AdminTaskList["data"]> {
  const local = s.router.all().find((c) => c.upstream === null)?.spec.id ?? null;
  const ids = tasks.map((t) => t.id);
  const [pins, attempts] = await Promise.all([s.upstreamTasks.getMany(ids), s.attempts.listMany(ids)]);
  return tasks.map((t) => {
    const pin = pins.get(t.id);
    const tried = attempts.get(t.id) ?? [];
    // No pin: rendered here once an attempt has started (or failed over, and not yet sent on).
    const last = tried[tried.length - 1];
    const channel = pin?.channelId ?? last?.channelId ?? (t.attempts > 0 ? local : null);
    return {
      ...taskQueryView(t, s),
      attempts: attemptsView(tried),
      owner_id: t.ownerId,
      channel,
      upstream_id: pin?.upstreamId ?? last?.upstreamId ?? null,
    };
  });
}

export const adminTasks: Route = {
  method: "GET",
  url: "/admin/tasks",
  auth: "admin",
  summary: "Every owner's tasks, newest first, by status and owner",
  tag: "Admin",
  query: queryOf(adminTasksQuerySchema),
  ok: { status: 200, schema: adminTaskListSchema, description: "Tasks" },
  errors: [],
  handler:
    (s) =>
    async (req): Promise<AdminTaskList> => {
      const params = parseInput(adminTasksQuerySchema, req.query);
      const q = params;
      const tasks = await s.engine.search({ status: q.status, ownerId: q.owner_id, limit: q.limit ?? 50 });
      const data = await adminTaskRows(s, tasks);
      return { object: "list", data };
    },
};
