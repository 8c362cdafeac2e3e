/**
 * `GET /admin/stats/over-time?range=hour|day|30d`: the dashboard's "Over time", from the rollups
 * (per minute for the last hour, per hour for the last day, per day for 30 days).
 */
import { z } from "zod";
import { overTimeOf } from "../../core/stats/over_time.js";
import { bucketsOf, GRAIN_MS, RANGES } from "../../core/stats/ranges.js";
import { parseInput } from "../../core/tasks/params.js";
import { queryOf, type Route } from "../route.js";
import { type StatsOverTime, statsOverTimeSchema } from "../stats_schemas.js";

export const overTimeQuerySchema = z.strictObject({
  range: z
    .enum(RANGES)
    .optional()
    .meta({ description: "hour (per minute), day (per hour), 30d (per day); default day" }),
});

export const adminStatsOverTime: Route = {
  method: "GET",
  url: "/admin/stats/over-time",
  auth: "admin",
  summary:
    "Dashboard, over time: tasks by status, success rate and latency per channel and model, failure classes, polls, callbacks, credits",
  tag: "Admin",
  query: queryOf(overTimeQuerySchema),
  ok: { status: 200, schema: statsOverTimeSchema, description: "The range's figures, bucket by bucket" },
  errors: [],
  handler:
    (s) =>
    async (req): Promise<StatsOverTime> => {
      const range = parseInput(overTimeQuerySchema, req.query).range ?? "day";
      const { grain, starts, from, to } = bucketsOf(range, s.clock.now());
      const [rows, events, rolledUntil] = await Promise.all([
        s.stats.store.rollups(grain, from, to),
        s.stats.store.events(grain, from, to),
        s.stats.store.watermark(),
      ]);
      const o = overTimeOf(grain, starts, rows, events);
      const breakdown = (b: (typeof o.channels)[number]) => ({
        name: b.name,
        tasks: b.tasks,
        completed: b.completed,
        failed: b.failed,
        cancelled: b.cancelled,
        success_rate: b.successRate,
        p50_ms: b.p50Ms,
        p95_ms: b.p95Ms,
        failure_classes: { ...b.failureClasses },
        series: [...b.series],
      });
      const money = (m: (typeof o.credits.owners)[number]) => ({
        name: m.name,
        held: m.held,
        charged: m.charged,
        refunded: m.refunded,
        provider_cost_usd: m.providerCostUsd,
        charged_series: [...m.chargedSeries],
        refunded_series: [...m.refundedSeries],
      });
      const c = o.credits;
      return {
        range,
        grain,
        bucket_ms: GRAIN_MS[grain],
        buckets: [...o.buckets],
        rolled_until: rolledUntil,
        by_status: {
          completed: [...o.byStatus.completed],
          failed: [...o.byStatus.failed],
          cancelled: [...o.byStatus.cancelled],
        },
        totals: { ...o.totals },
        p50_ms: o.p50Ms,
        p95_ms: o.p95Ms,
        channels: o.channels.map(breakdown),
        models: o.models.map(breakdown),
        failure_classes: o.failureClasses.map((f) => ({
          name: f.name,
          total: f.total,
          series: [...f.series],
        })),
        events: {
          polls: [...o.events.polls],
          callbacks: [...o.events.callbacks],
          polls_per_minute: [...o.events.pollsPerMinute],
          callbacks_per_minute: [...o.events.callbacksPerMinute],
        },
        credits: {
          series: {
            held: [...c.series.held],
            charged: [...c.series.charged],
            refunded: [...c.series.refunded],
            provider_cost_usd: [...c.series.providerCostUsd],
          },
          totals: {
            held: c.totals.held,
            charged: c.totals.charged,
            refunded: c.totals.refunded,
            provider_cost_usd: c.totals.providerCostUsd,
          },
          owners: c.owners.map(money),
          models: c.models.map(money),
        },
      };
    },
};
