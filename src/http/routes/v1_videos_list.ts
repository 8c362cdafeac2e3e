/** `GET /v1/videos?after=&limit=&order=`: the caller's videos, cursor-paginated as OpenAI lists are. */
import { z } from "zod";
import { parseInput } from "../../core/tasks/params.js";
import { principalOf } from "../auth.js";
import { queryOf, type Route } from "../route.js";
import { cursorPageQuery, listPage, type VideoListResponse, videoListResponseSchema } from "../schemas.js";
import { openAiVideo } from "../views/openai_video.js";

export const listQuerySchema = z.strictObject({
  ...cursorPageQuery,
  order: z.enum(["asc", "desc"]).optional(),
});

export const v1VideosList: Route = {
  method: "GET",
  url: "/v1/videos",
  auth: "key",
  summary: "List your videos (cursor pagination)",
  tag: "OpenAI-compatible API",
  query: queryOf(listQuerySchema),
  ok: { status: 200, schema: videoListResponseSchema, description: "A page" },
  errors: [],
  handler:
    (s) =>
    async (req): Promise<VideoListResponse> => {
      const params = parseInput(listQuerySchema, req.query);
      const { after, limit = 20, order = "desc" } = params;
      const page = await s.engine.list(principalOf(req).ownerId, { after, limit, order });
      const data = page.tasks.map(openAiVideo);
      return listPage(data, page.hasMore);
    },
};
