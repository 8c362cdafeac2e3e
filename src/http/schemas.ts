/**
 * Response schemas of every route. The TypeScript types the handlers return are inferred from
 * these, and the OpenAPI document (openapi.ts) is generated from them and from the request schemas
 * the routes validate with: the docs cannot drift from the code.
 */
import { z } from "zod";
import { ErrorCode } from "../core/errors.js";
import { TASK_STATUSES } from "../core/tasks/task.js";
import { UPSTREAM_KINDS } from "../core/upstream/ports.js";
import { attempts, providerUsage } from "./attempt_schemas.js";
import { taskCostSchema } from "./money_schemas.js";
import { type storyboardQuoteSchema, storyboardViewSchema } from "./storyboard_schemas.js";

/** An optional whole-number query parameter from `min` to `max` (query strings are text). */
export const queryInt = (min: number, max: number) =>
  z
    .string()
    .regex(/^\d{1,9}$/, `must be a whole number from ${min} to ${max}`)
    .transform(Number)
    .refine((n) => n >= min && n <= max, `must be from ${min} to ${max}`)
    .optional();

/** The query of cursor-paginated lists: `after` (the last id seen) and `limit` (1–100). */
export const cursorPageQuery = { after: z.string().min(1).optional(), limit: queryInt(1, 100) };

/** A page of a cursor-paginated list, in OpenAI's list shape. */
export const listPage = <T extends { id: string }>(data: T[], hasMore: boolean) => ({
  object: "list" as const,
  data,
  first_id: data[0]?.id ?? null,
  last_id: data[data.length - 1]?.id ?? null,
  has_more: hasMore,
});

export const errorEnvelopeSchema = z
  .object({
    error: z.object({
      message: z.string(),
      type: z.string(),
      code: z.enum(Object.values(ErrorCode) as [string, ...string[]]),
      param: z.string().nullable(),
    }),
  })
  .meta({ id: "Error" });

export const videoCreateResponseSchema = z
  .object({
    id: z.string().meta({ example: "sora-2:task_01k9009g8ef1esae6388chgcpx" }),
    status: z.literal("pending"),
    status_update_time: z.int().meta({ description: "Epoch milliseconds" }),
  })
  .meta({ id: "UnifiedCreateResponse" });

const taskError = z.object({ code: z.string(), message: z.string() });

/** Reelay's additions a task was created with; each present only where the request gave it. */
const inputAdditions = {
  aspect_ratio: z.string().optional(),
  resolution: z.string().optional(),
  negative_prompt: z.string().optional(),
  seed: z.int().optional(),
  audio: z.boolean().optional(),
  image_roles: z
    .array(z.enum(["first_frame", "last_frame", "reference"]))
    .readonly()
    .meta({ description: "The role of each input image: links first, then uploaded images" })
    .optional(),
};
const status = z.enum(TASK_STATUSES);

export const videoQueryResponseSchema = z
  .object({
    id: z.string(),
    status,
    status_update_time: z.int(),
    video_url: z.string().nullable(),
    thumbnail_url: z.string().nullable(),
    width: z.int().nullable(),
    height: z.int().nullable(),
    duration: z.number().nullable(),
    enhanced_prompt: z.string().nullable(),
    progress: z.int().min(0).max(100),
    remixed_from: z.string().nullable().meta({ description: "The video this one remixes" }),
    error: taskError.nullable(),
    usage: providerUsage,
    attempts,
    cost: taskCostSchema,
    detail: z.object({
      id: z.string(),
      status,
      created_at: z.int(),
      input: z.object({
        model: z.string(),
        prompt: z.string(),
        orientation: z.string(),
        size: z.string(),
        duration: z.int(),
        images: z.array(z.string()).readonly(),
        watermark: z.boolean(),
        private: z.boolean(),
        ...inputAdditions,
      }),
      pending_info: z.object({
        progress_pct: z.number().min(0).max(1),
        status,
        failure_reason: z.string().nullable(),
        attempts: z.int(),
      }),
      url: z.string().nullable(),
      thumbnail_url: z.string().nullable(),
      urls_expire_at: z.int().nullable(),
      has_watermark: z.boolean().nullable(),
    }),
    storyboard: storyboardViewSchema
      .optional()
      .meta({ description: "A storyboard's shots (GET /v1/video/query only); absent for other tasks" }),
  })
  .meta({ id: "UnifiedQueryResponse" });

export const openAiVideoSchema = z
  .object({
    id: z.string(),
    object: z.literal("video"),
    model: z.string(),
    status: z.enum(["queued", "in_progress", "completed", "failed"]),
    progress: z.int().min(0).max(100),
    created_at: z.int(),
    completed_at: z.int().nullable(),
    expires_at: z.int().nullable(),
    prompt: z.string(),
    remixed_from_video_id: z.string().nullable(),
    seconds: z.string(),
    size: z.string(),
    error: taskError.nullable(),
    usage: providerUsage,
    attempts,
    cost: taskCostSchema,
    ...inputAdditions,
  })
  .meta({ id: "Video" });

