/** `GET /v1/videos?after=&limit=&order=`: the caller's videos, cursor-paginated as OpenAI lists are. */
import type { FastifyInstance } from "fastify";
import { z } from "zod";
import { parseInput } from "../../core/params.js";
import { principalOf, requireKey } from "../auth.js";
import { cursorPageQuery, listPage, type VideoListResponse } from "../schemas.js";
import type { AppServices } from "../services.js";
import { openAiVideo } from "../views/openai_video.js";

export const listQuerySchema = z.strictObject({
  ...cursorPageQuery,
  order: z.enum(["asc", "desc"]).optional(),
});

export function v1VideosList(app: FastifyInstance, s: AppServices): void {
  app.get("/v1/videos", { onRequest: requireKey(s) }, async (req): Promise<VideoListResponse> => {
    const params = parseInput(listQuerySchema, req.query);
    const { after, limit = 20, order = "desc" } = params;
    const page = await s.engine.list(principalOf(req).ownerId, { after, limit, order });
    const data = page.tasks.map(openAiVideo);
    return listPage(data, page.hasMore);
  });
}
