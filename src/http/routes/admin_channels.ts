/** `GET /admin/channels`: every channel, its health (failures, cool-down) and the tasks it holds. */
import { errors } from "../../core/errors.js";
import type { ChannelHealth } from "../../core/upstream/ports.js";
import type { Route } from "../route.js";
import { type AdminChannelList, adminChannelListSchema } from "../schemas.js";

/** A channel's health as the admin routes show it: its state, cool-down and last error. */
export function healthView(h: ChannelHealth | undefined, now: number) {
  const cooling = (h?.cooldownUntil ?? 0) > now;
  return {
    state: cooling
      ? ("cooling_down" as const)
      : (h?.failures ?? 0) > 0
        ? ("failing" as const)
        : ("healthy" as const),
    failures: h?.failures ?? 0,
    cooldown_until: cooling ? (h?.cooldownUntil ?? null) : null,
    last_error: h?.lastError ?? null,
    last_failure_at: h?.lastFailureAt ?? null,
    last_success_at: h?.lastSuccessAt ?? null,
  };
}

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
          return {
            id: spec.id,
            kind: spec.kind,
            priority: spec.priority,
            weight: spec.weight,
            max_concurrent: spec.maxConcurrent,
            models: spec.models === "*" ? "*" : Object.fromEntries(spec.models),
            ...healthView(health.get(spec.id), now),
            in_flight: inFlight.get(spec.id) ?? 0,
          };
        }),
      };
    },
};
