/** Response schemas of storyboards: the shots a query shows, and a storyboard's dry-run quote. */
import { z } from "zod";
import { TASK_STATUSES } from "../core/tasks/task.js";

/** A storyboard's shots as the query shows them. */
export const storyboardViewSchema = z
  .object({
    shots: z.array(
      z.object({
        index: z.int(),
        task_id: z.string().nullable().meta({ description: "The shot's own task; null until its turn" }),
        status: z.enum([...TASK_STATUSES, "waiting"]),
        model: z.string(),
        duration: z.int(),
        progress: z.int().min(0).max(100),
        transition: z.enum(["cut", "crossfade"]),
        caption: z.string().nullable(),
      }),
    ),
    audio: z.enum(["keep", "silent"]),
    crossfade_s: z.number(),
  })
  .meta({ id: "StoryboardShots" });

/** `POST /v1/video/storyboards` with `dry_run: true`: the price, nothing created. */
export const storyboardQuoteSchema = z
  .object({
    object: z.literal("storyboard.quote"),
    price: z
      .int()
      .nullable()
      .meta({ description: "Credits the storyboard would be charged; null while billing is off" }),
    shots: z.array(
      z.object({ index: z.int(), model: z.string(), duration: z.int(), price: z.int().nullable() }),
    ),
    balance: z.int().nullable().meta({ description: "Your credits now; null while billing is off" }),
    covered: z.boolean().nullable().meta({ description: "Whether the balance covers the price" }),
  })
  .meta({ id: "StoryboardQuote" });
