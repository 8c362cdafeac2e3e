/**
 * `GET /admin/stats/tasks?from=&to=&channel=&model=&status=&class=&owner=&cursor=&limit=`: the
 * drill-down: the finished tasks behind a point of a chart (its bucket's [from, to) and the
 * series' dimensions), newest first. A task's detail is `GET /admin/tasks/{id}`.
 */
import { z } from "zod";
import { errors } from "../../core/errors.js";
import { FINAL_STATUSES } from "../../core/stats/ports.js";
import { parseInput } from "../../core/tasks/params.js";
import { queryOf, type Route } from "../route.js";
import { queryInt } from "../schemas.js";
import { type StatsTaskList, statsTaskListSchema } from "../stats_schemas.js";

const epochMs = z
  .string()
  .regex(/^\d{1,15}$/, "must be a time in epoch milliseconds (a whole number)")
  .transform(Number);
const name = z.string().min(1).max(200);

export const statsTasksQuerySchema = z.strictObject({
  from: epochMs.meta({ description: "Finished at or after (epoch ms)" }),
  to: epochMs.meta({ description: "Finished before (epoch ms)" }),
  channel: name.optional().meta({ description: "Channel id; `none` for tasks that never reached one" }),
  model: name.optional(),
  status: z.enum(FINAL_STATUSES).optional(),
  class: name.optional().meta({ description: "Failure class (error taxonomy) or error code" }),
  owner: name.optional(),
  cursor: z.string().max(300).optional().meta({ description: "`next_cursor` of the previous page" }),
  limit: queryInt(1, 200),
});

const encodeCursor = (finishedAt: number, taskId: string) =>
  Buffer.from(JSON.stringify([finishedAt, taskId])).toString("base64url");

function decodeCursor(text: string): { finishedAt: number; taskId: string } {
  try {
    const [finishedAt, taskId] = JSON.parse(Buffer.from(text, "base64url").toString()) as unknown[];
    if (typeof finishedAt === "number" && Number.isSafeInteger(finishedAt) && typeof taskId === "string")
      return { finishedAt, taskId };
  } catch {
    // Falls through to the 400 below.
  }
  throw errors.invalidField("cursor", "cursor is not one this route gave out: pass next_cursor as it came");
}

export const adminStatsTasks: Route = {
  method: "GET",
  url: "/admin/stats/tasks",
  auth: "admin",
  summary: "Dashboard, drill-down: the finished tasks behind a chart point",
  tag: "Admin",
  query: {
    ...queryOf(statsTasksQuerySchema),
    from: {
      schema: statsTasksQuerySchema.shape.from,
      required: true,
      description: "Finished at or after (epoch ms)",
    },
    to: { schema: statsTasksQuerySchema.shape.to, required: true, description: "Finished before (epoch ms)" },
  },
  ok: { status: 200, schema: statsTaskListSchema, description: "Finished tasks, newest first" },
  errors: [],
  handler:
    (s) =>
    async (req): Promise<StatsTaskList> => {
      const q = parseInput(statsTasksQuerySchema, req.query);
      if (q.to <= q.from) throw errors.invalidField("to", "to must be after from");
      const limit = q.limit ?? 50;
      const rows = await s.stats.store.finished({
        from: q.from,
        to: q.to,
        channel: q.channel,
        model: q.model,
        status: q.status,
        failureClass: q.class,
        ownerId: q.owner,
        cursor: q.cursor === undefined ? undefined : decodeCursor(q.cursor),
        limit: limit + 1,
      });
      const page = rows.slice(0, limit);
      const last = page[page.length - 1];
      return {
        object: "list",
        data: page.map((r) => ({
          id: r.taskId,
          owner_id: r.ownerId,
          model: r.model,
          channel: r.channel,
          status: r.status,
          failure_class: r.failureClass,
          created_at: r.createdAt,
          finished_at: r.finishedAt,
          latency_ms: Math.max(0, r.finishedAt - r.createdAt),
          held: r.held,
          charged: r.charged,
          refunded: r.refunded,
          provider_cost_usd: r.providerCostUsd,
        })),
        next_cursor: rows.length > limit && last ? encodeCursor(last.finishedAt, last.taskId) : null,
      };
    },
};
