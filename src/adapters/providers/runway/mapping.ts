/**
 * Runway's API as tables: Reelay's request → the create body (`/v1/text_to_video` or
 * `/v1/image_to_video`), the task's status words → Reelay's states, its `failureCode` families →
 * Reelay's error classes. Pure functions (unit-tested in test/unit/provider-runway.test.ts).
 *
 * Sources (read 2026-12-03):
 * - Runway's official Node SDK, generated from its OpenAPI document: runwayml/sdk-node
 *   `src/resources/text-to-video.ts`, `image-to-video.ts` (per-model bodies: `model`, `promptText`,
 *   `promptImage` as a URL/data URI or `[{uri, position: "first"|"last"}]`, `ratio` as "W:H" pixels,
 *   `duration`, `seed`, `audio`, `negativePrompt`, `contentModeration`), `tasks.ts` (GET/DELETE
 *   `/v1/tasks/{id}`; PENDING, THROTTLED, RUNNING + `progress`, SUCCEEDED + `output[]` "expire
 *   within 24-48 hours", FAILED + `failure`/`failureCode`, CANCELLED "a cancelled or deleted task"),
 *   `src/client.ts` (`X-Runway-Version`, default `2024-11-06`).
 * - https://docs.dev.runwayml.com/errors/task-failures/ (SAFETY.INPUT.* / SAFETY.OUTPUT.*: content
 *   moderation, "You should not retry these generations"; INTERNAL.BAD_OUTPUT.*: rejected for
 *   quality or system reasons, may be retried).
 * - https://docs.dev.runwayml.com/assets/inputs/ (URLs must be HTTPS on a domain name; data URIs
 *   under 5 MB with their content type).
 */
import { aspectRatioOf, resolutionOf, type VideoRequest } from "../../../core/tasks/task.js";
import type { UpstreamErrorClass, UpstreamState, UpstreamStatus } from "../../../core/upstream/ports.js";
import { obj, str } from "../upstream/status.js";

/** The API version sent as `X-Runway-Version` unless the channel sets `runwayVersion`. */
export const RUNWAY_VERSION = "2024-11-06";

/** Runway's two create endpoints (`POST /v1/<endpoint>`); both tasks are read at `/v1/tasks/{id}`. */
export type RunwayEndpoint = "text_to_video" | "image_to_video";

/** What Runway documents for one of its video models (by its model id). */
interface RunwayModel {
  /** Ratios (`W:H` in pixels) per endpoint; an endpoint it lacks is absent. */
  readonly ratios: Partial<Record<RunwayEndpoint, readonly string[]>>;
  readonly lastFrame: boolean;
  readonly seed: boolean;
  readonly audio: boolean;
  readonly negativePrompt: boolean;
}

const GEN4_I2V_RATIOS = ["1280:720", "720:1280", "1104:832", "832:1104", "960:960", "1584:672"];
const VEO_RATIOS = ["1280:720", "720:1280", "1920:1080", "1080:1920"];

/** The models Reelay's catalogue offers, as the SDK's per-model request types describe them. */
export const RUNWAY_MODELS: Readonly<Record<string, RunwayModel>> = {
  "gen4.5": {
    ratios: { text_to_video: ["1280:720", "720:1280"], image_to_video: GEN4_I2V_RATIOS },
    lastFrame: false,
    seed: true,
    audio: false,
    negativePrompt: false,
  },
  // Image-to-video only: the text_to_video endpoint does not list it.
  gen4_turbo: {
    ratios: { image_to_video: GEN4_I2V_RATIOS },
    lastFrame: false,
    seed: true,
    audio: false,
    negativePrompt: false,
  },
  "veo3.1": {
    ratios: { text_to_video: VEO_RATIOS, image_to_video: VEO_RATIOS },
    lastFrame: true,
    seed: false,
    audio: true,
    negativePrompt: true,
  },
};

/**
 * Runway's `ratio` (output pixels, `W:H`) for an aspect ratio and resolution. Runway names sizes,
 * not ratios: 16:9 at 720p is `1280:720`, at 1080p `1920:1080`; the gen4 image-to-video sizes for
 * 4:3, 3:4, 1:1 and 21:9 are 720p-class only.
 */
const RATIO: Record<string, Record<string, string>> = {
  "720p": {
    "16:9": "1280:720",
    "9:16": "720:1280",
    "4:3": "1104:832",
    "3:4": "832:1104",
    "1:1": "960:960",
    "21:9": "1584:672",
  },
  "1080p": { "16:9": "1920:1080", "9:16": "1080:1920" },
};

/** The `ratio` a request asks for: an exact Runway size (`/v1/videos` `size`), else aspect × resolution. */
export function runwayRatio(r: VideoRequest): string {
  if (!r.aspectRatio && !r.resolution && /^\d+x\d+$/.test(r.size)) {
    const exact = `${r.width}:${r.height}`;
    if (Object.values(RATIO).some((t) => Object.values(t).includes(exact))) return exact;
  }
  const aspect = aspectRatioOf(r);
  const res = Number.parseInt(resolutionOf(r), 10) >= 1080 ? "1080p" : "720p";
  return RATIO[res]?.[aspect] ?? RATIO["720p"]?.[aspect] ?? (aspect === "9:16" ? "720:1280" : "1280:720");
}

/** A request Runway cannot make: refused before anything is sent (the field at fault named). */
export class RunwayUnsupported extends Error {}

/** An image as Runway takes it: a link (HTTPS) or a data URI, both as a string. */
export interface RunwayImages {
  readonly firstFrame: string | null;
  readonly lastFrame: string | null;
  readonly references: number;
}

