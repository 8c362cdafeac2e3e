/**
 * `GET /v1/gallery?after=&limit=`: the public gallery. Completed videos made through the unified
 * API without `private: true`, newest first, with their remix lineage. No key needed: it is public.
 */
import { z } from "zod";
import { parseInput } from "../../core/tasks/params.js";
import type { Task } from "../../core/tasks/task.js";
import { queryOf, type Route } from "../route.js";
import { cursorPageQuery, type GalleryResponse, galleryResponseSchema, listPage } from "../schemas.js";
import type { AppServices } from "../services.js";

export const galleryQuerySchema = z.strictObject(cursorPageQuery);

/** Ancestors, nearest first, up to a bound (a chain is never followed for ever). */
async function lineage(s: AppServices, task: Task): Promise<string[]> {
  const chain: string[] = [];
  let from = task.request.source?.kind === "remix" ? task.request.source.taskId : null;
  while (from && chain.length < 10) {
    chain.push(from);
    const parent = await s.engine.peek(from);
    from = parent?.request.source?.kind === "remix" ? parent.request.source.taskId : null;
  }
  return chain;
}

export const v1Gallery: Route = {
  method: "GET",
  url: "/v1/gallery",
  auth: "none",
  summary: "The public gallery, newest first",
  tag: "Unified API",
  query: queryOf(galleryQuerySchema),
  ok: { status: 200, schema: galleryResponseSchema, description: "A page" },
  errors: [],
  handler:
    (s) =>
    async (req): Promise<GalleryResponse> => {
      const params = parseInput(galleryQuerySchema, req.query);
      const { after, limit = 20 } = params;
      const page = await s.engine.gallery({ after, limit });
      const now = s.clock.now();
      const data = await Promise.all(
        page.tasks.map(async (t) => {
          const result = t.result;
          return {
            id: t.id,
            model: t.request.model,
            prompt: t.request.prompt,
            created_at: t.createdAt,
            width: result?.width ?? t.request.width,
            height: result?.height ?? t.request.height,
            duration: result?.durationS ?? t.request.duration,
            thumbnail_url: result ? s.links.sign(result.thumbnailKey, now).url : null,
            video_url: result ? s.links.sign(result.videoKey, now).url : null,
            remixed_from: t.request.source?.kind === "remix" ? t.request.source.taskId : null,
            lineage: await lineage(s, t),
          };
        }),
      );
      return listPage(data, page.hasMore);
    },
};
