/**
 * `POST /v1/video/remix` (unified format): `{id, prompt, private?, watermark?}` → a new task that
 * starts from the finished video `id` (yours, or a published one) with a new prompt; same model,
 * orientation, size and length. Answers like create.
 */
import type { FastifyInstance } from "fastify";
import { z } from "zod";
import { checkPrompt } from "../../core/openai_params.js";
import { parseInput } from "../../core/params.js";
import { remixRequest } from "../../core/remix.js";
import { principalOf, requireKey } from "../auth.js";
import { createTask } from "../create_task.js";
import type { VideoCreateResponse } from "../schemas.js";
import type { AppServices } from "../services.js";

export const unifiedRemixSchema = z.strictObject({
  id: z.string(),
  prompt: z.string(),
  private: z.boolean().optional(),
  watermark: z.boolean().optional(),
});

export function v1VideoRemix(app: FastifyInstance, s: AppServices): void {
  app.post("/v1/video/remix", { onRequest: requireKey(s) }, async (req): Promise<VideoCreateResponse> => {
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
  });
}