/**
 * The create: which endpoint and its body. A first frame makes it image-to-video (`promptImage`:
 * the image alone, or `[{uri, position: "first"}, {uri, position: "last"}]` with a last frame).
 * For the models in RUNWAY_MODELS, what a model does not take is refused (RunwayUnsupported) or
 * not sent (seed, audio, negative prompt where the model has no such field); another model id (a
 * channel's rename) gets every field the request carries, for Runway to judge. Runway's API has no
 * watermark switch (API outputs carry none), so `watermark` is not sent.
 */
export function createBody(
  r: VideoRequest,
  o: { model: string; images: RunwayImages },
): { endpoint: RunwayEndpoint; body: Record<string, unknown> } {
  const m = RUNWAY_MODELS[o.model];
  const { firstFrame, lastFrame } = o.images;
  if (o.images.references > 0)
    throw new RunwayUnsupported("reference_images: Runway's video models take no reference images");
  if (lastFrame !== null && firstFrame === null)
    throw new RunwayUnsupported("last_frame: Runway takes a last frame only together with a first frame");
  if (lastFrame !== null && m && !m.lastFrame)
    throw new RunwayUnsupported(`last_frame: Runway's ${o.model} takes a first frame only`);
  const endpoint: RunwayEndpoint = firstFrame !== null ? "image_to_video" : "text_to_video";
  const ratios = m?.ratios[endpoint];
  if (m && !ratios)
    throw new RunwayUnsupported(
      `first_frame: Runway's ${o.model} makes image-to-video only; give a first frame (images)`,
    );
  const ratio = runwayRatio(r);
  if (ratios && !ratios.includes(ratio))
    throw new RunwayUnsupported(
      `aspect_ratio: Runway's ${o.model} makes ${endpoint === "text_to_video" ? "text-to-video" : "image-to-video"} at ${ratios.join(", ")} (asked ${ratio})`,
    );
  const body: Record<string, unknown> = { model: o.model };
  if (r.prompt) body.promptText = r.prompt;
  if (firstFrame !== null)
    body.promptImage =
      lastFrame === null
        ? firstFrame
        : [
            { uri: firstFrame, position: "first" },
            { uri: lastFrame, position: "last" },
          ];
  body.ratio = ratio;
  body.duration = r.duration;
  if (r.seed !== undefined && (!m || m.seed)) body.seed = r.seed;
  if (r.negativePrompt && (!m || m.negativePrompt)) body.negativePrompt = r.negativePrompt;
  // Sound is billed apart ("Audio inclusion affects pricing"): said explicitly, as the caller asked
  // (none unless asked), so the video is what Reelay charges for.
  if (m?.audio) body.audio = r.audio === true;
  else if (!m && r.audio !== undefined) body.audio = r.audio;
  return { endpoint, body };
}

/** Runway's task status words. CANCELLED is "a cancelled or deleted task": it ends without a video. */
const STATES: Record<string, UpstreamState> = {
  PENDING: "queued",
  THROTTLED: "queued",
  RUNNING: "running",
  SUCCEEDED: "completed",
  FAILED: "failed",
  CANCELLED: "failed",
};

/**
 * The class of a `failureCode`. SAFETY.* (input or output moderation, also when reported from
 * input preprocessing) is content policy: never retried. ASSET.INVALID and other
 * INPUT_PREPROCESSING.* codes are the request's inputs. INTERNAL.* (INTERNAL.BAD_OUTPUT.* included,
 * which Runway says may succeed when retried) and any code Runway's page does not list: Runway's own.
 */
export function classifyFailure(code: string | null): UpstreamErrorClass {
  if (!code) return "upstream_internal";
  const c = code.toUpperCase();
  if (c.startsWith("SAFETY.") || c.startsWith("INPUT_PREPROCESSING.SAFETY")) return "content_policy";
  if (c.startsWith("ASSET.")) return "invalid_request";
  if (c.startsWith("INPUT_PREPROCESSING.") && !c.includes("INTERNAL")) return "invalid_request";
  return "upstream_internal";
}

export type RunwayTask = UpstreamStatus & { readonly id: string | null; readonly videoUrl: string | null };

/** Reads a task (`GET /v1/tasks/{id}`). An unknown or missing status word is still running. */
export function readTask(json: unknown): RunwayTask {
  const t = obj(json);
  const raw = str(t.status);
  const mapped = raw ? STATES[raw] : undefined;
  const output = Array.isArray(t.output) ? t.output : [];
  const videoUrl = typeof output[0] === "string" && output[0] ? output[0] : null;
  const id = str(t.id);
  const base = { raw, enhancedPrompt: null, id, videoUrl };
  if (mapped === "failed") {
    const code = str(t.failureCode);
    const message =
      raw === "CANCELLED"
        ? "Runway reports the task cancelled or deleted"
        : (str(t.failure) ?? "Runway reports the task failed");
    return {
      ...base,
      state: "failed",
      known: true,
      progress: null,
      error: { code, message, class: raw === "CANCELLED" ? "upstream_internal" : classifyFailure(code) },
    };
  }
  if (mapped === "completed")
    // A success without a link yet: keep polling until it is there.
    return videoUrl
      ? { ...base, state: "completed", known: true, progress: 100, error: null }
      : { ...base, state: "running", known: true, progress: null, error: null };
  const p = typeof t.progress === "number" && Number.isFinite(t.progress) ? t.progress : null;
  return {
    ...base,
    state: mapped ?? "running",
    known: mapped !== undefined,
    // Runway's `progress` is 0–1.
    progress: p === null ? null : Math.max(0, Math.min(100, Math.round(p * 100))),
    error: null,
  };
}

/** The task path for an id. */
export const taskPath = (id: string): string => `v1/tasks/${encodeURIComponent(id)}`;
