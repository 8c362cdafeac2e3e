/**
 * Seedance (ByteDance, on Volcengine Ark / BytePlus ModelArk): the pure tables of the adapter —
 * Reelay's request to the create body, Ark's task to Reelay's status, Ark's error codes to
 * Reelay's error classes.
 *
 * Sources (the provider's own documents first):
 * - BytePlus ModelArk "Video Generation API" https://docs.byteplus.com/en/docs/ModelArk/1520757 and
 *   tutorial https://docs.byteplus.com/api/docs/ModelArk/1366799; Volcengine Ark 创建视频生成任务 API
 *   (same API on https://ark.cn-beijing.volces.com), as mirrored in docs.powertokens.ai
 *   (zmodelVideo/byteplus/seedance: create, query, cancel-delete) — field tables, the
 *   resolution × ratio pixel table, duration ranges per model, image roles.
 * - ModelArk common error codes https://docs.byteplus.com/en/docs/ModelArk/1299023.
 * - QuantumNous/new-api relay/channel/task/doubao/adaptor.go (request/response structs, status words);
 *   BerriAI/litellm litellm/llms/bytedance/videos/transformation.py (content roles; first/last frame
 *   and reference images are mutually exclusive).
 * Where a gateway and the provider disagree (new-api also reads `pending`/`processing`), the
 * provider's own list of status words is followed.
 */

import { aspectRatioOf, resolutionOf, type VideoRequest } from "../../../core/tasks/task.js";
import type { UpstreamErrorClass, UpstreamState, UpstreamStatus } from "../../../core/upstream/ports.js";
import type { ImagesByRole } from "../upstream/images.js";
import { obj, str } from "../upstream/status.js";

/** Ark's create and query path (relative to the channel's base URL, e.g. `https://ark.ap-southeast.bytepluses.com`). */
export const TASKS_PATH = "api/v3/contents/generations/tasks";
export const taskPath = (id: string): string => `${TASKS_PATH}/${encodeURIComponent(id)}`;

/** One `content` item: the prompt, or an image with its role. */
export type ContentItem =
  | { readonly type: "text"; readonly text: string }
  | {
      readonly type: "image_url";
      readonly image_url: { readonly url: string };
      readonly role: "first_frame" | "last_frame" | "reference_image";
    };

/** The create body, top-level parameters as the current API documents them. */
export interface CreateBody {
  readonly model: string;
  readonly content: readonly ContentItem[];
  readonly ratio: string;
  readonly resolution: string;
  readonly duration: number;
  readonly watermark: boolean;
  readonly seed?: number;
  readonly generate_audio?: boolean;
}

/** Images as Ark takes them: a public link, or a `data:image/<fmt>;base64,…` URL for an upload. */
export interface ImageUrls {
  readonly firstFrame: string | null;
  readonly lastFrame: string | null;
  readonly references: readonly string[];
}

/** Why a request cannot be sent as it is (the request's fault, never retried elsewhere). */
export class SeedanceRequestError extends Error {}

/**
 * The create body. Parameters go as top-level fields (the current API; the older
 * `--rs 1080p --dur 5` commands appended to the prompt are not used). Seedance has no negative
 * prompt field, so `negativePrompt` is not sent; `callback_url` is added by the adapter when the
 * channel takes callbacks.
 */
export function createBody(request: VideoRequest, model: string, images: ImageUrls): CreateBody {
  const frames = images.firstFrame !== null || images.lastFrame !== null;
  if (frames && images.references.length > 0)
    throw new SeedanceRequestError(
      "Seedance takes either first/last frames or reference images in one request, not both",
    );
  if (images.lastFrame !== null && images.firstFrame === null)
    throw new SeedanceRequestError("Seedance takes a last frame only together with a first frame");
  const content: ContentItem[] = [{ type: "text", text: request.prompt }];
  const image = (url: string, role: "first_frame" | "last_frame" | "reference_image"): ContentItem => ({
    type: "image_url",
    image_url: { url },
    role,
  });
  if (images.firstFrame !== null) content.push(image(images.firstFrame, "first_frame"));
  if (images.lastFrame !== null) content.push(image(images.lastFrame, "last_frame"));
  for (const r of images.references) content.push(image(r, "reference_image"));
  return {
    model,
    content,
    ratio: aspectRatioOf(request),
    resolution: resolutionOf(request),
    duration: request.duration,
    watermark: request.watermark,
    ...(request.seed !== undefined ? { seed: request.seed } : {}),
    ...(request.audio !== undefined ? { generate_audio: request.audio } : {}),
  };
}

