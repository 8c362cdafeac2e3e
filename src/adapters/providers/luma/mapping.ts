/**
 * Luma Dream Machine: Reelay's request → the create body, the generation's `state` words → Reelay's
 * states, and Luma's `failure_reason` / `detail` wording → Reelay's error classes. Pure functions
 * (unit-tested in test/unit/provider-luma.test.ts).
 *
 * Sources (read 2026-12-03):
 * - Luma's OpenAPI document, lumalabs/lumaai-api `openapi.yaml` (v1.1.0, server
 *   `https://api.lumalabs.ai/dream-machine/v1`): `POST /generations/video` (GenerationRequest:
 *   `model` required, `prompt`, `aspect_ratio` 1:1|16:9|9:16|4:3|3:4|21:9|9:21, `loop`, `keyframes`
 *   {frame0, frame1} each `{type: "image", url}` or `{type: "generation", id}`, `resolution`
 *   540p|720p|1080p|4k, `duration` 5s|9s, `callback_url`, `concepts`), `GET /generations/{id}`,
 *   `DELETE /generations/{id}`; `State` queued|dreaming|completed|failed; `Error` `{detail}`.
 * - The official SDK lumalabs/lumaai-node `src/resources/generations/generations.ts` (same paths,
 *   Bearer auth, `Generation {id, state, failure_reason, assets: {video, image, progress_video}}`).
 * - https://docs.lumalabs.ai/docs/video-generation and /docs/api (Bearer key; "Image URL: you
 *   should upload and use your own cdn image urls, currently this is the only way to pass an
 *   image"; the older examples post to `/generations`, the current reference to `/generations/video`).
 * - https://docs.lumalabs.ai/docs/errors (create errors such as "Prompt is required", "Loop is not
 *   supported for keyframes"; `failure_reason` after submission: "Contains blacklisted words",
 *   "Failed to read user input frames", "Frame moderation failed", "Advanced prompt moderation
 *   failed", "Prompt processing failed").
 */
import type { UpstreamErrorClass, UpstreamState } from "../../../core/upstream/ports.js";
import { obj, str } from "../upstream/status.js";

/** An image keyframe as Luma takes it: a URL only (Luma takes no bytes and no data URLs). */
export interface LumaImageKeyframe {
  type: "image";
  url: string;
}

/** The create body (`POST /dream-machine/v1/generations/video`) as Luma documents it. */
export interface LumaCreateBody {
  model: string;
  prompt: string;
  aspect_ratio: string;
  resolution: "540p" | "720p" | "1080p" | "4k";
  duration: "5s" | "9s";
  keyframes?: { frame0?: LumaImageKeyframe; frame1?: LumaImageKeyframe };
}

/** A request Luma cannot take: refused before anything is sent (the field at fault named). */
export class LumaUnsupported extends Error {}

export const LUMA_ASPECT_RATIOS = ["1:1", "16:9", "9:16", "4:3", "3:4", "21:9", "9:21"] as const;
export const LUMA_DURATIONS = [5, 9] as const;

/** Reelay's resolution (`540p`, `720p`, `1080p`, `2160p`) → Luma's word (`4k` for 2160p); null: none. */
export function lumaResolution(resolution: string): LumaCreateBody["resolution"] | null {
  switch (resolution) {
    case "540p":
    case "720p":
    case "1080p":
      return resolution;
    case "2160p":
    case "4k":
      return "4k";
    default:
      return null;
  }
}

/** An input image as the adapter has it: a link, or an upload (a local file, which Luma cannot take). */
export type LumaImageInput = { url: string } | { upload: true };

/**
 * The create body. Throws LumaUnsupported for what Luma cannot do: an aspect ratio, resolution or
 * duration outside its lists, reference images (Luma's keyframes are a start and an end frame
 * only), and uploaded images (Luma takes image URLs only; Reelay has no public link to give it).
 * `loop` is not sent (Reelay has no such control; Luma's default is off).
 */
