/**
 * `GET /admin/stats/now`: the dashboard's "Now": tasks queued and running, each channel's state
 * (healthy, failing, cooling down until when, last error) and load against its cap, and the
 * processes seen in the last minute. Read live, not from the rollups.
 */
import { errors } from "../../core/errors.js";
import type { Route } from "../route.js";
import { type StatsNow, statsNowSchema } from "../stats_schemas.js";
import { healthView } from "./admin_channels.js";

/** A process is listed while its last heartbeat is this recent. */
const SEEN_WITHIN_MS = 60_000;

export const adminStatsNow: Route = {
  method: "GET",
  url: "/admin/stats/now",
  auth: "admin",
  summary: "Dashboard, now: tasks queued and running, channel states and load, live processes",
  tag: "Admin",
  ok: { status: 200, schema: statsNowSchema, description: "The gateway now" },
  errors: [],
  handler:
    (s) =>
    async (req): Promise<StatsNow> => {
      const unknown = Object.keys(req.query as object)[0];
      if (unknown !== undefined) throw errors.invalidField(unknown, `Unknown query parameter '${unknown}'`);
      const now = s.clock.now();
      const [byStatus, health, inFlight, processes, rolledUntil] = await Promise.all([
        s.stats.tasks.countByStatus(),
        s.router.health(),
        s.upstreamTasks.inFlight(),
        s.stats.store.processesSince(now - SEEN_WITHIN_MS),
        s.stats.store.watermark(),
      ]);
      const upstream = [...inFlight.values()].reduce((a, b) => a + b, 0);
      return {
        at: now,
        tasks: { queued: byStatus.pending, running: byStatus.processing, in_flight_upstream: upstream },
        channels: s.router.all().map(({ spec, upstream: up }) => {
          const { cooldown_until, ...h } = healthView(health.get(spec.id), now);
          return {
            id: spec.id,
            kind: spec.kind,
            ...h,
            cooling_until: cooldown_until,
            // The local renderer runs what no upstream holds (storyboards being joined count too).
            in_flight:
              up === null ? Math.max(0, byStatus.processing - upstream) : (inFlight.get(spec.id) ?? 0),
            max_concurrent: spec.maxConcurrent,
          };
        }),
        processes: processes.map((p) => ({ id: p.id, role: p.role, host: p.host, seen_at: p.seenAt })),
        rolled_until: rolledUntil,
      };
    },
};
