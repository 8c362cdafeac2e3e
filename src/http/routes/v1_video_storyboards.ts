/**
 * `POST /v1/video/storyboards`: up to 10 shots made in order (each a child task, the previous
 * shot's last frame as its first frame where its model takes one), joined by the built-in ffmpeg
 * into one film. One task (`storyboard:task_…`), one price (the sum of the shots', charged once),
 * queried like any task; `dry_run: true` answers the price and creates nothing.
 */

import { parseStoryboard, storyboardSchema } from "../../core/storyboards/plan.js";
import { quoteStoryboard } from "../../core/storyboards/quote.js";
import { decodeImageDataUrl, isDataUrl } from "../../core/tasks/openai_params.js";
import type { StoryboardShot } from "../../core/tasks/task.js";
import { principalOf } from "../auth.js";
import { createTask } from "../create_task.js";
import { storeInputs } from "../openai_inputs.js";
import { CREATE_ERRORS, type Route } from "../route.js";
import { videoCreateResponseSchema } from "../schemas.js";
import type { AppServices } from "../services.js";
import { storyboardQuoteSchema } from "../storyboard_schemas.js";
import { CREATE_BODY_LIMIT } from "./v1_video_create.js";

/** Each shot's inline images stored (checked by their bytes first); a refused one stores nothing more. */
async function storeShotImages(
  s: AppServices,
  shots: readonly StoryboardShot[],
  images: ReturnType<typeof parseStoryboard>["images"],
): Promise<StoryboardShot[]> {
  const out: StoryboardShot[] = [];
  try {
    for (const [i, shot] of shots.entries()) {
      const stored = await storeInputs(
        s,
        (images[i] ?? []).map(({ image, role, param }) => {
          const field = `shots[${i}].${param}`;
          return {
            ref: isDataUrl(image)
              ? decodeImageDataUrl(image, s.uploads.maxImageBytes, field)
              : { kind: "url" as const, url: image },
            role,
            param: field,
          };
        }),
      );
      const { imageRoles: _roles, ...rest } = shot.request;
      out.push({ ...shot, request: { ...rest, ...stored } });
    }
    return out;
  } catch (e) {
    await Promise.all(
      out.flatMap((o) => o.request.imageKeys.map((k) => s.blobs.delete(k).catch(() => undefined))),
    );
    throw e;
  }
}

export const v1VideoStoryboards: Route = {
  method: "POST",
  url: "/v1/video/storyboards",
  auth: "key",
  summary: "Create a storyboard: shots made in order and joined into one video",
  tag: "Unified API",
  body: storyboardSchema,
  ok: {
    status: 200,
    schema: videoCreateResponseSchema.or(storyboardQuoteSchema),
    description: "The storyboard's task, pending; with dry_run, its price",
  },
  errors: CREATE_ERRORS,
  bodyLimit: CREATE_BODY_LIMIT,
  handler: (s) => async (req) => {
    const principal = principalOf(req);
    const { request, images, dryRun } = parseStoryboard(req.body, s.models);
    if (dryRun) {
      const balance = s.billingEnabled ? (await s.accounts.get(principal.ownerId)).balance : null;
      return quoteStoryboard(request, s.prices, balance);
    }
    if (request.callbackUrl !== undefined)
      await s.webhooks.checkCallback(principal.ownerId, request.callbackUrl);
    const shots = await storeShotImages(s, request.storyboard.shots, images);
    const task = await createTask(s, req, principal.ownerId, {
      ...request,
      storyboard: { ...request.storyboard, shots },
    });
    return { id: task.id, status: "pending", status_update_time: task.createdAt };
  },
};
