/**
 * The schemas of a task's money: its `cost` (in both task views), the quote (`POST /v1/video/quote`
 * and a create's `dry_run`), and a task's ledger rows.
 */
import { z } from "zod";

const priceRule = z.enum(["per_task", "per_second", "catalogue", "storyboard"]).meta({
  description:
    "The price table's entry that priced it: a per-task price, credits per second by model, or the catalogue's rate per second by resolution and sound",
});

/** A task's money: held at create, then settled (charged + refunded = held) or refunded in full. */
export const taskCostSchema = z
  .object({
    held: z.int().meta({ description: "Credits held at create: the quoted price" }),
    charged: z.int().nullable().meta({ description: "What the task cost once settled; null while it runs" }),
    refunded: z.int().meta({ description: "Credits given back: the settlement's release, or the refund" }),
    currency: z.literal("credits"),
    rule: priceRule,
    seconds: z.int().meta({ description: "Seconds the hold priced" }),
    billed_seconds: z.int().optional().meta({ description: "Seconds the settlement billed" }),
    basis: z
      .enum(["delivered", "provider_seconds"])
      .optional()
      .meta({ description: "The delivered video's seconds, or the provider's reported seconds when fewer" }),
    provider_cost_usd: z
      .number()
      .optional()
      .meta({ description: "The provider's own cost in US$, from its reported tokens and its list price" }),
  })
  .nullable()
  .meta({ id: "TaskCost", description: "Credits held, charged and refunded; null while billing is off" });

/** `POST /v1/video/quote`, and a create's answer with `dry_run: true`. */
export const videoQuoteSchema = z
  .object({
    object: z.literal("video.quote"),
    dry_run: z.literal(true).meta({ description: "Nothing was created, charged or sent upstream" }),
    model: z.string(),
    channel: z
      .object({ id: z.string(), kind: z.string(), predicted: z.literal(true) })
      .nullable()
      .meta({
        description: "The channel a create would be sent to now (a prediction); null when none would take it",
      }),
    channel_note: z.string(),
    billing: z.boolean().meta({ description: "False while billing is off: creates are not charged" }),
    currency: z.literal("credits"),
    price: z.int().meta({ description: "Credits a create would hold now (0 while billing is off)" }),
    breakdown: z
      .object({
        rule: priceRule,
        seconds: z.int(),
        resolution: z.string(),
        audio: z.boolean(),
        rate: z.number().meta({ description: "Credits per second; for `per_task`, the whole video's price" }),
      })
      .nullable(),
    balance: z.int().nullable().meta({ description: "Your balance; null while billing is off" }),
    covered: z.boolean(),
    shortfall: z.int().meta({ description: "Credits to top up before the create would be accepted" }),
  })
  .meta({ id: "VideoQuote" });

/** A task's ledger rows. */
export const taskLedgerSchema = z
  .object({
    task_id: z.string(),
    currency: z.literal("credits"),
    cost: taskCostSchema,
    data: z.array(
      z.object({
        id: z.string(),
        kind: z.enum(["hold", "settle", "refund"]),
        amount: z.int().meta({ description: "Signed credits: a hold is negative, what comes back positive" }),
        attempt: z.int(),
        created_at: z.int(),
        detail: z.record(z.string(), z.unknown()).nullable(),
      }),
    ),
  })
  .meta({ id: "TaskLedger" });

export type VideoQuote = z.infer<typeof videoQuoteSchema>;
export type TaskLedger = z.infer<typeof taskLedgerSchema>;
