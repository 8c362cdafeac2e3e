/** `GET /v1/videos/{id}/content?variant=video|thumbnail|spritesheet`: the bytes, with Range support. */
import type { FastifyInstance } from "fastify";
import { errors } from "../../core/errors.js";
import { principalOf, requireKey } from "../auth.js";
import { sendBlob } from "../blob_response.js";
import type { AppServices } from "../services.js";

const VARIANTS = ["video", "thumbnail", "spritesheet"] as const;

export function v1VideosContent(app: FastifyInstance, s: AppServices): void {
  app.get("/v1/videos/:id/content", { onRequest: requireKey(s) }, async (req, reply) => {
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
  });
}
