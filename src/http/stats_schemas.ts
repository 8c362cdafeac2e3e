/** Response schemas of the dashboard's routes (`/admin/stats/...`) and the admin task detail. */
import { z } from "zod";
import { UPSTREAM_KINDS } from "../core/upstream/ports.js";
import { adminTaskListSchema } from "./schemas.js";

const counts = z.array(z.number()).meta({ description: "One value per bucket, in the order of `buckets`" });

export const statsNowSchema = z
  .object({
    at: z.int().meta({ description: "Epoch ms of this answer" }),
    tasks: z.object({
      queued: z.int().meta({ description: "Tasks waiting for a worker (status pending)" }),
      running: z.int().meta({ description: "Tasks being made (status processing), everywhere" }),
      in_flight_upstream: z.int().meta({ description: "Tasks held by upstream channels" }),
    }),
    channels: z.array(
      z.object({
        id: z.string(),
        kind: z.enum(["local", ...UPSTREAM_KINDS]),
        state: z.enum(["healthy", "failing", "cooling_down"]),
        cooling_until: z.int().nullable().meta({ description: "Epoch ms; null when not cooling down" }),
        failures: z.int(),
        last_error: z.string().nullable(),
        last_failure_at: z.int().nullable(),
        last_success_at: z.int().nullable(),
        in_flight: z.int().meta({
          description:
            "Tasks it runs now: an upstream's tasks in flight there; the local renderer's, the running tasks no upstream holds",
        }),
        max_concurrent: z.int().meta({ description: "Its cap (0: none)" }),
      }),
    ),
    processes: z
      .array(z.object({ id: z.string(), role: z.string(), host: z.string(), seen_at: z.int() }))
      .meta({ description: "Reelay processes with a heartbeat in the last minute" }),
    rolled_until: z
      .int()
      .meta({ description: "Over-time figures count every task finished before this (epoch ms)" }),
  })
  .meta({ id: "StatsNow" });

const breakdown = z.object({
  name: z
    .string()
    .nullable()
    .meta({ description: "The channel or model; null: tasks that never reached a channel" }),
  tasks: z.int(),
  completed: z.int(),
  failed: z.int(),
  cancelled: z.int(),
  success_rate: z.number().nullable().meta({ description: "completed / (completed + failed)" }),
  p50_ms: z.int().nullable().meta({ description: "Create → completed, median (completed tasks)" }),
  p95_ms: z.int().nullable(),
  failure_classes: z.record(z.string(), z.int()),
  series: counts,
});

const money = z.object({
  name: z.string(),
  held: z.int(),
  charged: z.int(),
  refunded: z.int(),
  provider_cost_usd: z.number(),
  charged_series: counts,
  refunded_series: counts,
});

export const statsOverTimeSchema = z
  .object({
    range: z.enum(["hour", "day", "30d"]),
    grain: z.enum(["minute", "hour", "day"]),
    bucket_ms: z.int(),
    buckets: z.array(z.int()).meta({ description: "Start of each bucket, epoch ms (UTC)" }),
    rolled_until: z.int(),
    by_status: z.object({ completed: counts, failed: counts, cancelled: counts }),
    totals: z.object({ completed: z.int(), failed: z.int(), cancelled: z.int() }),
    p50_ms: z.int().nullable(),
    p95_ms: z.int().nullable(),
    channels: z.array(breakdown),
    models: z.array(breakdown),
    failure_classes: z.array(z.object({ name: z.string(), total: z.int(), series: counts })),
    events: z.object({
      polls: counts,
      callbacks: counts,
      polls_per_minute: counts,
      callbacks_per_minute: counts,
    }),
    credits: z.object({
      series: z.object({ held: counts, charged: counts, refunded: counts, provider_cost_usd: counts }),
      totals: z.object({ held: z.int(), charged: z.int(), refunded: z.int(), provider_cost_usd: z.number() }),
      owners: z.array(money),
      models: z.array(money),
    }),
  })
  .meta({ id: "StatsOverTime" });

export const statsTaskListSchema = z
  .object({
    object: z.literal("list"),
    data: z.array(
      z.object({
        id: z.string(),
        owner_id: z.string(),
        model: z.string(),
        channel: z.string().nullable(),
        status: z.enum(["completed", "failed", "cancelled"]),
        failure_class: z.string().nullable(),
        created_at: z.int(),
        finished_at: z.int(),
        latency_ms: z.int(),
        held: z.int(),
        charged: z.int(),
        refunded: z.int(),
        provider_cost_usd: z.number(),
      }),
    ),
    next_cursor: z
      .string()
      .nullable()
      .meta({ description: "Pass as `cursor` for the next page; null: none" }),
  })
  .meta({ id: "StatsTaskList" });

const adminTaskRow = adminTaskListSchema.shape.data.element;

export const adminTaskDetailSchema = adminTaskRow
  .extend({
    events: z.array(
      z.object({
        seq: z.int(),
        type: z.string(),
        at: z.int(),
        status: z.string(),
        progress: z.int(),
      }),
    ),
  })
  .meta({ id: "AdminTaskDetail" });

export type StatsNow = z.infer<typeof statsNowSchema>;
export type StatsOverTime = z.infer<typeof statsOverTimeSchema>;
export type StatsTaskList = z.infer<typeof statsTaskListSchema>;
export type AdminTaskDetail = z.infer<typeof adminTaskDetailSchema>;
