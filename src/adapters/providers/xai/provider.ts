/**
 * Grok Imagine video on the xAI API (`baseUrl` `https://api.x.ai`): `POST /v1/videos/generations`
 * `{model, prompt, duration, aspect_ratio, resolution, image?: {url}, reference_images?: [{url}]}` →
 * `{request_id}`; `GET /v1/videos/{request_id}` → `{status: pending|done|failed|expired,
 * video: {url, duration, respect_moderation}, model, error?: {code, message}}`. Auth:
 * `Authorization: Bearer <XAI_API_KEY>`. Result links are temporary: Reelay re-hosts at once. xAI
 * documents no cancel and no idempotency key.
 *
 * Sources: https://docs.x.ai/developers/model-capabilities/video,
 * https://docs.x.ai/developers/model-capabilities/video/reference-to-video,
 * https://docs.x.ai/developers/rest-api-reference/inference/videos, https://docs.x.ai/developers/debugging;
 * vercel/ai packages/xai/src/xai-video-model.ts; BerriAI/litellm litellm/llms/xai/videos/transformation.py.
 * Details in mapping.ts.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { errors, type ReelayError } from "../../../core/errors.js";
import { sniffMedia } from "../../../core/media/media_types.js";
import type { UpstreamProvider } from "../../../core/upstream/ports.js";
import type { CallResult, ChannelHttp } from "../upstream/http.js";
import { imagesByRole } from "../upstream/images.js";
import { obj, str } from "../upstream/status.js";
import {
  CREATE_PATH,
  createBody,
  errorClassOf,
  imageUrls,
  readResult,
  resultPath,
  videoUrlOf,
  XaiRequestError,
  xaiError,
} from "./mapping.js";

/** An uploaded image as the base64 data URI xAI documents (`data:image/png;base64,…`). */
async function dataUrlOf(file: string): Promise<string> {
  const bytes = await readFile(file);
  const type = sniffMedia(bytes.subarray(0, 16)) ?? "png";
  return `data:image/${type};base64,${bytes.toString("base64")}`;
}

export function createXaiProvider(http: ChannelHttp): UpstreamProvider {
  /** A refused create, classified by xAI's HTTP status and words. */
  function submitRefusal(res: CallResult): ReelayError {
    const said = xaiError(res.json);
    const code = said?.code ?? null;
    const message = said?.message ?? res.text.slice(0, 300);
    const cls = errorClassOf(res.status, code, message);
    if (cls === "content_policy") return errors.contentPolicy(http.channelId, code, message);
    if (cls === "invalid_request")
      return errors.upstreamRejected(
        http.channelId,
        { status: res.status, code, message },
        { retryable: false },
      );
    if (cls === "auth" || cls === "quota" || cls === "overloaded" || cls === "upstream_internal") {
      // A 504 may have taken the request: the generic refusal says so.
      if (res.status === 504) return http.refusal(res, "submit");
      return errors.upstreamRejected(
        http.channelId,
        { status: res.status, code, message },
        { retryable: true, retryAfterS: res.retryAfterS },
      );
    }
    return http.refusal(res, "submit");
  }

  async function query(upstreamId: string, signal: AbortSignal): Promise<CallResult> {
    const res = await http.call("GET", resultPath(upstreamId), { phase: "poll", signal });
    if (res.status !== 200) throw http.refusal(res, "poll");
    if (res.json === undefined || typeof res.json !== "object" || res.json === null)
      throw errors.upstreamRejected(
        http.channelId,
        { status: 200, code: null, message: "the answer is not JSON" },
        { retryable: true },
      );
    return res;
  }

  return {
    kind: "xai",
    // xAI documents no idempotency key on creates: an unanswered create is not sent again.
    idempotent: false,
    async submit(request, ctx) {
      let body: ReturnType<typeof createBody>;
      try {
        const images = await imageUrls(imagesByRole(request, ctx), dataUrlOf);
        if (images.lastFrame) throw new XaiRequestError("Grok Imagine takes no last frame");
        body = createBody(request, ctx.upstreamModel, images);
      } catch (e) {
        if (!(e instanceof XaiRequestError)) throw e;
        throw errors.upstreamRejected(
          http.channelId,
          { status: null, code: "invalid_argument", message: e.message },
          { retryable: false },
        );
      }
      const res = await http.call("POST", CREATE_PATH, { phase: "submit", json: body, signal: ctx.signal });
      const ok = res.status >= 200 && res.status < 300;
      const id = ok ? str(obj(res.json).request_id) : null;
      if (id === null) {
        if (ok && xaiError(res.json) === null)
          throw errors.upstreamOutcomeUnknown(
            http.channelId,
            `a ${res.status} answer without a request_id`,
            false,
          );
        throw submitRefusal(res);
      }
      // The create answers with the request id only: the video is being generated.
      return {
        upstreamId: id,
        status: {
          state: "queued",
          raw: null,
          known: true,
          progress: null,
          error: null,
          enhancedPrompt: null,
        },
      };
    },
    async poll(upstreamId, signal) {
      const res = await query(upstreamId, signal);
      return { status: readResult(res.json), retryAfterS: res.retryAfterS };
    },
    async fetchResult(upstreamId, workDir, signal) {
      // The link is only in the result, and it is temporary: read it now.
      const res = await query(upstreamId, signal);
      const url = videoUrlOf(res.json);
      if (url === null)
        throw errors.upstreamBadContent(http.channelId, "the done request has no video.url", false);
      const videoPath = join(workDir, "upstream.mp4");
      await http.download(url, videoPath, { expect: "video", signal });
      // xAI gives no thumbnail and says nothing of a watermark.
      return { videoPath, thumbnailPath: null, watermarked: null };
    },
    async cancel() {
      // xAI documents no way to cancel a deferred video request: nothing to send. The request
      // runs out upstream; Reelay has already stopped polling it.
    },
  };
}
