/**
 * Grok Imagine video on the xAI API: the pure tables of the adapter — Reelay's request to the
 * create body, xAI's deferred-request answer to Reelay's status, xAI's errors to Reelay's classes.
 *
 * Sources (the provider's own documents first):
 * - https://docs.x.ai/developers/model-capabilities/video (video overview: `POST /v1/videos/generations`
 *   → `{request_id}`, `GET /v1/videos/{request_id}`, status `pending` | `done` | `failed` | `expired`,
 *   `video.url` temporary, `video.duration`, `video.respect_moderation`; durations 1–15 s;
 *   resolutions 480p (default) and 720p; aspect ratios 1:1, 16:9 (default), 9:16, 4:3, 3:4, 3:2, 2:3;
 *   image-to-video with `image: {url}` as a public URL or a base64 data URI).
 * - https://docs.x.ai/developers/model-capabilities/video/reference-to-video (`reference_images:
 *   [{url}]`, at most 7, at most 10 s, not together with `image`).
 * - https://docs.x.ai/developers/debugging (HTTP statuses: 400 invalid argument or an incorrect API
 *   key, 401 missing/invalid token, 403 no permission / blocked, 404 unknown model, 422 a field's
 *   format, 429 rate limit, 5xx service); the error body `{code, error}` (a code phrase such as
 *   "Client specified an invalid argument" and the message), as xAI answers it (seen in
 *   vercel/ai packages/xai tests and many client logs).
 * - The deferred result shapes (`{status:"done", video:{url,duration,respect_moderation}, model}`,
 *   `{status:"failed", error:{code,message}}`, `usage.cost_in_usd_ticks`, `progress`) as the API
 *   reference's examples show them (https://docs.x.ai/developers/rest-api-reference/inference/videos),
 *   and as vercel/ai packages/xai/src/xai-video-model.ts and BerriAI/litellm
 *   litellm/llms/xai/videos/transformation.py read them.
 * The API has no negative prompt, seed, last frame, sound switch or watermark switch: those are
 * not sent (the catalogue does not offer them). xAI documents no cancel.
 */
import { aspectRatioOf, resolutionOf, type VideoRequest } from "../../../core/tasks/task.js";
import type { UpstreamErrorClass, UpstreamState, UpstreamStatus } from "../../../core/upstream/ports.js";
import type { ImagesByRole } from "../upstream/images.js";
import { obj, str } from "../upstream/status.js";

/** The create path, relative to the channel's base URL (`https://api.x.ai`). */
export const CREATE_PATH = "v1/videos/generations";
export const resultPath = (id: string): string => `v1/videos/${encodeURIComponent(id)}`;

/** The most reference images one request may carry, and the longest video made with them. */
export const MAX_REFERENCES = 7;
export const MAX_REFERENCE_SECONDS = 10;

/** The create body, as the API reference names its fields. */
export interface CreateBody {
  readonly model: string;
  readonly prompt: string;
  readonly duration: number;
  readonly aspect_ratio: string;
  readonly resolution: string;
  readonly image?: { readonly url: string };
  readonly reference_images?: readonly { readonly url: string }[];
}

/** Images as xAI takes them: a public link, or a `data:image/<fmt>;base64,…` URI for an upload. */
export interface ImageUrls {
  readonly firstFrame: string | null;
  readonly references: readonly string[];
}

/** Why a request cannot be sent as it is (the request's fault, never retried elsewhere). */
export class XaiRequestError extends Error {}

/** The create body for `request`, sent to `model` (the channel's upstream model id, as is). */
export function createBody(request: VideoRequest, model: string, images: ImageUrls): CreateBody {
  if (images.firstFrame !== null && images.references.length > 0)
    throw new XaiRequestError(
      "Grok Imagine takes either a first frame (image-to-video) or reference images in one request, not both",
    );
  if (images.references.length > MAX_REFERENCES)
    throw new XaiRequestError(`Grok Imagine takes at most ${MAX_REFERENCES} reference images`);
  if (images.references.length > 0 && request.duration > MAX_REFERENCE_SECONDS)
    throw new XaiRequestError(
      `Grok Imagine makes at most ${MAX_REFERENCE_SECONDS} seconds from reference images`,
    );
  return {
    model,
    prompt: request.prompt,
    duration: request.duration,
    aspect_ratio: aspectRatioOf(request),
    resolution: resolutionOf(request),
    ...(images.firstFrame !== null ? { image: { url: images.firstFrame } } : {}),
    ...(images.references.length > 0 ? { reference_images: images.references.map((url) => ({ url })) } : {}),
  };
}

