/**
 * Alibaba Wan on DashScope (Model Studio): Reelay's request → the video-synthesis body, and the
 * task query → UpstreamStatus. Pure functions, tested in test/unit/provider-dashscope.test.ts.
 *
 * Sources (the provider's own documents win where gateways differ):
 * - Text-to-video API reference (wan2.5-t2v-preview: `parameters.size` as `W*H`, duration 5|10,
 *   `audio_url`, `negative_prompt`, `seed` 0..2147483647, `watermark`, `prompt_extend`; wan2.5 is
 *   listed as "video with audio", sound always made):
 *   https://www.alibabacloud.com/help/en/model-studio/text-to-video-api-reference
 *   (zh: https://help.aliyun.com/zh/model-studio/developer-reference/text-to-video-api-reference)
 * - Image-to-video API reference (wan2.5-i2v-preview: `input.img_url` as a URL or
 *   `data:{MIME};base64,{data}`, `parameters.resolution` 480P|720P|1080P, the aspect ratio follows
 *   the image): https://www.alibabacloud.com/help/en/model-studio/image-to-video-api-reference
 * - Asynchronous tasks (query `GET /api/v1/tasks/{task_id}`, status words PENDING, RUNNING,
 *   SUCCEEDED, FAILED, CANCELED, UNKNOWN; cancel of queued tasks; data kept 24 h):
 *   https://www.alibabacloud.com/help/en/model-studio/manage-asynchronous-tasks
 * - Status/error codes (InvalidParameter, DataInspectionFailed, Arrearage 400; InvalidApiKey 401;
 *   AccessDenied 403; Throttling* 429; InternalError 500):
 *   https://www.alibabacloud.com/help/en/model-studio/developer-reference/error-code
 * - Image-to-video user guide model table (wan2.5-i2v-preview "video with audio"; only
 *   wan2.6-i2v-flash also "video without audio"):
 *   https://docs.qwencloud.com/developer-guides/video-generation/image-to-video
 * - Gateway cross-check: QuantumNous/new-api relay/channel/task/ali/adaptor.go (same fields; it
 *   also has a `parameters.audio` switch it labels wan2.5, which the provider's table does not).
 */
import { aspectRatioOf, resolutionOf, type VideoRequest } from "../../../core/tasks/task.js";
import type { UpstreamErrorClass, UpstreamStatus } from "../../../core/upstream/ports.js";
import { normaliseStatus, obj, str } from "../upstream/status.js";

/** The `size` values wan2.5-t2v-preview takes, by resolution tier and aspect ratio (the docs' list). */
export const T2V_SIZES: Readonly<Record<string, Readonly<Record<string, string>>>> = {
  "480p": { "16:9": "832*480", "9:16": "480*832", "1:1": "624*624" },
  "720p": { "16:9": "1280*720", "9:16": "720*1280", "1:1": "960*960", "4:3": "1088*832", "3:4": "832*1088" },
  "1080p": {
    "16:9": "1920*1080",
    "9:16": "1080*1920",
    "1:1": "1440*1440",
    "4:3": "1632*1248",
    "3:4": "1248*1632",
  },
};

/** Every `W*H` the text-to-video models take. */
const ALL_T2V_SIZES = new Set(Object.values(T2V_SIZES).flatMap((byRatio) => Object.values(byRatio)));

/** A request this API cannot express (a size it does not make): refused before anything is sent. */
export class DashScopeMappingError extends Error {
  constructor(
    readonly param: string,
    message: string,
  ) {
    super(message);
  }
}

/** The create body, as the API reference spells it. */
export interface DashScopeBody {
  readonly model: string;
  readonly input: {
    readonly prompt: string;
    readonly negative_prompt?: string;
    /** Image-to-video: the first frame, a public URL or a `data:` URL with base64. */
    readonly img_url?: string;
  };
  readonly parameters: {
    /** Text-to-video: `W*H`. */
    readonly size?: string;
    /** Image-to-video: `480P`, `720P` or `1080P` (the aspect ratio is the image's). */
    readonly resolution?: string;
    readonly duration: number;
    readonly watermark: boolean;
    readonly seed?: number;
  };
}

