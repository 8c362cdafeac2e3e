/** The documented operations of the OpenAI-compatible video routes (part of openapi_routes.ts). */
import { z } from "zod";
import { openAiCreateSchema, remixSchema, sourceSchema } from "../core/openai_params.js";
import { file, idParam, type Op } from "./openapi_op.js";
import { listQuerySchema } from "./routes/v1_videos_list.js";
import { openAiVideoSchema, videoDeleteResponseSchema, videoListResponseSchema } from "./schemas.js";

export const OPENAI_VIDEO_OPS: Op[] = [
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
];
