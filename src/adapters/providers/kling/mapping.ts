/**
 * Kling's API as tables: Reelay's request → the create body, Kling's task words → Reelay's states,
 * Kling's service codes → Reelay's error classes. Pure functions (the adapter in provider.ts does
 * the I/O).
 *
 * Sources: Kling AI API reference (app.klingai.com/global/dev/document-api; "General Information"
 * error-code table, "Video Generation - Text to Video" and "- Image to Video": create, query single
 * task by task_id or external_task_id), copied verbatim in public repositories; QuantumNous/new-api
 * relay/channel/task/kling/adaptor.go (status words, model list, JWT claims).
 */
import { aspectRatioOf, resolutionOf, type VideoRequest } from "../../../core/tasks/task.js";
import type { UpstreamErrorClass, UpstreamState, UpstreamStatus } from "../../../core/upstream/ports.js";
import { obj, str } from "../upstream/status.js";

/** Kling's two create endpoints (`POST /v1/videos/<endpoint>`), each with its own query path. */
export type KlingEndpoint = "text2video" | "image2video";

/**
 * Reelay's upstream id for a Kling task: the endpoint it was created on and Kling's task id
 * (`image2video:8668…`), since the task is queried on the endpoint that made it.
 */
export const encodeUpstreamId = (endpoint: KlingEndpoint, taskId: string): string => `${endpoint}:${taskId}`;

export function decodeUpstreamId(id: string): { endpoint: KlingEndpoint; taskId: string } {
  const at = id.indexOf(":");
  const head = at > 0 ? id.slice(0, at) : "";
  if (head === "text2video" || head === "image2video") return { endpoint: head, taskId: id.slice(at + 1) };
  return { endpoint: "text2video", taskId: id };
}

/** The query path of a task (by Kling's task id or by our `external_task_id`: both are documented). */
export const taskPath = (endpoint: KlingEndpoint, id: string): string =>
  `v1/videos/${endpoint}/${encodeURIComponent(id)}`;

/** Kling's `mode`: `std` makes 720p, `pro` 1080p (Kling's capability map, "Resolution" row). */
export const modeFor = (r: VideoRequest): "std" | "pro" =>
  Number.parseInt(resolutionOf(r), 10) >= 1080 ? "pro" : "std";

/**
 * The create body. Images are a link or raw base64 (Kling: "do not add any prefixes … such as
 * data:image/png;base64"); a first or last frame makes it an image-to-video task, which takes no
 * `aspect_ratio` (the image's is used). Kling's API has no seed, and `sound` only from v2.6: neither
 * is sent. `cfg_scale` is left to Kling's default (v2.x models do not take it). Results come without
 * a watermark by default (`watermark_info` only asks for an extra watermarked copy): nothing to send.
 */
export function buildCreateBody(
  r: VideoRequest,
  o: { model: string; taskId: string; firstFrame: string | null; lastFrame: string | null },
): { endpoint: KlingEndpoint; body: Record<string, unknown> } {
  const i2v = o.firstFrame !== null || o.lastFrame !== null;
  const body: Record<string, unknown> = {
    model_name: o.model,
    prompt: r.prompt,
    mode: modeFor(r),
    duration: String(r.duration),
    external_task_id: o.taskId,
  };
  if (r.negativePrompt) body.negative_prompt = r.negativePrompt;
  if (i2v) {
    if (o.firstFrame !== null) body.image = o.firstFrame;
    if (o.lastFrame !== null) body.image_tail = o.lastFrame;
  } else {
    body.aspect_ratio = aspectRatioOf(r);
  }
  return { endpoint: i2v ? "image2video" : "text2video", body };
}

const STATES: Record<string, UpstreamState> = {
  submitted: "queued",
  processing: "running",
  succeed: "completed",
  failed: "failed",
};

/**
 * Kling reports a failed task with words only (`task_status_msg`, "such as triggering the content
 * risk control of the platform"): no code. These are the words that mean its moderation refused.
 */
const MODERATION = /risk control|content security|content policy|sensitive|inappropriate|violat|moderat/i;

export type KlingTask = UpstreamStatus & { readonly taskId: string | null; readonly videoUrl: string | null };

/** Reads a create or query answer's `data`. */
export function readKlingTask(json: unknown): KlingTask {
  const data = obj(obj(json).data);
  const raw = str(data.task_status);
  const mapped = raw ? STATES[raw.toLowerCase()] : undefined;
  const video = obj(
    Array.isArray(obj(data.task_result).videos) ? (obj(data.task_result).videos as unknown[])[0] : null,
  );
  const videoUrl = str(video.url);
  const seconds = Number(str(video.duration) ?? video.duration);
  const failed = mapped === "failed";
  const msg = str(data.task_status_msg);
  return {
    // A success without a link yet: keep polling until it is there.
    state: mapped === "completed" && !videoUrl ? "running" : (mapped ?? "running"),
    raw,
    known: mapped !== undefined,
    progress: mapped === "completed" && videoUrl ? 100 : null,
    error: failed
      ? {
          code: null,
          message: msg ?? "Kling reports the task as failed",
          class: msg && MODERATION.test(msg) ? "content_policy" : "upstream_internal",
        }
      : null,
    ...(mapped === "completed" && Number.isFinite(seconds) && seconds > 0 ? { usage: { seconds } } : {}),
    enhancedPrompt: null,
    taskId: str(data.task_id),
    videoUrl,
  };
}

/**
 * Kling's service codes (its "Error Code" table: HTTP status, code): whose fault each is.
 * 1000–1004 (401) and 1103 (403, no access to the model/API), 1304 (429, IP allow-list): the
 * channel's credential or account; 1100–1102 (429): balance or resource pack; 1302/1303 (429):
 * rate or concurrency; 5000/5001 (500/503): Kling's; 5002 (504): its timeout; 1200–1203 (400/404)
 * and 1300 (400, a platform rule): the request's; 1301 (400): content security → content_policy.
 */
export function classOfCode(code: number): UpstreamErrorClass | null {
  if (code >= 1000 && code <= 1004) return "auth";
  if (code >= 1100 && code <= 1102) return "quota";
  if (code === 1103 || code === 1304) return "auth";
  if (code >= 1200 && code <= 1203) return "invalid_request";
  if (code === 1300) return "invalid_request";
  if (code === 1301) return "content_policy";
  if (code === 1302 || code === 1303) return "overloaded";
  if (code === 5000 || code === 5001) return "upstream_internal";
  if (code === 5002) return "timeout";
  return null;
}

/** Kling's envelope `{code, message, request_id}`: its code (null when the body has none) and message. */
export function klingError(json: unknown): {
  code: number | null;
  message: string;
  requestId: string | null;
} {
  const o = obj(json);
  const code =
    typeof o.code === "number"
      ? o.code
      : typeof o.code === "string" && /^\d+$/.test(o.code)
        ? Number(o.code)
        : null;
  return { code, message: str(o.message) ?? "no reason given", requestId: str(o.request_id) };
}
