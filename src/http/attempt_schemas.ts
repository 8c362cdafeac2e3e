/** Response schemas of a task's upstream side: the provider's usage, and the attempts failover leaves. */
import { z } from "zod";
import type { UpstreamErrorClass } from "../core/upstream/ports.js";
import { UPSTREAM_ERROR_CLASSES } from "../core/upstream/taxonomy.js";

/** A provider's own usage figures for a task, when it reports them. */
export const providerUsage = z
  .object({ tokens: z.number().optional(), seconds: z.number().optional() })
  .nullable()
  .meta({
    description: "What the provider reported it used (tokens, seconds); null when it reports nothing",
  });

/** One upstream attempt of a task (core/tasks/attempt_views.ts). */
export const taskAttemptSchema = z
  .object({
    number: z.int().min(1),
    channel: z.string().meta({ description: "The channel that accepted this attempt" }),
    upstream_id: z.string().nullable().meta({ description: "The task's id at that channel's upstream" }),
    outcome: z.enum(["running", "completed", "failed", "cancelled"]),
    error: z
      .object({
        class: z.enum(UPSTREAM_ERROR_CLASSES as [UpstreamErrorClass, ...UpstreamErrorClass[]]),
        code: z.string().nullable().meta({ description: "The provider's own error code" }),
        message: z.string().meta({ description: "The provider's own message" }),
      })
      .nullable(),
    usage: providerUsage,
    started_at: z.int().meta({ description: "Epoch milliseconds" }),
    ended_at: z.int().nullable().meta({ description: "Epoch milliseconds; null while it runs" }),
    credits: z
      .int()
      .min(0)
      .meta({ description: "Credits it cost: the settled charge for the one that delivered, else 0" }),
  })
  .meta({ id: "TaskAttempt" });

/** `attempts[]`: shown where one task is read (query, retrieve, the admin task view). */
export const attempts = z
  .array(taskAttemptSchema)
  .meta({
    description:
      "Each upstream submission that was accepted, first first: a task that failed upstream for a reason not its own was failed over to another channel",
  })
  .optional();