/** The text-to-video `size` for a request: its own `WxH` when the API has it, else ratio × tier. */
export function t2vSize(r: VideoRequest): string {
  const asked = /^(\d+)x(\d+)$/.exec(r.size);
  if (asked && !r.aspectRatio && !r.resolution) {
    const star = `${asked[1]}*${asked[2]}`;
    if (ALL_T2V_SIZES.has(star)) return star;
  }
  const tier = resolutionOf(r).toLowerCase();
  const ratio = aspectRatioOf(r);
  const byRatio = T2V_SIZES[tier];
  if (!byRatio) throw new DashScopeMappingError("resolution", `DashScope makes no ${tier} video`);
  const size = byRatio[ratio];
  if (!size)
    throw new DashScopeMappingError(
      "aspect_ratio",
      `DashScope makes ${tier} only in ${Object.keys(byRatio).join(", ")}, not ${ratio}`,
    );
  return size;
}

/** The image-to-video `resolution` (`1080P`) for a request. */
export function i2vResolution(r: VideoRequest): string {
  const tier = resolutionOf(r).toLowerCase();
  if (!T2V_SIZES[tier]) throw new DashScopeMappingError("resolution", `DashScope makes no ${tier} video`);
  return tier.toUpperCase();
}

/**
 * The create body. `firstFrame` (a link or a data URL) makes it image-to-video: `img_url` and
 * `resolution` instead of `size`. The model id is sent as the catalogue or channel names it.
 */
export function buildBody(r: VideoRequest, model: string, firstFrame: string | null): DashScopeBody {
  const input: { prompt: string; negative_prompt?: string; img_url?: string } = { prompt: r.prompt };
  if (r.negativePrompt) input.negative_prompt = r.negativePrompt;
  if (firstFrame) input.img_url = firstFrame;
  const parameters: {
    size?: string;
    resolution?: string;
    duration: number;
    watermark: boolean;
    seed?: number;
  } = firstFrame
    ? { resolution: i2vResolution(r), duration: r.duration, watermark: r.watermark }
    : { size: t2vSize(r), duration: r.duration, watermark: r.watermark };
  if (r.seed !== undefined) parameters.seed = r.seed;
  // No `audio`: the Model Studio model tables list wan2.5 as "video with audio" only (a silent
  // choice, `parameters.audio: false`, is documented for wan2.6-i2v-flash), so its catalogue entry
  // says `audio: "always"` and a request cannot ask for silence. new-api sends `audio` to wan2.5
  // too; the provider's own table wins.
  return { model, input, parameters };
}

/** Moderation codes: the request's content, never retried elsewhere. */
const CONTENT_POLICY_CODES = new Set([
  "DataInspectionFailed",
  "DataInspectionFailed.Input",
  "DataInspectionFailed.Output",
  "IPInfringementSuspect",
  "InappropriateContent",
]);

/** What kind of failure a DashScope error code is (by the codes its error table lists). */
export function classOf(
  code: string | null,
  httpStatus: number | null = null,
): UpstreamErrorClass | undefined {
  if (code) {
    if (CONTENT_POLICY_CODES.has(code) || code.startsWith("DataInspection")) return "content_policy";
    if (code === "InvalidApiKey" || code.startsWith("AccessDenied") || code === "Model.AccessDenied")
      return "auth";
    if (
      code === "Arrearage" ||
      code === "Throttling.AllocationQuota" ||
      code.startsWith("Throttling.FreeTier")
    )
      return "quota";
    if (code.startsWith("Throttling") || code === "ServiceUnavailable" || code === "RequestTimeOut")
      return "overloaded";
    if (code.startsWith("InternalError") || code === "SystemError") return "upstream_internal";
    if (code.startsWith("InvalidParameter") || code.startsWith("BadRequest") || code === "InvalidURL")
      return "invalid_request";
  }
  if (httpStatus === 401 || httpStatus === 403) return "auth";
  if (httpStatus === 429) return "overloaded";
  if (httpStatus !== null && httpStatus >= 500) return "upstream_internal";
  if (httpStatus === 400) return "invalid_request";
  return undefined;
}

