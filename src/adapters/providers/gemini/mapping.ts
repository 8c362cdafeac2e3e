/**
 * Veo on the Gemini API, as tables and pure functions: Reelay's request → the
 * `predictLongRunning` body, a long-running operation → Reelay's status, Google's error envelope
 * → Reelay's error classes.
 *
 * Sources:
 * - https://ai.google.dev/gemini-api/docs/video (Veo 3.1 guide: REST create/poll/download, the
 *   parameter table: aspectRatio "16:9"|"9:16", resolution "720p"|"1080p" (1080p only at 8 s),
 *   durationSeconds 4|6|8 (8 with reference images), personGeneration, lastFrame,
 *   referenceImages ≤ 3 `{image, referenceType: "asset"}`; files kept 2 days)
 * - https://ai.google.dev/gemini-api/docs/troubleshooting (error envelope and statuses:
 *   INVALID_ARGUMENT 400, FAILED_PRECONDITION 400, PERMISSION_DENIED 403, NOT_FOUND 404,
 *   RESOURCE_EXHAUSTED 429, INTERNAL 500, UNAVAILABLE 503, DEADLINE_EXCEEDED 504)
 * - googleapis/js-genai `src/converters/_models_converters.ts` (the official SDK's wire mapping for
 *   the Gemini Developer API, "mldev"): images go as `{bytesBase64Encoded, mimeType}`;
 *   `durationSeconds` is a number; `seed` and `generateAudio` are refused in Gemini API mode
 *   (Vertex only); the answer is `response.generateVideoResponse.{generatedSamples[].video.uri,
 *   raiMediaFilteredCount, raiMediaFilteredReasons}`.
 * - QuantumNous/new-api `relay/channel/task/gemini/{adaptor,dto}.go`, BerriAI/litellm
 *   `litellm/llms/gemini/videos/transformation.py` (x-goog-api-key, `GET /v1beta/{name}`, the
 *   download link taken from `generatedSamples[0].video.uri`).
 * Where they disagree: the guide's REST samples show images as `inlineData: {mimeType, data}`,
 * which users report the endpoint refuses (400 "`inlineData` isn't supported by this model");
 * the SDK, Google's own client, sends `bytesBase64Encoded` + `mimeType`, and so does Reelay.
 */
import type { VideoRequest } from "../../../core/tasks/task.js";
import { aspectRatioOf, resolutionOf } from "../../../core/tasks/task.js";
import type { UpstreamErrorClass, UpstreamStatus } from "../../../core/upstream/ports.js";
import { obj, str } from "../upstream/status.js";

/** An image as the Gemini API's Veo endpoint takes it: base64 bytes and their type. */
export interface VeoImage {
  readonly bytesBase64Encoded: string;
  readonly mimeType: string;
}

export interface VeoImages {
  readonly firstFrame: VeoImage | null;
  readonly lastFrame: VeoImage | null;
  readonly references: readonly VeoImage[];
}

export interface PredictBody {
  readonly instances: readonly [
    {
      prompt: string;
      image?: VeoImage;
      lastFrame?: VeoImage;
      referenceImages?: { image: VeoImage; referenceType: "asset" }[];
    },
  ];
  readonly parameters: {
    aspectRatio: string;
    resolution: string;
    durationSeconds: number;
    negativePrompt?: string;
  };
}

/**
 * Which input image goes where for Veo, whose modes do not mix: a first frame (and optionally a
 * last frame), or up to 3 asset references. With roles asked, they stand (a request that mixes
 * the modes is Google's to refuse, with its reason). Without roles, two images are the first and
 * the last frame (Veo's frame pair), rather than a first frame plus a reference it cannot take.
 */
export function veoRoles<T>(
  byRole: { firstFrame: T | null; lastFrame: T | null; references: readonly T[] },
  rolesAsked: boolean,
): { firstFrame: T | null; lastFrame: T | null; references: readonly T[] } {
  const [only, ...more] = byRole.references;
  if (rolesAsked || !byRole.firstFrame || byRole.lastFrame || only === undefined || more.length > 0)
    return byRole;
  return { firstFrame: byRole.firstFrame, lastFrame: only, references: [] };
}

