/** `GET /admin/channels`: every channel, its health (failures, cool-down) and the tasks it holds. */
import { errors } from "../../core/errors.js";
import type { Route } from "../route.js";
import { type AdminChannelList, adminChannelListSchema } from "../schemas.js";

export const adminChannels: Route = {
  method: "GET",
  url: "/admin/channels",
  auth: "admin",
  summary: "Channels (local renderer, upstream accounts): health, cool-down, tasks in flight",
  tag: "Admin",
  ok: { status: 200, schema: adminChannelListSchema, description: "Channels in configured order" },
  errors: [],
  handler:
    (s) =>
    async (req): Promise<AdminChannelList> => {
      const unknown = Object.keys(req.query as object)[0];
      if (unknown !== undefined) throw errors.invalidField(unknown, `Unknown query parameter '${unknown}'`);
      const [health, inFlight] = await Promise.all([s.router.health(), s.upstreamTasks.inFlight()]);
      const now = s.clock.now();
      return {
        object: "list",
        data: s.router.all().map(({ spec }) => {
          const h = health.get(spec.id);
          const cooling = (h?.cooldownUntil ?? 0) > now;
          return {
            id: spec.id,
            kind: spec.kind,
            priority: spec.priority,
            weight: spec.weight,
            max_concurrent: spec.maxConcurrent,
            models: spec.models === "*" ? "*" : Object.fromEntries(spec.models),
            state: cooling ? "cooling_down" : (h?.failures ?? 0) > 0 ? "failing" : "healthy",
            failures: h?.failures ?? 0,
            cooldown_until: cooling ? (h?.cooldownUntil ?? null) : null,
            last_error: h?.lastError ?? null,
            last_failure_at: h?.lastFailureAt ?? null,
            last_success_at: h?.lastSuccessAt ?? null,
            in_flight: inFlight.get(spec.id) ?? 0,
          };
        }),
      };
    },
};
