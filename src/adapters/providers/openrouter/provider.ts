/**
 * OpenRouter's video generation API, at `https://openrouter.ai` (Bearer API key; the optional
 * attribution header `X-Title` is sent as `Reelay`):
 * - create  `POST /api/v1/videos` `{model, prompt, duration, resolution, aspect_ratio, seed?,
 *   generate_audio?, frame_images?, input_references?}` → 202 `{id, polling_url, status: pending}`;
 * - poll    `GET /api/v1/videos/{jobId}` → `{id, polling_url, status, error?, generation_id?,
 *   unsigned_urls?, usage?: {cost, is_byok}}`; status pending, in_progress, completed, failed,
 *   cancelled, expired;
 * - result  `unsigned_urls[0]` (the authenticated content proxy `GET /api/v1/videos/{jobId}/content?index=0`,
 *   the credential sent only on the channel's origin) or the signed storage link `urls[0]` (expires);
 *   the content endpoint itself when neither is given. Fetched at once through `http.download`.
 * Errors: `{error: {code, message, metadata}}` with the HTTP status equal to `code` (see mapping.ts);
 * 403 is moderation (content_policy). OpenRouter documents no cancel endpoint for video jobs and no
 * idempotency key for creates (its `X-OpenRouter-Idempotency-Key` is on webhook deliveries).
 * `usage.cost` is in US dollars, which Reelay's usage (tokens, seconds) has no field for.
 *
 * Sources: https://openrouter.ai/docs/api/api-reference/video-generation/create-videos,
 * …/get-videos, https://openrouter.ai/docs/api/api-reference/videos,
 * https://openrouter.ai/docs/guides/overview/multimodal/video-generation,
 * https://openrouter.ai/docs/api/reference/errors-and-debugging; see mapping.ts.
 */
import { open } from "node:fs/promises";
import { join } from "node:path";
import { errors, type ReelayError } from "../../../core/errors.js";
import { IMAGE_MIME, isImageType, SNIFF_BYTES, sniffMedia } from "../../../core/media/media_types.js";
import { aspectRatioOf, resolutionOf } from "../../../core/tasks/task.js";
import type { UpstreamProvider, UpstreamStatus } from "../../../core/upstream/ports.js";
import { createRefusal, unsupportedRequest } from "../upstream/create_answer.js";
import type { CallResult, ChannelHttp, Phase } from "../upstream/http.js";
import { type InputImage, imagesByRole } from "../upstream/images.js";
import { obj, str } from "../upstream/status.js";
import { classifyError, createBody, errorEnvelope, OpenRouterUnsupported, readJob } from "./mapping.js";

/** OpenRouter's optional app attribution header (documented as optional on every API). */
const HEADERS = { "x-title": "Reelay" };

/** An uploaded image as a data URL (`data:image/png;base64,…`), as image_url parts take it. */
async function asDataUrl(path: string): Promise<string> {
  const f = await open(path, "r");
  try {
    const bytes = await f.readFile();
    const type = sniffMedia(bytes.subarray(0, SNIFF_BYTES));
    const mime = isImageType(type) ? IMAGE_MIME[type] : "image/jpeg";
    return `data:${mime};base64,${bytes.toString("base64")}`;
  } finally {
    await f.close();
  }
}

const urlOf = async (i: InputImage | null): Promise<string | null> =>
  i === null ? null : i.url !== null ? i.url : asDataUrl(i.file);

const jobPath = (id: string) => `api/v1/videos/${encodeURIComponent(id)}`;

