/**
 * OpenRouter's video generation API: Reelay's request → the create body, the job's status words →
 * Reelay's states, and OpenRouter's error envelope `{error: {code, message, metadata}}` → Reelay's
 * error classes. Pure functions (unit-tested in test/unit/provider-openrouter.test.ts).
 *
 * Sources (read 2026-12-03):
 * - OpenRouter API reference, "Submit a video generation request" (`POST /api/v1/videos`, OpenAPI
 *   `VideoGenerationRequest`, `VideoGenerationResponse`, `FrameImage`, `InputReference`,
 *   `ContentPartImage`, error schemas 400/401/402/404/429/500):
 *   https://openrouter.ai/docs/api/api-reference/video-generation/create-videos(.md);
 *   "Poll video generation status" (`GET /api/v1/videos/{jobId}`, status enum pending, in_progress,
 *   completed, failed, cancelled, expired): …/video-generation/get-videos.
 * - OpenRouter guide "Video Generation" (https://openrouter.ai/docs/guides/overview/multimodal/video-generation):
 *   frame_images vs input_references (frame_images wins when both are sent), the content endpoint
 *   `GET /api/v1/videos/{jobId}/content?index=0`, `unsigned_urls`; the API reference overview
 *   (https://openrouter.ai/docs/api/api-reference/videos): terminal statuses completed, failed,
 *   cancelled, expired; the signed storage URL `urls[0]` or the authenticated proxy `unsigned_urls[0]`.
 * - OpenRouter "Errors and Debugging" (https://openrouter.ai/docs/api/reference/errors-and-debugging):
 *   400 bad request, 401 invalid credentials, 402 insufficient credits, 403 input flagged by
 *   moderation (`metadata.reasons`, `flagged_input`, `provider_name`, `model_slug`), 408 timeout,
 *   429 rate limited, 502 model down, 503 no provider available; the HTTP status equals `error.code`.
 */
import type { UpstreamErrorClass, UpstreamState } from "../../../core/upstream/ports.js";
import { obj, str } from "../upstream/status.js";

/** An image as OpenRouter's `ContentPartImage` takes it: `{type: "image_url", image_url: {url}}`. */
export interface OpenRouterImagePart {
  type: "image_url";
  image_url: { url: string };
}

export interface OpenRouterFrameImage extends OpenRouterImagePart {
  frame_type: "first_frame" | "last_frame";
}

/** The create body (`POST /api/v1/videos`) as OpenRouter documents it (the fields Reelay sends). */
export interface OpenRouterCreateBody {
  model: string;
  prompt: string;
  duration: number;
  resolution: string;
  aspect_ratio: string;
  seed?: number;
  generate_audio?: boolean;
  frame_images?: OpenRouterFrameImage[];
  input_references?: OpenRouterImagePart[];
}

/** A request OpenRouter cannot take: refused before anything is sent (the field at fault named). */
export class OpenRouterUnsupported extends Error {}

/** The `aspect_ratio` values of OpenRouter's `VideoGenerationRequest` enum. */
export const ASPECT_RATIOS = ["16:9", "9:16", "1:1", "4:3", "3:4", "3:2", "2:3", "21:9", "9:21"];
/** The `resolution` values of OpenRouter's `VideoGenerationRequest` enum. */
export const RESOLUTIONS = ["480p", "720p", "768p", "1080p", "1K", "2K", "4K"];

/**
 * The create body. Images are links or data URLs (an upload as `data:image/…;base64,…`), each an
 * `image_url` part: first and last frames in `frame_images` with their `frame_type`, references in
 * `input_references` (OpenRouter documents that frame_images take precedence when both are sent,
 * the references then ignored: such a request is refused rather than silently losing images).
 * OpenRouter has no negative-prompt field (only a provider passthrough) and no watermark switch.
 */
export function createBody(r: {
  model: string;
  prompt: string;
  duration: number;
  resolution: string;
  aspectRatio: string;
  seed?: number;
  audio?: boolean;
  negativePrompt?: string;
  firstFrame: string | null;
  lastFrame: string | null;
  references: readonly string[];
}): OpenRouterCreateBody {
  if (r.negativePrompt !== undefined)
    throw new OpenRouterUnsupported("negative_prompt: OpenRouter's video API has no negative prompt field");
  if (!ASPECT_RATIOS.includes(r.aspectRatio))
    throw new OpenRouterUnsupported(
      `aspect_ratio: OpenRouter takes ${ASPECT_RATIOS.join(", ")} (asked ${r.aspectRatio})`,
    );
  if (!RESOLUTIONS.includes(r.resolution))
    throw new OpenRouterUnsupported(
      `resolution: OpenRouter takes ${RESOLUTIONS.join(", ")} (asked ${r.resolution})`,
    );
  if ((r.firstFrame || r.lastFrame) && r.references.length > 0)
    throw new OpenRouterUnsupported(
      "reference_images: OpenRouter ignores input_references when frame images are sent; send frames or references, not both",
    );
  const body: OpenRouterCreateBody = {
    model: r.model,
    prompt: r.prompt,
    duration: r.duration,
    resolution: r.resolution,
    aspect_ratio: r.aspectRatio,
  };
  if (r.seed !== undefined) body.seed = r.seed;
  if (r.audio !== undefined) body.generate_audio = r.audio;
  const part = (url: string): OpenRouterImagePart => ({ type: "image_url", image_url: { url } });
  const frames: OpenRouterFrameImage[] = [];
  if (r.firstFrame) frames.push({ ...part(r.firstFrame), frame_type: "first_frame" });
  if (r.lastFrame) frames.push({ ...part(r.lastFrame), frame_type: "last_frame" });
  if (frames.length > 0) body.frame_images = frames;
  if (r.references.length > 0) body.input_references = r.references.map(part);
  return body;
}

