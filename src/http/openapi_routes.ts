/** The documented operations: one row per route, with the schemas the route validates with. */
import { z } from "zod";
import { openAiCreateSchema, remixSchema, sourceSchema } from "../core/openai_params.js";
import { unifiedCreateSchema } from "../core/params.js";
import { topUpSchema, usageQuerySchema } from "./routes/accounts.js";
import { adminKeyBodySchema, adminKeyListQuerySchema } from "./routes/admin_keys.js";
import { adminTasksQuerySchema } from "./routes/admin_tasks.js";
import { characterCreateSchema, characterUploadSchema } from "./routes/characters.js";
import { chatBodySchema } from "./routes/v1_chat_completions.js";
import { galleryQuerySchema } from "./routes/v1_gallery.js";
import { unifiedRemixSchema } from "./routes/v1_video_remix.js";
import { listQuerySchema } from "./routes/v1_videos_list.js";
import {
  accountSchema,
  adminKeyCreateResponseSchema,
  adminKeyListSchema,
  adminKeySchema,
  adminTaskListSchema,
  characterOpenAiSchema,
  characterUnifiedSchema,
  chatCompletionSchema,
  galleryResponseSchema,
  healthSchema,
  modelListResponseSchema,
  openAiVideoSchema,
  usageResponseSchema,
  videoCreateResponseSchema,
  videoDeleteResponseSchema,
  videoListResponseSchema,
  videoQueryResponseSchema,
} from "./schemas.js";

export type Auth = "key" | "admin" | "none" | "signed";
export interface Op {
  method: "get" | "post" | "delete";
  path: string;
  summary: string;
  tag: string;
  auth: Auth;
  /** JSON body schema (validated by the route). */
  body?: z.ZodType;
  /** Also accepted as multipart/form-data (bracketed names for nested fields). */
  multipart?: z.ZodType;
  query?: Record<string, { schema: z.ZodType; required?: boolean; description: string }>;
  pathParams?: string[];
  ok: { status: number; schema?: z.ZodType; contentType?: string; description: string };
  errors: number[];
}

const idParam = ["id"];

const file = z.string().meta({ format: "binary" });