/** Whether a refusal with this class is the channel's fault (fail over, cool the channel down). */
export const isChannelFault = (c: UpstreamErrorClass | undefined): boolean =>
  c === "auth" || c === "quota" || c === "overloaded" || c === "upstream_internal" || c === "timeout";

/** DashScope's status words; anything else reads as still running (unknown). */
const STATES: Readonly<Record<string, UpstreamStatus["state"]>> = {
  PENDING: "queued",
  RUNNING: "running",
  SUCCEEDED: "completed",
  FAILED: "failed",
  CANCELED: "failed",
  // The task id is unknown to DashScope: never created, or older than its 24 h retention.
  UNKNOWN: "expired",
};

export type DashScopeTask = UpstreamStatus & { readonly videoUrl: string | null };

/** Reads a task answer (`{request_id, output: {task_id, task_status, video_url?, code?, message?}, usage?}`). */
export function readTask(json: unknown): DashScopeTask {
  const top = obj(json);
  const output = obj(top.output);
  const raw = str(output.task_status);
  const own = raw ? STATES[raw] : undefined;
  // A word DashScope does not list: the shared table, and unknown words read as running.
  const s = own ? { state: own, raw, known: true } : normaliseStatus(raw);
  const videoUrl = str(output.video_url);
  const code = str(output.code);
  const message = str(output.message);
  let error: UpstreamStatus["error"] = null;
  if (s.state === "failed") {
    const cls = raw === "CANCELED" ? undefined : classOf(code);
    error = {
      code: code ?? (raw === "CANCELED" ? "CANCELED" : null),
      message:
        message ?? (raw === "CANCELED" ? "the task was cancelled at DashScope" : `DashScope reports ${raw}`),
      ...(cls ? { class: cls } : {}),
    };
  } else if (s.state === "expired") {
    error = {
      code: code ?? raw,
      message:
        message ?? "DashScope no longer knows the task (task data and result links are kept for 24 hours)",
      class: "result_unavailable",
    };
  }
  const usage = obj(top.usage);
  const seconds = [usage.video_duration, usage.output_video_duration, usage.duration].find(
    (v): v is number => typeof v === "number" && Number.isFinite(v),
  );
  return {
    // A success without its link yet: keep polling rather than fail the download.
    state: s.state === "completed" && !videoUrl ? "running" : s.state,
    raw: s.raw,
    known: s.known,
    progress: s.state === "completed" && videoUrl ? 100 : null,
    error,
    ...(seconds !== undefined ? { usage: { seconds } } : {}),
    enhancedPrompt: str(output.actual_prompt),
    videoUrl,
  };
}

/** An error answer's code and message (`{request_id, code, message}`). */
export function readError(json: unknown, text: string): { code: string | null; message: string } {
  const o = obj(json);
  const code = str(o.code);
  const message = str(o.message);
  if (code || message) return { code, message: message ?? code ?? "" };
  const plain = text.replace(/\s+/g, " ").trim().slice(0, 300);
  return { code: null, message: plain || "no reason given" };
}

/**
 * When a signed result link (OSS style, `?Expires=<epoch seconds>`) has already expired, that
 * moment as ISO text; null when it has not or the link does not say.
 */
export function linkExpiredAt(link: string, now: number): string | null {
  let expires: number;
  try {
    expires = Number(new URL(link).searchParams.get("Expires") ?? Number.NaN);
  } catch {
    return null;
  }
  if (!Number.isFinite(expires) || expires <= 0) return null;
  return expires * 1000 <= now ? new Date(expires * 1000).toISOString() : null;
}