/** OpenRouter's error envelope `{error: {code, message, metadata?}}`, when the body is one. */
export function errorEnvelope(
  json: unknown,
): { code: number | null; message: string; metadata: Record<string, unknown> } | null {
  const e = obj(json).error;
  if (!e || typeof e !== "object" || Array.isArray(e)) return null;
  const o = e as Record<string, unknown>;
  const code = typeof o.code === "number" ? o.code : typeof o.code === "string" ? Number(o.code) : null;
  return {
    code: code !== null && Number.isFinite(code) ? code : null,
    message: str(o.message) ?? "no reason given",
    metadata: obj(o.metadata),
  };
}

/** What an OpenRouter refusal means for Reelay. */
export interface OpenRouterRefusal {
  readonly class: UpstreamErrorClass;
  /** The channel's fault (credential, credits, rate, OpenRouter or its provider down): fail over, cool down. */
  readonly channelFault: boolean;
  readonly code: string;
  readonly message: string;
}

/**
 * The class of an OpenRouter error, by its code (the HTTP status, which OpenRouter keeps equal to
 * `error.code`): 403 is moderation (its `metadata.reasons` added to the message), 401 the key,
 * 402 credits, 408/429/5xx the channel's passing trouble, any other 4xx the request's.
 */
export function classifyError(status: number, json: unknown): OpenRouterRefusal {
  const env = errorEnvelope(json);
  const code = env?.code ?? status;
  let message = env?.message ?? `HTTP ${status}`;
  const reasons = env?.metadata.reasons;
  if (Array.isArray(reasons) && reasons.length > 0)
    message += ` (reasons: ${reasons.filter((r) => typeof r === "string").join(", ")})`;
  const c = (cls: UpstreamErrorClass, channelFault: boolean): OpenRouterRefusal => ({
    class: cls,
    channelFault,
    code: String(code),
    message,
  });
  if (code === 403) return c("content_policy", false);
  if (code === 401) return c("auth", true);
  if (code === 402) return c("quota", true);
  if (code === 408) return c("timeout", true);
  if (code === 429) return c("overloaded", true);
  if (code === 503 || code === 502) return c("overloaded", true);
  if (code >= 500) return c("upstream_internal", true);
  return c("invalid_request", false);
}

/**
 * Whether a failed job's `error` text is a moderation refusal. The poll answer carries the
 * provider's reason as a bare string (no code), so its words decide.
 */
export function isModeration(message: string): boolean {
  return /moderat|content[ _-]?polic|safety|flagged|sensitive|prohibited|violat|blocked|nsfw|unsafe|inappropriate/i.test(
    message,
  );
}

/** The job's status words (`VideoGenerationResponse.status`). */
const STATES: Record<string, UpstreamState> = {
  pending: "queued",
  in_progress: "running",
  completed: "completed",
  failed: "failed",
  cancelled: "failed",
  expired: "expired",
};

export interface OpenRouterJob {
  readonly state: UpstreamState;
  readonly raw: string | null;
  readonly known: boolean;
  /** Download links: the authenticated proxy links (`unsigned_urls`) first, then signed storage links (`urls`). */
  readonly links: readonly string[];
  readonly error: { code: string | null; message: string; class: UpstreamErrorClass } | null;
}

const strings = (v: unknown): string[] =>
  Array.isArray(v) ? v.filter((x): x is string => typeof x === "string" && x !== "") : [];

/**
 * A poll answer (`GET /api/v1/videos/{jobId}`). An unknown or missing status word is still running
 * (`known: false`); `failed` carries `error` (moderation read from its words), `cancelled` is a
 * failure, `expired` an expiry.
 */
export function readJob(json: unknown): OpenRouterJob {
  const v = obj(json);
  const raw = str(v.status);
  const state = raw !== null ? STATES[raw] : undefined;
  const links = [...strings(v.unsigned_urls), ...strings(v.urls)];
  if (state === undefined) return { state: "running", raw, known: false, links, error: null };
  if (state === "failed") {
    const said = str(v.error) ?? str(obj(v.error).message);
    const message = said ?? `OpenRouter reports the job as '${raw}'`;
    const cls: UpstreamErrorClass =
      raw === "cancelled"
        ? "upstream_internal"
        : isModeration(message)
          ? "content_policy"
          : "upstream_internal";
    return { state, raw, known: true, links, error: { code: raw, message, class: cls } };
  }
  if (state === "expired")
    return {
      state,
      raw,
      known: true,
      links,
      error: {
        code: raw,
        message: str(v.error) ?? "OpenRouter reports the job as expired",
        class: "result_unavailable",
      },
    };
  return { state, raw, known: true, links, error: null };
}
