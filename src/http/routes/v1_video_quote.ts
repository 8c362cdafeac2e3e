/**
 * `POST /v1/video/quote`: the body of `POST /v1/video/create`, validated as it validates it, and
 * in answer what that create would hold and where it would go now, whether the balance covers it;
 * nothing is created, charged, stored or sent upstream (core/tasks/quote.ts).
 */
import { ErrorCode } from "../../core/errors.js";
import { unifiedCreateSchema } from "../../core/tasks/params.js";
import { principalOf } from "../auth.js";
import { quoteTask } from "../create_task.js";
import { type VideoQuote, videoQuoteSchema } from "../money_schemas.js";
import { CREATE_ERRORS, type Route } from "../route.js";
import { CREATE_BODY_LIMIT, unifiedRequest } from "./v1_video_create.js";

export const v1VideoQuote: Route = {
  method: "POST",
  url: "/v1/video/quote",
  auth: "key",
  summary: "Quote a video: its price, the channel it would use, and whether your balance covers it",
  tag: "Unified API",
  body: unifiedCreateSchema,
  ok: { status: 200, schema: videoQuoteSchema, description: "The quote; nothing was created" },
  // A quote takes nothing and stores nothing: a short balance is `covered: false`, not a 402.
  errors: CREATE_ERRORS.filter(
    (c) =>
      c !== ErrorCode.insufficientCredits &&
      c !== ErrorCode.tooManyActiveTasks &&
      c !== ErrorCode.idempotencyConflict &&
      c !== ErrorCode.storageUnavailable,
  ),
  bodyLimit: CREATE_BODY_LIMIT,
  handler:
    (s) =>
    async (req): Promise<VideoQuote> => {
      const request = await unifiedRequest(s, req, req.body, { dryRun: true });
      return quoteTask(s, req, principalOf(req).ownerId, request);
    },
};