/** The path of a create for `model` (the upstream id, sent as it is). */
export const createPath = (model: string): string =>
  `v1beta/models/${encodeURIComponent(model)}:predictLongRunning`;

/**
 * An operation's path: its name as the create answered it (`models/{model}/operations/{id}`).
 * Names are checked, so an upstream cannot steer the poll elsewhere on the host.
 */
export function operationPath(name: string): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9._~/-]*$/.test(name) || name.split("/").some((s) => s === ".." || s === ""))
    throw new Error(`not an operation name: ${JSON.stringify(name.slice(0, 120))}`);
  return `v1beta/${name}`;
}

/**
 * The create body. Seed and audio are not sent: the Gemini API refuses `seed` and `generateAudio`
 * (Veo 3.1 always makes sound there); watermarking has no switch (Veo marks with SynthID).
 * `personGeneration` is left to its per-mode default (allow_all for text, allow_adult with images),
 * the only values each mode accepts.
 */
export function predictBody(request: VideoRequest, images: VeoImages): PredictBody {
  const instance: PredictBody["instances"][0] = { prompt: request.prompt };
  if (images.firstFrame) instance.image = images.firstFrame;
  if (images.lastFrame) instance.lastFrame = images.lastFrame;
  if (images.references.length > 0)
    instance.referenceImages = images.references.map((image) => ({ image, referenceType: "asset" }));
  const parameters: PredictBody["parameters"] = {
    aspectRatio: aspectRatioOf(request),
    resolution: resolutionOf(request),
    durationSeconds: request.duration,
  };
  if (request.negativePrompt) parameters.negativePrompt = request.negativePrompt;
  return { instances: [instance], parameters };
}

/**
 * Google's error envelope `{error: {code, message, status, details?}}`, read leniently; `reason`
 * is a google.rpc.ErrorInfo's (`API_KEY_INVALID` comes as a 400 INVALID_ARGUMENT).
 */
export function googleError(json: unknown): {
  httpCode: number | null;
  status: string | null;
  message: string;
  reason: string | null;
} {
  const e = obj(obj(json).error);
  const details = Array.isArray(e.details) ? e.details : [];
  const reason = details.map((d) => str(obj(d).reason)).find((r) => r !== null) ?? null;
  return {
    httpCode: typeof e.code === "number" ? e.code : null,
    status: str(e.status),
    message: str(e.message) ?? "no reason given",
    reason,
  };
}

/** ErrorInfo reasons that are the key's or the project's fault, whatever the status says. */
const CREDENTIAL_REASONS = new Set([
  "API_KEY_INVALID",
  "API_KEY_EXPIRED",
  "API_KEY_SERVICE_BLOCKED",
  "SERVICE_DISABLED",
  "BILLING_DISABLED",
  "CONSUMER_SUSPENDED",
]);

/**
 * Words Google uses when its Responsible AI filters refuse a prompt or an image ("… violate
 * Google's Responsible AI practices …", "… sensitive words …", support codes). The API has no
 * separate status for it: a refused prompt is an INVALID_ARGUMENT, a filtered result a done
 * operation with `raiMediaFilteredCount`.
 */
const MODERATION =
  /responsible ai|usage guidelines|sensitive words|safety (filter|polic|system)|prohibited content/i;

export const isModeration = (message: string): boolean => MODERATION.test(message);

/** google.rpc.Code numbers (an operation's `error.code`) and their names. */
const RPC_CODES: Record<number, string> = {
  1: "CANCELLED",
  2: "UNKNOWN",
  3: "INVALID_ARGUMENT",
  4: "DEADLINE_EXCEEDED",
  5: "NOT_FOUND",
  7: "PERMISSION_DENIED",
  8: "RESOURCE_EXHAUSTED",
  9: "FAILED_PRECONDITION",
  13: "INTERNAL",
  14: "UNAVAILABLE",
  16: "UNAUTHENTICATED",
};

