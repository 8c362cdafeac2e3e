/**
 * `POST /v1/video/remix` (unified format): `{id, prompt, private?, watermark?}` → a new task that
 * starts from the finished video `id` (yours, or a published one) with a new prompt; same model,
 * orientation, size and length. Answers like create.
 */
import { z } from "zod";
import { checkPrompt } from "../../core/tasks/openai_params.js";
import { parseInput } from "../../core/tasks/params.js";
import { remixRequest } from "../../core/tasks/remix.js";
import { principalOf } from "../auth.js";
import { createTask } from "../create_task.js";
import { FROM_VIDEO_ERRORS, type Route } from "../route.js";
import { type VideoCreateResponse, videoCreateResponseSchema } from "../schemas.js";

export const unifiedRemixSchema = z.strictObject({
  id: z.string(),
  prompt: z.string(),
  private: z.boolean().optional(),
  watermark: z.boolean().optional(),
});

export const v1VideoRemix: Route = {
  method: "POST",
  url: "/v1/video/remix",
  auth: "key",
  summary: "Remix a finished video (yours or a published one) with a new prompt",
  tag: "Unified API",
  body: unifiedRemixSchema,
  ok: { status: 200, schema: videoCreateResponseSchema, description: "The new task, pending" },
  errors: FROM_VIDEO_ERRORS,
  handler:
    (s) =>
    async (req): Promise<VideoCreateResponse> => {
      const { ownerId } = principalOf(req);
      const b = parseInput(unifiedRemixSchema, req.body ?? {});
      const prompt = checkPrompt(b.prompt);
      const from = await s.engine.source(ownerId, b.id, "remix");
      const request = remixRequest(from, {
        prompt,
        api: "unified",
        ...(b.private === undefined ? {} : { private: b.private }),
        ...(b.watermark === undefined ? {} : { watermark: b.watermark }),
      });
      const task = await createTask(s, req, ownerId, request);
      return { id: task.id, status: "pending", status_update_time: task.createdAt };
    },
};