export const OPS: Op[] = [
  {
    method: "get",
    path: "/healthz",
    summary: "Liveness",
    tag: "Operations",
    auth: "none",
    ok: { status: 200, schema: healthSchema, description: "The process answers" },
    errors: [],
  },
  {
    method: "get",
    path: "/readyz",
    summary: "Readiness: database and queue answer",
    tag: "Operations",
    auth: "none",
    ok: { status: 200, schema: healthSchema, description: "Ready" },
    errors: [503],
  },
  {
    method: "get",
    path: "/metrics",
    summary: "Prometheus metrics",
    tag: "Operations",
    auth: "admin",
    ok: { status: 200, contentType: "text/plain", description: "Prometheus text format" },
    errors: [401, 403],
  },
  {
    method: "get",
    path: "/openapi.json",
    summary: "This document",
    tag: "Operations",
    auth: "none",
    ok: { status: 200, description: "OpenAPI 3.1" },
    errors: [],
  },
  {
    method: "post",
    path: "/admin/keys",
    summary: "Create an API key (returned once)",
    tag: "Admin",
    auth: "admin",
    body: adminKeyBodySchema,
    ok: { status: 201, schema: adminKeyCreateResponseSchema, description: "The new key" },
    errors: [400, 401, 403],
  },
  {
    method: "get",
    path: "/admin/keys",
    summary: "List API keys (never their secrets)",
    tag: "Admin",
    auth: "admin",
    query: {
      owner_id: { schema: adminKeyListQuerySchema.shape.owner_id, description: "Only this owner's keys" },
    },
    ok: { status: 200, schema: adminKeyListSchema, description: "Keys, newest first" },
    errors: [400, 401, 403],
  },
  {
    method: "delete",
    path: "/admin/keys/{id}",
    summary: "Revoke an API key (effective on the next request)",
    tag: "Admin",
    auth: "admin",
    pathParams: idParam,
    ok: { status: 200, schema: adminKeySchema, description: "The key, revoked" },
    errors: [401, 403, 404],
  },
  {
    method: "post",
    path: "/v1/video/create",
    summary: "Create a video (the unified format)",
    tag: "Unified API",
    auth: "key",
    body: unifiedCreateSchema,
    ok: { status: 200, schema: videoCreateResponseSchema, description: "The task, pending" },
    errors: [400, 401, 413],
  },
  {
    method: "post",
    path: "/v1/video/remix",
    summary: "Remix a finished video (yours or a published one) with a new prompt",
    tag: "Unified API",
    auth: "key",
    body: unifiedRemixSchema,
    ok: { status: 200, schema: videoCreateResponseSchema, description: "The new task, pending" },
    errors: [400, 401, 403, 404, 409],
  },
  {
    method: "get",
    path: "/v1/gallery",
    summary: "The public gallery, newest first",
    tag: "Unified API",
    auth: "none",
    query: Object.fromEntries(
      Object.entries(galleryQuerySchema.shape).map(([k, s]) => [
        k,
        { schema: s as z.ZodType, description: k },
      ]),
    ),
    ok: { status: 200, schema: galleryResponseSchema, description: "A page" },
    errors: [400],
  },
  {
    method: "get",
    path: "/v1/video/query",
    summary: "Query a task (the unified format)",
    tag: "Unified API",
    auth: "key",
    query: { id: { schema: z.string(), required: true, description: "The id create returned" } },
    ok: { status: 200, schema: videoQueryResponseSchema, description: "The task" },
    errors: [400, 401, 404],
  },
  {
    method: "post",
    path: "/v1/videos",
    summary: "Create a video (OpenAI Videos API)",
    tag: "OpenAI-compatible API",
    auth: "key",
    body: openAiCreateSchema,
    multipart: openAiCreateSchema.extend({
      input_reference: z
        .union([file, z.object({ image_url: z.string().optional(), file_id: z.string().optional() })])
        .optional(),
    }),
    ok: { status: 200, schema: openAiVideoSchema, description: "The video, queued" },
    errors: [400, 401, 413],
  },
  {
    method: "get",
    path: "/v1/videos",
    summary: "List your videos (cursor pagination)",
    tag: "OpenAI-compatible API",
    auth: "key",
    query: Object.fromEntries(
      Object.entries(listQuerySchema.shape).map(([k, s]) => [k, { schema: s as z.ZodType, description: k }]),
    ),
    ok: { status: 200, schema: videoListResponseSchema, description: "A page" },
    errors: [400, 401],
  },
  {
    method: "get",
    path: "/v1/videos/{id}",
    summary: "Retrieve a video",
    tag: "OpenAI-compatible API",
    auth: "key",
    pathParams: idParam,
    ok: { status: 200, schema: openAiVideoSchema, description: "The video" },
    errors: [401, 404],
  },
  {
    method: "delete",
    path: "/v1/videos/{id}",
    summary: "Delete a video and its files",
    tag: "OpenAI-compatible API",
    auth: "key",
    pathParams: idParam,
    ok: { status: 200, schema: videoDeleteResponseSchema, description: "Deleted" },
    errors: [401, 404],
  },
  {
    method: "get",
    path: "/v1/videos/{id}/content",
    summary: "Download a video, its thumbnail or its spritesheet (Range supported)",
    tag: "OpenAI-compatible API",
    auth: "key",
    pathParams: idParam,
    query: {
      variant: {
        schema: z.enum(["video", "thumbnail", "spritesheet"]).default("video"),
        description: "Which file",
      },
    },
    ok: {
      status: 200,
      contentType: "application/octet-stream",
      description: "video/mp4 or image/jpeg bytes (206 for a Range)",
    },
    errors: [400, 401, 404, 409, 416],
  },
  {
    method: "post",
    path: "/v1/videos/{id}/remix",
    summary: "Remix a finished video with a new prompt",
    tag: "OpenAI-compatible API",
    auth: "key",
    pathParams: idParam,
    body: remixSchema,
    ok: { status: 200, schema: openAiVideoSchema, description: "The new video" },
    errors: [400, 401, 404, 409],
  },
  {
    method: "post",
    path: "/v1/videos/edits",
    summary: "A new video from a source video and a new prompt",
    tag: "OpenAI-compatible API",
    auth: "key",
    body: sourceSchema.omit({ seconds: true }),
    multipart: sourceSchema
      .omit({ seconds: true })
      .extend({ video: z.union([file, z.object({ id: z.string() })]) }),
    ok: { status: 200, schema: openAiVideoSchema, description: "The new video" },
    errors: [400, 401, 404, 409, 413],
  },
  {
    method: "post",
    path: "/v1/videos/extensions",
    summary: "Continue a video by `seconds`",
    tag: "OpenAI-compatible API",
    auth: "key",
    body: sourceSchema,
    multipart: sourceSchema.extend({ video: z.union([file, z.object({ id: z.string() })]) }),
    ok: { status: 200, schema: openAiVideoSchema, description: "The new video" },
    errors: [400, 401, 404, 409, 413],
  },
  {
    method: "post",
    path: "/sora/v1/characters",
    summary: "Make a character (cameo) from a 1–3 s span of a finished video; mention it as @username",
    tag: "Unified API",
    auth: "key",
    body: characterCreateSchema,
    ok: { status: 200, schema: characterUnifiedSchema, description: "The character" },
    errors: [400, 401, 403, 404, 409],
  },
  {
    method: "get",
    path: "/sora/v1/characters/{id}",
    summary: "A character (yours, or one made from a published video)",
    tag: "Unified API",
    auth: "key",
    pathParams: idParam,
    ok: { status: 200, schema: characterUnifiedSchema, description: "The character" },
    errors: [401, 404],
  },
  {
    method: "post",
    path: "/v1/videos/characters",
    summary: "Make a character from an uploaded video (first 3 s, or `timestamps`)",
    tag: "OpenAI-compatible API",
    auth: "key",
    multipart: characterUploadSchema.extend({ video: file }),
    ok: { status: 200, schema: characterOpenAiSchema, description: "The character" },
    errors: [400, 401, 413],
  },
  {
    method: "get",
    path: "/v1/videos/characters/{id}",
    summary: "A character",
    tag: "OpenAI-compatible API",
    auth: "key",
    pathParams: idParam,
    ok: { status: 200, schema: characterOpenAiSchema, description: "The character" },
    errors: [401, 404],
  },
  {
    method: "post",
    path: "/v1/video/cancel",
    summary: "Cancel a pending or running task (unified format)",
    tag: "Unified API",
    auth: "key",
    query: { id: { schema: z.string(), required: true, description: "The task id" } },
    ok: { status: 200, schema: videoQueryResponseSchema, description: "The task, cancelled" },
    errors: [400, 401, 404, 409],
  },
  {
    method: "post",
    path: "/v1/videos/{id}/cancel",
    summary: "Cancel a queued or in-progress video",
    tag: "OpenAI-compatible API",
    auth: "key",
    pathParams: idParam,
    ok: {
      status: 200,
      schema: openAiVideoSchema,
      description: "The video (status failed, error.code cancelled)",
    },
    errors: [401, 404, 409],
  },
  {
    method: "post",
    path: "/admin/accounts/{owner_id}/credits",
    summary: "Top up an owner's credits",
    tag: "Admin",
    auth: "admin",
    pathParams: ["owner_id"],
    body: topUpSchema,
    ok: { status: 200, schema: accountSchema, description: "The account after" },
    errors: [400, 401, 403],
  },
  {
    method: "get",
    path: "/admin/accounts/{owner_id}",
    summary: "An owner's balance, used and top-ups",
    tag: "Admin",
    auth: "admin",
    pathParams: ["owner_id"],
    ok: { status: 200, schema: accountSchema, description: "The account" },
    errors: [401, 403],
  },
  {
    method: "get",
    path: "/admin/accounts/{owner_id}/usage",
    summary: "An owner's usage per day, key and model",
    tag: "Admin",
    auth: "admin",
    pathParams: ["owner_id"],
    query: { days: { schema: usageQuerySchema.shape.days, description: "How many days back (default 30)" } },
    ok: { status: 200, schema: usageResponseSchema, description: "Usage" },
    errors: [400, 401, 403],
  },
  {
    method: "get",
    path: "/admin/prices",
    summary: "The price table (whole credits; per task, or per second)",
    tag: "Admin",
    auth: "admin",
    ok: { status: 200, description: "{billing, unit, per_task, per_second}" },
    errors: [401, 403],
  },
  {
    method: "get",
    path: "/admin/tasks",
    summary: "Every owner's tasks, newest first, by status and owner",
    tag: "Admin",
    auth: "admin",
    query: Object.fromEntries(
      Object.entries(adminTasksQuerySchema.shape).map(([k, s]) => [
        k,
        { schema: s as z.ZodType, description: k },
      ]),
    ),
    ok: { status: 200, schema: adminTaskListSchema, description: "Tasks" },
    errors: [400, 401, 403],
  },
  {
    method: "get",
    path: "/v1/usage",
    summary: "Your balance and charges and refunds per day, key and model",
    tag: "Unified API",
    auth: "key",
    query: { days: { schema: usageQuerySchema.shape.days, description: "How many days back (default 30)" } },
    ok: { status: 200, schema: usageResponseSchema, description: "Usage" },
    errors: [400, 401],
  },
  {
    method: "get",
    path: "/v1/models",
    summary: "List video models",
    tag: "OpenAI-compatible API",
    auth: "key",
    ok: { status: 200, schema: modelListResponseSchema, description: "The capability table" },
    errors: [401],
  },
  {
    method: "post",
    path: "/v1/chat/completions",
    summary: "Chat-completions video mode (stream: true for server-sent progress)",
    tag: "OpenAI-compatible API",
    auth: "key",
    body: chatBodySchema,
    ok: {
      status: 200,
      schema: chatCompletionSchema,
      description: "A chat.completion, or a text/event-stream of chat.completion.chunk",
    },
    errors: [400, 401],
  },
  {
    method: "get",
    path: "/files/{key}",
    summary: "A stored result behind an expiring signed link (Range supported)",
    tag: "Results",
    auth: "signed",
    pathParams: ["key"],
    query: {
      exp: { schema: z.string(), required: true, description: "Expiry, Unix seconds" },
      sig: { schema: z.string(), required: true, description: "HMAC signature" },
    },
    ok: { status: 200, contentType: "application/octet-stream", description: "The bytes (206 for a Range)" },
    errors: [403, 404, 416],
  },
];