/** The images of a request as links or data URLs (`dataUrlOf` reads an uploaded file). */
export async function imageUrls(
  byRole: ImagesByRole,
  dataUrlOf: (file: string) => Promise<string>,
): Promise<ImageUrls> {
  const one = async (img: ImagesByRole["firstFrame"]) =>
    img === null ? null : img.url !== null ? img.url : dataUrlOf(img.file);
  return {
    firstFrame: await one(byRole.firstFrame),
    lastFrame: await one(byRole.lastFrame),
    references: await Promise.all(byRole.references.map(async (r) => (await one(r)) as string)),
  };
}

/** Ark's task status words (queued, running, succeeded, failed, cancelled, expired). */
const STATUS: Readonly<Record<string, UpstreamState>> = {
  queued: "queued",
  running: "running",
  succeeded: "completed",
  failed: "failed",
  // Only a queued task can be cancelled (DELETE); it ends without a video.
  cancelled: "failed",
  // Queued or running past `execution_expires_after` (48 h by default).
  expired: "expired",
};

/**
 * What kind of failure an Ark error code is. Moderation codes are the `…SensitiveContentDetected…`
 * and `…RiskDetection` families (input text/image/video/audio, output video/audio/text/image).
 */
export function errorClassOf(code: string | null, httpStatus: number | null): UpstreamErrorClass | null {
  if (code) {
    if (/SensitiveContentDetected|RiskDetection$/.test(code)) return "content_policy";
    if (code === "InvalidParameter" || code.startsWith("InvalidParameter.") || code === "MissingParameter")
      return "invalid_request";
    if (
      [
        "AuthenticationError",
        "AccessDenied",
        "InvalidAccountStatus",
        "ModelNotOpen",
        "InvalidEndpointOrModel.NotFound",
        "InvalidEndpoint.NotFound",
        "InvalidEndpoint.ClosedEndpoint",
        "InvalidEndpointOrModel.ModelIDAccessDisabled",
        "OperationDenied.ServiceNotOpen",
        "OperationDenied.PermissionDenied",
      ].includes(code)
    )
      return "auth";
    if (
      ["QuotaExceeded", "SetLimitExceeded", "AccountOverdueError", "OperationDenied.ServiceOverdue"].includes(
        code,
      )
    )
      return "quota";
    if (
      code === "ServerOverloaded" ||
      code === "TooManyRequests" ||
      code === "RequestBurstTooFast" ||
      code === "InflightBatchsizeExceeded" ||
      code.startsWith("RateLimitExceeded") ||
      code.endsWith("RateLimitExceeded")
    )
      return "overloaded";
    if (code === "InternalServiceError") return "upstream_internal";
  }
  if (httpStatus === null) return null;
  if (httpStatus === 401 || httpStatus === 403) return "auth";
  if (httpStatus === 429) return "overloaded";
  if (httpStatus >= 500) return "upstream_internal";
  if (httpStatus === 400) return "invalid_request";
  return null;
}

/** An Ark error envelope `{error: {code, message, param?, type?}}`, when the body is one. */
export function arkError(json: unknown): { code: string | null; message: string } | null {
  const e = obj(obj(json).error);
  const code = str(e.code);
  const message = str(e.message);
  if (!code && !message) return null;
  return { code, message: message ?? `the upstream reports error ${code}` };
}

/** Ark's task (`GET …/tasks/{id}`) as Reelay's status. */
export function readTask(json: unknown): UpstreamStatus {
  const t = obj(json);
  const raw = typeof t.status === "string" && t.status.trim() !== "" ? t.status : null;
  const state = raw === null ? undefined : STATUS[raw.trim().toLowerCase()];
  const known = state !== undefined;
  const s: UpstreamState = state ?? "running";
  const said = s === "failed" || s === "expired" ? arkError(t) : null;
  const error =
    s === "failed" || s === "expired"
      ? {
          code: said?.code ?? null,
          message: said?.message ?? `the upstream reports status '${raw}'`,
          ...(() => {
            const c = s === "expired" ? "timeout" : errorClassOf(said?.code ?? null, null);
            return c ? { class: c } : {};
          })(),
        }
      : null;
  const usage = obj(t.usage);
  const tokens =
    typeof usage.completion_tokens === "number"
      ? usage.completion_tokens
      : typeof usage.total_tokens === "number"
        ? usage.total_tokens
        : undefined;
  return {
    state: s,
    raw,
    known,
    // Ark reports no progress figure.
    progress: s === "completed" ? 100 : null,
    error,
    ...(tokens !== undefined ? { usage: { tokens } } : {}),
    enhancedPrompt: null,
  };
}

/** The result link of a succeeded task (`content.video_url`, valid for 24 hours). */
export const videoUrlOf = (json: unknown): string | null => str(obj(obj(json).content).video_url);