export function createOpenRouterProvider(http: ChannelHttp): UpstreamProvider {
  /**
   * An OpenRouter answer's error, if it is one: a non-2xx status, or a 2xx whose body is the error
   * envelope; 403 (moderation) is content policy. Null: the answer is a success.
   */
  function refusal(res: CallResult, phase: Phase): ReelayError | null {
    const ok = res.status >= 200 && res.status <= 299;
    if (ok && errorEnvelope(res.json) === null) {
      if (res.json === undefined)
        return errors.upstreamRejected(
          http.channelId,
          { status: res.status, code: null, message: "the answer is not JSON" },
          { retryable: true },
        );
      return null;
    }
    // Not OpenRouter's envelope (a proxy's page, an empty body): the generic reading.
    if (!ok && errorEnvelope(res.json) === null) return http.refusal(res, phase);
    const c = classifyError(ok ? 0 : res.status, res.json);
    if (c.class === "content_policy") return errors.contentPolicy(http.channelId, c.code, c.message);
    return errors.upstreamRejected(
      http.channelId,
      { status: res.status, code: c.code, message: c.message },
      // At poll every refusal is passing (the job is still there); at submit only the channel's.
      { retryable: phase !== "submit" || c.channelFault, retryAfterS: res.retryAfterS },
    );
  }

  async function job(upstreamId: string, signal: AbortSignal): Promise<CallResult> {
    return http.call("GET", jobPath(upstreamId), { phase: "poll", signal, headers: HEADERS });
  }

  return {
    kind: "openrouter",
    // No idempotency key for creates: a create whose answer was lost is not sent again.
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
          ...(request.seed === undefined ? {} : { seed: request.seed }),
          ...(request.audio === undefined ? {} : { audio: request.audio }),
          ...(request.negativePrompt === undefined ? {} : { negativePrompt: request.negativePrompt }),
          firstFrame: await urlOf(images.firstFrame),
          lastFrame: await urlOf(images.lastFrame),
          references: await Promise.all(images.references.map((i) => urlOf(i) as Promise<string>)),
        });
      } catch (e) {
        if (!(e instanceof OpenRouterUnsupported)) throw e;
        throw unsupportedRequest(http.channelId, e.message);
      }
      const res = await http.call("POST", "api/v1/videos", {
        phase: "submit",
        json: body,
        headers: HEADERS,
        signal: ctx.signal,
      });
      const refused = refusal(res, "submit");
      // A create answered 2xx without JSON may still have been taken: never sent elsewhere.
      if (refused) throw createRefusal(http.channelId, res, refused);
      const id = str(obj(res.json).id);
      if (!id)
        throw errors.upstreamOutcomeUnknown(http.channelId, `a ${res.status} answer without an id`, false);
      const j = readJob(res.json);
      const status: UpstreamStatus = {
        state: j.known && j.state !== "running" ? j.state : "queued",
        raw: j.raw,
        known: true,
        progress: null,
        error: j.error,
        enhancedPrompt: null,
      };
      return { upstreamId: id, status };
    },
    async poll(upstreamId, signal) {
      const res = await job(upstreamId, signal);
      const refused = refusal(res, "poll");
      if (refused) throw refused;
      const j = readJob(res.json);
      const status: UpstreamStatus = {
        state: j.state,
        raw: j.raw,
        known: j.known,
        // OpenRouter's job reports no progress figure.
        progress: null,
        error: j.error,
        enhancedPrompt: null,
      };
      return { status, retryAfterS: res.retryAfterS };
    },
    async fetchResult(upstreamId, workDir, signal) {
      // The job is read again at each try, so a retried download gets fresh (signed) links.
      const res = await job(upstreamId, signal);
      const refused = refusal(res, "poll");
      if (refused)
        throw errors.upstreamBadContent(http.channelId, `reading the job failed: ${refused.message}`);
      const j = readJob(res.json);
      if (j.state === "expired")
        throw errors.upstreamBadContent(
          http.channelId,
          `OpenRouter reports job ${upstreamId} as expired: its video is no longer kept`,
          false,
        );
      // The authenticated proxy link first, then signed storage links, then the content endpoint.
      const links = j.links.length > 0 ? j.links : [`${jobPath(upstreamId)}/content?index=0`];
      const videoPath = join(workDir, "upstream.mp4");
      let last: unknown = null;
      for (const url of links.slice(0, 2)) {
        try {
          await http.download(url, videoPath, { expect: "video", signal });
          // OpenRouter returns no thumbnail and does not say whether the video is watermarked.
          return { videoPath, thumbnailPath: null, watermarked: null };
        } catch (e) {
          if (signal.aborted) throw e;
          last = e;
        }
      }
      throw last;
    },
    async cancel() {
      // OpenRouter documents no cancel for video jobs: the job runs out upstream (and is billed
      // there); Reelay stops following it.
    },
  };
}
