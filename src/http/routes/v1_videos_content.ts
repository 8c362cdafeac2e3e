/** `GET /v1/videos/{id}/content?variant=video|thumbnail|spritesheet`: the bytes, with Range support. */

import { z } from "zod";
import { ErrorCode, errors } from "../../core/errors.js";
import { principalOf } from "../auth.js";
import { sendBlob } from "../blob_response.js";
import type { Route } from "../route.js";

const VARIANTS = ["video", "thumbnail", "spritesheet"] as const;

export const v1VideosContent: Route = {
  method: "GET",
  url: "/v1/videos/:id/content",
  auth: "key",
  summary: "Download a video, its thumbnail or its spritesheet (Range supported)",
  tag: "OpenAI-compatible API",
  query: {
    variant: {
      schema: z.enum(VARIANTS).default("video"),
      description: "Which file",
    },
  },
  ok: { status: 200, contentType: "application/octet-stream", description: "video/mp4 or image/jpeg bytes" },
  also: [
    { status: 206, contentType: "application/octet-stream", description: "The bytes of a Range" },
    { status: 302, description: "Redirect to the object store's own signed link (S3 proxy off)" },
  ],
  errors: [
    ErrorCode.taskNotFound,
    ErrorCode.notFound,
    ErrorCode.videoNotReady,
    ErrorCode.rangeNotSatisfiable,
    ErrorCode.storageUnavailable,
  ],
  handler: (s) => async (req, reply) => {
    const { id } = req.params as { id: string };
    const { variant = "video", ...rest } = req.query as Record<string, unknown>;
    const extra = Object.keys(rest)[0];
    if (extra !== undefined) throw errors.invalidField(extra, `Unknown query parameter '${extra}'`);
    if (typeof variant !== "string" || !(VARIANTS as readonly string[]).includes(variant)) {
      throw errors.invalidField(
        "variant",
        `'variant' must be one of ${VARIANTS.join(", ")} (got ${JSON.stringify(variant)})`,
      );
    }
    const task = await s.engine.getOwned(principalOf(req).ownerId, id);
    if (task.status !== "completed" || !task.result) throw errors.videoNotReady(id, task.status);
    const key =
      variant === "video"
        ? task.result.videoKey
        : variant === "thumbnail"
          ? task.result.thumbnailKey
          : task.result.spritesheetKey;
    if (!key) throw errors.invalidField("variant", `Video '${id}' has no ${variant}`);
    const name = `${id.replace(/[^A-Za-z0-9_-]/g, "_")}-${variant}.${variant === "video" ? "mp4" : "jpg"}`;
    return sendBlob(req, reply, s.blobs, key, { filename: name, cacheControl: "private, max-age=0" });
  },
};