export const videoListResponseSchema = z
  .object({
    object: z.literal("list"),
    data: z.array(openAiVideoSchema),
    first_id: z.string().nullable(),
    last_id: z.string().nullable(),
    has_more: z.boolean(),
  })
  .meta({ id: "VideoList" });

export const videoDeleteResponseSchema = z
  .object({ id: z.string(), object: z.literal("video.deleted"), deleted: z.literal(true) })
  .meta({ id: "VideoDeleted" });

export const modelListResponseSchema = z
  .object({
    object: z.literal("list"),
    data: z.array(
      z.object({
        id: z.string(),
        object: z.literal("model"),
        created: z.int(),
        owned_by: z.string(),
        capabilities: z
          .object({
            orientations: z.array(z.string()),
            sizes: z.array(z.string()).meta({ description: "Unified `size` values" }),
            durations: z.array(z.int()).meta({ description: "Unified `duration` values, seconds" }),
            max_images: z.int(),
            video_sizes: z.array(z.string()).meta({ description: "OpenAI `size` values (WxH)" }),
            video_seconds: z.array(z.int()).meta({ description: "OpenAI `seconds` values" }),
            aspect_ratios: z.array(z.string()).meta({
              description: "`aspect_ratio` values (W:H); empty: the model takes none of the additions",
            }),
            resolutions: z
              .array(z.string())
              .meta({ description: "`resolution` values (480p, 720p, 1080p…)" }),
            first_frame: z
              .boolean()
              .meta({ description: "The first of `images` / `input_reference` is the first frame" }),
            last_frame: z.boolean().meta({ description: "Takes `last_frame`" }),
            reference_images: z.int().meta({ description: "How many reference images it takes (0: none)" }),
            reference_video: z.boolean(),
            audio: z.enum(["none", "optional", "always"]).meta({
              description:
                "none: no sound (`audio` refused); optional: `audio` chooses; always: sound (audio:false refused)",
            }),
            seed: z.boolean().meta({ description: "Takes `seed`" }),
            negative_prompt: z.boolean().meta({ description: "Takes `negative_prompt`" }),
          })
          .meta({ description: "What the create APIs accept for this model (Reelay's addition)" }),
      }),
    ),
  })
  .meta({ id: "ModelList" });

export const adminKeySchema = z
  .object({
    id: z.string(),
    name: z.string(),
    owner_id: z.string(),
    prefix: z.string().meta({ description: "The key's first characters, to recognise it" }),
    created_at: z.int(),
    expires_at: z.int().nullable().meta({ description: "Unix seconds; null: never" }),
    revoked_at: z.int().nullable().meta({ description: "Unix seconds; null: live" }),
    allowed_models: z.array(z.string()).nullable().meta({ description: "null: every model" }),
    rate_limit_per_min: z.int().nullable().meta({ description: "null: the server default" }),
    max_active_tasks: z.int().nullable().meta({ description: "null: the server default" }),
  })
  .meta({ id: "ApiKey" });

export const adminKeyCreateResponseSchema = adminKeySchema
  .extend({ key: z.string().meta({ description: "The API key. Shown only in this response." }) })
  .meta({ id: "ApiKeyCreated" });

export const meSchema = z
  .object({
    object: z.literal("me"),
    owner_id: z.string().meta({ description: "The owner of the calling key" }),
    key: adminKeySchema.meta({ description: "The calling key (never its secret)" }),
  })
  .meta({ id: "Me" });

export const adminKeyListSchema = z
  .object({ object: z.literal("list"), data: z.array(adminKeySchema) })
  .meta({ id: "ApiKeyList" });

export const chatCompletionSchema = z
  .object({
    id: z.string().meta({ description: "The task id" }),
    object: z.literal("chat.completion"),
    created: z.int(),
    model: z.string(),
    choices: z.array(
      z.object({
        index: z.int(),
        message: z.object({ role: z.literal("assistant"), content: z.string() }),
        finish_reason: z.string(),
      }),
    ),
    usage: z.object({ prompt_tokens: z.int(), completion_tokens: z.int(), total_tokens: z.int() }),
  })
  .meta({ id: "ChatCompletion" });

export const galleryResponseSchema = z
  .object({
    object: z.literal("list"),
    data: z.array(
      z.object({
        id: z.string(),
        model: z.string(),
        prompt: z.string(),
        created_at: z.int(),
        width: z.int(),
        height: z.int(),
        duration: z.number(),
        thumbnail_url: z.string().nullable(),
        video_url: z.string().nullable(),
        remixed_from: z.string().nullable(),
        lineage: z.array(z.string()).meta({ description: "Remix ancestors, nearest first" }),
      }),
    ),
    first_id: z.string().nullable(),
    last_id: z.string().nullable(),
    has_more: z.boolean(),
  })
  .meta({ id: "Gallery" });