export function createBody(r: {
  model: string;
  prompt: string;
  duration: number;
  resolution: string;
  aspectRatio: string;
  firstFrame: LumaImageInput | null;
  lastFrame: LumaImageInput | null;
  references: number;
}): LumaCreateBody {
  if (!(LUMA_ASPECT_RATIOS as readonly string[]).includes(r.aspectRatio))
    throw new LumaUnsupported(
      `aspect_ratio: Luma makes ${LUMA_ASPECT_RATIOS.join(", ")} (asked ${r.aspectRatio})`,
    );
  const resolution = lumaResolution(r.resolution);
  if (!resolution)
    throw new LumaUnsupported(`resolution: Luma makes 540p, 720p, 1080p or 4k (asked ${r.resolution})`);
  if (r.duration !== 5 && r.duration !== 9)
    throw new LumaUnsupported(`duration: Luma makes videos of 5 or 9 s (asked ${r.duration} s)`);
  if (r.references > 0)
    throw new LumaUnsupported(
      "reference_images: Luma takes a start frame and an end frame (keyframes), no reference images",
    );
  const keyframe = (role: string, i: LumaImageInput): LumaImageKeyframe => {
    if ("url" in i) return { type: "image", url: i.url };
    throw new LumaUnsupported(
      `${role}: Luma takes images by URL only; send the image as a link (https://…) instead of an upload`,
    );
  };
  const body: LumaCreateBody = {
    model: r.model,
    prompt: r.prompt,
    aspect_ratio: r.aspectRatio,
    resolution,
    duration: r.duration === 9 ? "9s" : "5s",
  };
  if (r.firstFrame || r.lastFrame) {
    body.keyframes = {};
    if (r.firstFrame) body.keyframes.frame0 = keyframe("first_frame", r.firstFrame);
    if (r.lastFrame) body.keyframes.frame1 = keyframe("last_frame", r.lastFrame);
  }
  return body;
}

/** Luma's `state` words (OpenAPI `State`). */
const STATES: Record<string, UpstreamState> = {
  queued: "queued",
  dreaming: "running",
  completed: "completed",
  failed: "failed",
};

/** Luma's moderation wording (docs/errors: `failure_reason`, or a create refusal's `detail`). */
const MODERATION = /moderation|blacklisted/i;
/** Failures that are the request's own (bad input), not Luma's. */
const REQUEST_FAULT =
  /failed to read user input frames|prompt is required|prompt is too (short|long)|loop is not supported|no keyframes provided|unknown request type/i;

/** The class of a `failure_reason` (or a create refusal's `detail`), from Luma's documented wording. */
export function classifyReason(reason: string): UpstreamErrorClass {
  if (MODERATION.test(reason)) return "content_policy";
  if (REQUEST_FAULT.test(reason)) return "invalid_request";
  return "upstream_internal";
}

/** Whether a create refusal's words are Luma's moderation. */
export const isModeration = (detail: string): boolean => MODERATION.test(detail);

/** Luma's error envelope `{detail}`: a string, or (a schema error) a list of `{loc, msg}`. */
export function errorDetail(json: unknown): string | null {
  const d = obj(json).detail;
  if (typeof d === "string") return d;
  if (Array.isArray(d)) {
    const parts = d.map((e) => {
      const o = obj(e);
      const loc = Array.isArray(o.loc) ? o.loc.filter((x) => x !== "body").join(".") : "";
      const msg = str(o.msg) ?? JSON.stringify(e);
      return loc ? `${loc}: ${msg}` : msg;
    });
    return parts.length > 0 ? parts.join("; ") : null;
  }
  return null;
}

export interface LumaGeneration {
  readonly state: UpstreamState;
  readonly raw: string | null;
  readonly known: boolean;
  readonly videoUrl: string | null;
  readonly error: { code: string | null; message: string; class: UpstreamErrorClass } | null;
}

/**
 * A generation (`GET /generations/{id}`). An unknown or missing `state` is still running
 * (`known: false`). A failure carries Luma's `failure_reason`, classed by its wording.
 */
export function readGeneration(json: unknown): LumaGeneration {
  const g = obj(json);
  const raw = str(g.state);
  const state = raw ? STATES[raw] : undefined;
  const videoUrl = str(obj(g.assets).video);
  if (state === "failed") {
    const reason = str(g.failure_reason);
    const message = reason ?? "Luma reports the generation failed without a reason";
    const cls = reason ? classifyReason(reason) : "upstream_internal";
    return {
      state,
      raw,
      known: true,
      videoUrl,
      error: { code: null, message, class: cls },
    };
  }
  return state
    ? { state, raw, known: true, videoUrl, error: null }
    : { state: "running", raw, known: false, videoUrl, error: null };
}