/** Reelay's class of a Google status name (`RESOURCE_EXHAUSTED`), given its message. */
export function classOf(
  status: string | null,
  message: string,
  reason: string | null = null,
): UpstreamErrorClass {
  if (reason && CREDENTIAL_REASONS.has(reason)) return "auth";
  switch (status) {
    case "INVALID_ARGUMENT":
      return isModeration(message) ? "content_policy" : "invalid_request";
    case "NOT_FOUND":
    case "OUT_OF_RANGE":
      return "invalid_request";
    case "UNAUTHENTICATED":
    case "PERMISSION_DENIED":
    // Billing not enabled, the API not offered in the key's region: the channel's to fix.
    case "FAILED_PRECONDITION":
      return "auth";
    case "RESOURCE_EXHAUSTED":
      return "quota";
    case "UNAVAILABLE":
      return "overloaded";
    case "DEADLINE_EXCEEDED":
      return "timeout";
    default:
      return isModeration(message) ? "content_policy" : "upstream_internal";
  }
}

/** Whether a refused create may go to another channel: the channel's fault, not the request's. */
export const channelFault = (c: UpstreamErrorClass): boolean =>
  c === "auth" || c === "quota" || c === "overloaded" || c === "timeout" || c === "upstream_internal";

/** The generated video's link in a done operation, if it has one. */
export function videoUriOf(json: unknown): string | null {
  const samples = obj(obj(obj(json).response).generateVideoResponse).generatedSamples;
  if (!Array.isArray(samples)) return null;
  for (const s of samples) {
    const uri = str(obj(obj(s).video).uri);
    if (uri) return uri;
  }
  return null;
}

const running = (raw: string | null, known: boolean): UpstreamStatus => ({
  state: "running",
  raw,
  known,
  progress: null,
  error: null,
  enhancedPrompt: null,
});

const failed = (
  raw: string,
  code: string | null,
  message: string,
  cls: UpstreamErrorClass,
): UpstreamStatus => ({
  state: "failed",
  raw,
  known: true,
  progress: null,
  error: { code, message, class: cls },
  enhancedPrompt: null,
});

/**
 * A long-running operation `{name, done?, error?, response?}` as Reelay's status. `done` absent or
 * false: still running (proto3 JSON leaves false out). Done with `error`: failed with Google's code.
 * Done with a video: completed. Done without one, `raiMediaFilteredCount` set: refused by the
 * safety filters (content policy). A `done` that is neither: unknown, still running.
 */
export function readOperation(json: unknown): UpstreamStatus {
  const op = obj(json);
  if (op.done === undefined || op.done === false)
    return running(op.done === false ? "done=false" : null, true);
  if (op.done !== true) return running(`done=${JSON.stringify(op.done).slice(0, 40)}`, false);
  const error = obj(op.error);
  if (op.error !== undefined) {
    const code = typeof error.code === "number" ? error.code : null;
    const name = code !== null ? (RPC_CODES[code] ?? String(code)) : str(error.status);
    const message = str(error.message) ?? "the operation failed without a reason";
    return failed("done", name, message, classOf(name, message));
  }
  if (videoUriOf(op)) return { ...running("done", true), state: "completed", progress: 100 };
  const answer = obj(obj(op.response).generateVideoResponse);
  const filtered = typeof answer.raiMediaFilteredCount === "number" ? answer.raiMediaFilteredCount : 0;
  const reasons = Array.isArray(answer.raiMediaFilteredReasons)
    ? answer.raiMediaFilteredReasons.filter((r): r is string => typeof r === "string")
    : [];
  if (filtered > 0 || reasons.length > 0)
    return failed(
      "done",
      "RAI_MEDIA_FILTERED",
      reasons.join(" ") || "the video was filtered by Google's Responsible AI filters",
      "content_policy",
    );
  return failed("done", null, "the operation finished without a video", "upstream_internal");
}