export const characterUnifiedSchema = z
  .object({
    id: z.string(),
    username: z.string().meta({ description: "Mention it in a prompt as @username" }),
    permalink: z.string(),
    profile_picture_url: z.string().nullable(),
  })
  .meta({ id: "Character" });

export const characterOpenAiSchema = z
  .object({ id: z.string(), created_at: z.int(), name: z.string(), username: z.string() })
  .meta({ id: "VideoCharacter" });

export const accountSchema = z
  .object({
    owner_id: z.string(),
    balance: z.int().meta({ description: "Credits left" }),
    used: z.int().meta({ description: "Credits spent (charges less refunds)" }),
    topped_up: z.int().meta({ description: "All top-ups: always balance + used" }),
  })
  .meta({ id: "Account" });

export const usageResponseSchema = accountSchema
  .extend({
    billing: z.boolean().meta({ description: "false: no price table, nothing is charged" }),
    unit: z.literal("credits"),
    data: z.array(
      z.object({
        day: z.string(),
        key_id: z.string().nullable(),
        model: z.string().nullable(),
        charged: z.int(),
        refunded: z.int(),
        net: z.int(),
      }),
    ),
  })
  .meta({ id: "Usage" });

export const adminTaskListSchema = z
  .object({
    object: z.literal("list"),
    data: z.array(
      videoQueryResponseSchema.extend({
        owner_id: z.string(),
        channel: z
          .string()
          .nullable()
          .meta({ description: "The channel that took the task (null: not dispatched yet)" }),
        upstream_id: z.string().nullable().meta({ description: "The task's id at that channel's upstream" }),
      }),
    ),
  })
  .meta({ id: "AdminTaskList" });

export const videoTaskListSchema = z
  .object({
    object: z.literal("list"),
    data: z.array(videoQueryResponseSchema),
    first_id: z.string().nullable(),
    last_id: z.string().nullable(),
    has_more: z.boolean(),
  })
  .meta({ id: "VideoTaskList" });

export const adminChannelListSchema = z
  .object({
    object: z.literal("list"),
    data: z.array(
      z.object({
        id: z.string(),
        kind: z.enum(["local", ...UPSTREAM_KINDS]),
        priority: z.int(),
        weight: z.int(),
        max_concurrent: z.int().meta({ description: "0: no cap" }),
        models: z.union([z.literal("*"), z.record(z.string(), z.string())]),
        state: z.enum(["healthy", "failing", "cooling_down"]),
        failures: z.int().meta({ description: "Refused creates in a row" }),
        cooldown_until: z.int().nullable().meta({ description: "Epoch ms; null when not cooling down" }),
        last_error: z.string().nullable(),
        last_failure_at: z.int().nullable(),
        last_success_at: z.int().nullable(),
        in_flight: z.int().meta({ description: "Tasks it holds now (upstream channels)" }),
      }),
    ),
  })
  .meta({ id: "AdminChannelList" });

export const healthSchema = z.object({ status: z.string() }).meta({ id: "Health" });

export type VideoCreateResponse = z.infer<typeof videoCreateResponseSchema>;
export type VideoQueryResponse = z.infer<typeof videoQueryResponseSchema>;
export type StoryboardQuote = z.infer<typeof storyboardQuoteSchema>;
export type OpenAiVideo = z.infer<typeof openAiVideoSchema>;
export type VideoListResponse = z.infer<typeof videoListResponseSchema>;
export type VideoDeleteResponse = z.infer<typeof videoDeleteResponseSchema>;
export type ModelListResponse = z.infer<typeof modelListResponseSchema>;
export type GalleryResponse = z.infer<typeof galleryResponseSchema>;
export type CharacterUnified = z.infer<typeof characterUnifiedSchema>;
export type CharacterOpenAi = z.infer<typeof characterOpenAiSchema>;
export type AdminKey = z.infer<typeof adminKeySchema>;
export type AdminKeyList = z.infer<typeof adminKeyListSchema>;
export type AdminTaskList = z.infer<typeof adminTaskListSchema>;
export type VideoTaskList = z.infer<typeof videoTaskListSchema>;
export type AdminChannelList = z.infer<typeof adminChannelListSchema>;
export type AccountView = z.infer<typeof accountSchema>;
export type UsageResponse = z.infer<typeof usageResponseSchema>;

export type AdminKeyCreateResponse = z.infer<typeof adminKeyCreateResponseSchema>;
export type MeResponse = z.infer<typeof meSchema>;
