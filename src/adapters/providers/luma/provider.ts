/**
 * Luma's Dream Machine API, at `https://api.lumalabs.ai`, Bearer key:
 * - create  `POST /dream-machine/v1/generations/video` `{model, prompt, aspect_ratio, resolution,
 *   duration, keyframes?: {frame0?, frame1?}}` → 201 Generation `{id, state, …}`;
 * - poll    `GET /dream-machine/v1/generations/{id}` → `{id, state: queued|dreaming|completed|failed,
 *   failure_reason, assets: {video}}`;
 * - result  `assets.video`, a CDN link that expires (about an hour): fetched at once through
 *   `http.download` (the poller re-hosts it right after completion);
 * - cancel  Luma has none; `DELETE /dream-machine/v1/generations/{id}` (204) removes the generation,
 *   the closest it has: sent on cancel, best effort (Luma does not say whether a running generation
 *   stops or is charged).
 * Errors are `{detail}` with the HTTP status (401 key, 402/403 account, 429 rate, 5xx Luma's own,
 * 400 the request's); moderation comes as a failed generation's `failure_reason` (see mapping.ts).
 * Luma takes images by URL only: an uploaded image (no link) is refused before sending.
 * No idempotency key: a create whose answer was lost is not sent again.
 *
 * Sources: lumalabs/lumaai-api `openapi.yaml`; lumalabs/lumaai-node (official SDK);
 * https://docs.lumalabs.ai/docs/video-generation, /docs/api, /docs/errors; see mapping.ts.
 */
import { join } from "node:path";
import { errors, type ReelayError } from "../../../core/errors.js";
import { aspectRatioOf, resolutionOf } from "../../../core/tasks/task.js";
import type { UpstreamProvider, UpstreamStatus } from "../../../core/upstream/ports.js";
import { createRefusal, unsupportedRequest } from "../upstream/create_answer.js";
import type { CallResult, ChannelHttp, Phase } from "../upstream/http.js";
import { type InputImage, imagesByRole } from "../upstream/images.js";
import { obj, str } from "../upstream/status.js";
import {
  createBody,
  errorDetail,
  isModeration,
  type LumaImageInput,
  LumaUnsupported,
  readGeneration,
} from "./mapping.js";

const toLuma = (i: InputImage | null): LumaImageInput | null =>
  i === null ? null : i.url !== null ? { url: i.url } : { upload: true };

const generationPath = (id: string) => `dream-machine/v1/generations/${encodeURIComponent(id)}`;

export function createLumaProvider(http: ChannelHttp): UpstreamProvider {
  /** A Luma answer's error, if it is one (non-2xx, or a body that is not JSON); null: a success. */
  function refusal(res: CallResult, phase: Phase): ReelayError | null {
    if (res.status < 200 || res.status > 299) {
      const detail = errorDetail(res.json);
      // Moderation is documented as a failed generation's reason; a create refused in the same
      // words is the request's too (never retried elsewhere).
      if (phase === "submit" && detail && isModeration(detail))
        return errors.contentPolicy(http.channelId, String(res.status), detail);
      return http.refusal(res, phase);
    }
    if (res.json === undefined)
      return errors.upstreamRejected(
        http.channelId,
        { status: res.status, code: null, message: "the answer is not JSON" },
        { retryable: true },
      );
    return null;
  }

  async function get(upstreamId: string, signal: AbortSignal): Promise<CallResult> {
    return http.call("GET", generationPath(upstreamId), { phase: "poll", signal });
  }

  return {
    kind: "luma",
    // Luma documents no idempotency key.
    idempotent: false,
    async submit(request, ctx) {
      const images = imagesByRole(request, ctx);
      let body: ReturnType<typeof createBody>;
      try {
        body = createBody({
          model: ctx.upstreamModel,
          prompt: request.prompt,
          duration: request.duration,
          resolution: resolutionOf(request),
          aspectRatio: aspectRatioOf(request),
          firstFrame: toLuma(images.firstFrame),
          lastFrame: toLuma(images.lastFrame),
          references: images.references.length,
        });
      } catch (e) {
        if (!(e instanceof LumaUnsupported)) throw e;
        throw unsupportedRequest(http.channelId, e.message);
      }
      const res = await http.call("POST", "dream-machine/v1/generations/video", {
        phase: "submit",
        json: body,
        signal: ctx.signal,
      });
      const refused = refusal(res, "submit");
      // A create answered 2xx without JSON may still have been taken: never sent elsewhere.
      if (refused) throw createRefusal(http.channelId, res, refused);
      const id = str(obj(res.json).id);
      if (!id)
        throw errors.upstreamOutcomeUnknown(http.channelId, `a ${res.status} answer without an id`, false);
      const g = readGeneration(res.json);
      const status: UpstreamStatus = {
        // The create answers the new generation (normally `queued`); anything else is read at the first poll.
        state: g.state === "failed" || g.state === "completed" ? "queued" : g.state,
        raw: g.raw,
        known: true,
        progress: null,
        error: null,
        enhancedPrompt: null,
      };
      return { upstreamId: id, status };
    },
    async poll(upstreamId, signal) {
      const res = await get(upstreamId, signal);
      const refused = refusal(res, "poll");
      if (refused) throw refused;
      const g = readGeneration(res.json);
      const status: UpstreamStatus = {
        state: g.state,
        raw: g.raw,
        known: g.known,
        // Luma reports no progress figure and no usage.
        progress: null,
        error: g.error,
        enhancedPrompt: null,
      };
      return { status, retryAfterS: res.retryAfterS };
    },
    async fetchResult(upstreamId, workDir, signal) {
      // The generation is read again at each try: its `assets.video` is the link to fetch.
      const res = await get(upstreamId, signal);
      const refused = refusal(res, "poll");
      if (refused)
        throw errors.upstreamBadContent(
          http.channelId,
          `reading generation ${upstreamId} failed: ${refused.message}`,
        );
      const url = readGeneration(res.json).videoUrl;
      if (!url)
        throw errors.upstreamBadContent(
          http.channelId,
          "Luma reports the generation completed but gives no assets.video",
          false,
        );
      const videoPath = join(workDir, "upstream.mp4");
      // Luma's video links are presigned and expire (about an hour after completion): a dead link
      // fails here (and the poller's fetch retries, then the task, say so).
      await http.download(url, videoPath, { expect: "video", signal });
      // Luma returns no separate thumbnail for a video and says nothing of a watermark.
      return { videoPath, thumbnailPath: null, watermarked: null };
    },
    async cancel(upstreamId, signal) {
      // Luma has no cancel; deleting the generation is the closest it documents (204 No Content).
      const res = await http.call("DELETE", generationPath(upstreamId), { phase: "cancel", signal });
      if (res.status !== 204 && (res.status < 200 || res.status > 299) && res.status !== 404)
        throw http.refusal(res, "cancel");
    },
  };
}