/** The images of a request as links or data URIs (`dataUrlOf` reads an uploaded file). */
export async function imageUrls(
  byRole: ImagesByRole,
  dataUrlOf: (file: string) => Promise<string>,
): Promise<ImageUrls & { readonly lastFrame: boolean }> {
  const one = async (img: NonNullable<ImagesByRole["firstFrame"]>) =>
    img.url !== null ? img.url : dataUrlOf(img.file);
  return {
    firstFrame: byRole.firstFrame === null ? null : await one(byRole.firstFrame),
    lastFrame: byRole.lastFrame !== null,
    references: await Promise.all(byRole.references.map(one)),
  };
}

/** xAI's status words for a deferred video request. */
const STATUS: Readonly<Record<string, UpstreamState>> = {
  // "Video is still being generated."
  pending: "running",
  done: "completed",
  failed: "failed",
  // "Request has expired."
  expired: "expired",
};

const MODERATION = /moderat|content[ _-]?polic|safety|nsfw|inappropriate/i;
const CREDENTIAL = /api key|unauthori[sz]ed|authenticat|permission|blocked|forbidden/i;
const QUOTA = /credit|spending limit|billing|balance|quota/i;

/** xAI's error body: `{code, error}` (top level), or `{error: {code, message}}` as the deferred result has it. */
export function xaiError(json: unknown): { code: string | null; message: string } | null {
  const o = obj(json);
  if (typeof o.error === "string" && o.error !== "")
    return {
      code: typeof o.code === "string" || typeof o.code === "number" ? String(o.code) : null,
      message: o.error,
    };
  const e = obj(o.error);
  const code = typeof e.code === "string" || typeof e.code === "number" ? String(e.code) : null;
  const message = str(e.message);
  if (code === null && message === null) return null;
  return { code, message: message ?? `the upstream reports error ${code}` };
}

/**
 * What kind of failure an xAI error is, by its HTTP status and its words. xAI answers a wrong API
 * key with 400 ("Incorrect API key provided"), and moderation refusals with 400 as well ("…
 * rejected by content moderation"): the message tells them from a bad argument.
 */
export function errorClassOf(
  httpStatus: number | null,
  code: string | null,
  message: string | null,
): UpstreamErrorClass | null {
  const words = `${code ?? ""} ${message ?? ""}`;
  if (MODERATION.test(words)) return "content_policy";
  if (httpStatus === null) {
    if (/internal|unavailable|deadline/i.test(words)) return "upstream_internal";
    if (/invalid|argument/i.test(words)) return "invalid_request";
    return null;
  }
  if (httpStatus === 401) return "auth";
  if (httpStatus === 402) return "quota";
  if (httpStatus === 403) return QUOTA.test(words) ? "quota" : "auth";
  if (httpStatus === 429) return QUOTA.test(words) ? "quota" : "overloaded";
  if (httpStatus === 408) return "overloaded";
  if (httpStatus >= 500) return "upstream_internal";
  if (httpStatus === 400 && /api key/i.test(words)) return "auth";
  if (httpStatus === 400 || httpStatus === 422 || httpStatus === 415) return "invalid_request";
  if (httpStatus === 404) return CREDENTIAL.test(words) ? "auth" : "invalid_request";
  return null;
}

/** xAI's deferred result (`GET /v1/videos/{request_id}`) as Reelay's status. */
export function readResult(json: unknown): UpstreamStatus {
  const t = obj(json);
  const video = obj(t.video);
  const raw = typeof t.status === "string" && t.status.trim() !== "" ? t.status : null;
  let state = raw === null ? undefined : STATUS[raw.trim().toLowerCase()];
  const known = state !== undefined;
  let error: UpstreamStatus["error"] = null;
  if (state === "completed" && video.respect_moderation === false) {
    // A finished video that failed xAI's moderation is not delivered.
    state = "failed";
    error = {
      code: "respect_moderation",
      message: "the video was blocked by the provider's content moderation",
      class: "content_policy",
    };
  } else if (state === "failed") {
    const said = xaiError(t);
    const cls = errorClassOf(null, said?.code ?? null, said?.message ?? null);
    error = {
      code: said?.code ?? null,
      message: said?.message ?? "the upstream reports status 'failed'",
      ...(cls ? { class: cls } : {}),
    };
  } else if (state === "expired") {
    error = { code: "expired", message: "the upstream request has expired", class: "timeout" };
  }
  const s: UpstreamState = state ?? "running";
  const progress =
    typeof t.progress === "number" && Number.isFinite(t.progress)
      ? Math.max(0, Math.min(100, Math.round(t.progress)))
      : null;
  const seconds =
    s === "completed" && typeof video.duration === "number" && video.duration > 0
      ? video.duration
      : undefined;
  return {
    state: s,
    raw,
    known,
    progress: s === "completed" ? 100 : progress,
    error,
    ...(seconds !== undefined ? { usage: { seconds } } : {}),
    enhancedPrompt: null,
  };
}

/** The result link of a done request (`video.url`, temporary). */
export const videoUrlOf = (json: unknown): string | null => str(obj(obj(json).video).url);
