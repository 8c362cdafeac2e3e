/**
 * fal.ai's queue API: Reelay's request → a model's own JSON input (by the catalogue's
 * `inputs.fields`), the queue's status words → Reelay's states, and fal's error envelopes →
 * Reelay's error classes. Pure functions (unit-tested in test/unit/provider-fal.test.ts).
 *
 * Value formats (Reelay's convention for fal, from the models' schemas): the duration goes as a
 * string of whole seconds (`"5"`: the `DurationEnum` of fal's Kling, Wan and Seedance endpoints),
 * the aspect ratio as `W:H`, the resolution as its word (`720p`), the seed as an integer, sound as
 * a boolean, images as a link or a base64 data URI (fal's file inputs take both), reference
 * images as a list. `inputs.fixed` is sent first; the mapped fields are set over it.
 *
 * Sources (read 2026-12-03):
 * - https://docs.fal.ai/model-apis/model-endpoints/queue (and docs.fal.ai/documentation/model-apis/
 *   inference/queue): `POST https://queue.fal.run/{model_id}[/{subpath}]` → `{request_id,
 *   response_url, status_url, cancel_url}`; `GET …/{model_id}/requests/{id}/status` → `{status:
 *   IN_QUEUE|IN_PROGRESS|COMPLETED, queue_position?, response_url, logs?}`; `GET
 *   …/{model_id}/requests/{id}` → the model's output; `PUT …/requests/{id}/cancel`. The subpath is
 *   used to submit, "but not when getting request status or results": those take the app id.
 * - https://fal.ai/docs/inference-api/queue/cancel: cancel answers OK, CANCELLATION_REQUESTED,
 *   ALREADY_COMPLETED or NOT_FOUND.
 * - https://docs.fal.ai/documentation/model-apis/errors (model errors: `{detail: [{loc, msg, type,
 *   url?, input?, ctx?}]}`, e.g. `content_policy_violation`) and .../request-errors (`{detail:
 *   "…", error_type}`, e.g. `request_timeout` 504, `runner_scheduling_failure` 503).
 * - fal-ai/fal issues #1112, #1147, #1168: a locked account is `403 {"detail": "User is locked.
 *   Reason: Exhausted balance. …"}`.
 * - fal-ai/fal-js `parseEndpointId` (owner/alias/path: the queue's status and result URLs use
 *   `owner/alias`).
 */
import type { InputName, ModelInputs } from "../../../core/catalogue/capability.js";
import type { UpstreamErrorClass, UpstreamState } from "../../../core/upstream/ports.js";
import { obj, str } from "../upstream/status.js";

/** A request fal's model cannot take as the catalogue describes it: refused before sending. */
export class FalUnsupported extends Error {}

/**
 * The app id of an endpoint id (`fal-ai/kling-video/v2.1/master/text-to-video` →
 * `fal-ai/kling-video`): the queue's status, result and cancel URLs name the app, not the subpath.
 */
export function falAppId(endpointId: string): string {
  const parts = endpointId.replace(/^\/+|\/+$/g, "").split("/");
  if (parts.length < 2 || parts.some((p) => p === "" || p === "." || p === ".."))
    throw new FalUnsupported(`model: '${endpointId}' is not a fal endpoint id (owner/name[/path])`);
  return `${parts[0]}/${parts[1]}`;
}

/** The upstream id Reelay keeps: the app id and fal's request id (`fal-ai/kling-video:<uuid>`). */
export const upstreamIdOf = (endpointId: string, requestId: string): string =>
  `${falAppId(endpointId)}:${requestId}`;

/** The app id and request id back from an upstream id. */
export function parseUpstreamId(upstreamId: string): { appId: string; requestId: string } {
  const at = upstreamId.lastIndexOf(":");
  const appId = at > 0 ? upstreamId.slice(0, at) : "";
  const requestId = at > 0 ? upstreamId.slice(at + 1) : "";
  if (
    !/^[^/\s]+\/[^/\s]+$/.test(appId) ||
    !/^[^/\s?#]+$/.test(requestId) ||
    requestId === ".." ||
    requestId === "."
  )
    throw new FalUnsupported(`'${upstreamId}' is not a fal upstream id`);
  return { appId, requestId };
}

/** The queue paths of a request (relative to the channel's base URL). */
export const queuePaths = (upstreamId: string) => {
  const { appId, requestId } = parseUpstreamId(upstreamId);
  const base = `${appId}/requests/${encodeURIComponent(requestId)}`;
  return { status: `${base}/status?logs=1`, response: base, cancel: `${base}/cancel` };
};

/** Without a catalogue mapping, a fal model is sent its prompt only (the one input all take). */
export const DEFAULT_INPUTS: ModelInputs = { fields: { prompt: "prompt" } };

export interface FalRequest {
  readonly prompt: string;
  readonly duration: number;
  /** `W:H`; null when the video takes the first frame's aspect (not sent). */
  readonly aspectRatio: string | null;
  readonly resolution: string;
  readonly negativePrompt?: string;
  readonly seed?: number;
  readonly audio?: boolean;
  /** Images as fal takes them: a link, or a base64 data URI. */
  readonly firstFrame: string | null;
  readonly lastFrame: string | null;
  readonly references: readonly string[];
}

/** The model's JSON input. Throws FalUnsupported for an image the model names no field for. */
export function buildInput(r: FalRequest, inputs: ModelInputs): Record<string, unknown> {
  const f = inputs.fields;
  const body: Record<string, unknown> = { ...(inputs.fixed ?? {}) };
  const set = (name: InputName, value: unknown) => {
    const field = f[name];
    if (field !== undefined && value !== undefined && value !== null) body[field] = value;
  };
  const need = (name: InputName, what: string, given: boolean) => {
    if (given && f[name] === undefined)
      throw new FalUnsupported(`${what}: this fal model's catalogue entry names no field for it`);
  };
  need("firstFrame", "first_frame", r.firstFrame !== null);
  need("lastFrame", "last_frame", r.lastFrame !== null);
  need("referenceImages", "reference_images", r.references.length > 0);
  set("prompt", r.prompt);
  set("duration", String(r.duration));
  set("aspectRatio", r.aspectRatio);
  set("resolution", r.resolution.toLowerCase());
  set("negativePrompt", r.negativePrompt);
  set("seed", r.seed);
  set("audio", r.audio);
  set("firstFrame", r.firstFrame);
  set("lastFrame", r.lastFrame);
  if (r.references.length > 0) set("referenceImages", [...r.references]);
  return body;
}

/** The queue's status words. */
const STATES: Record<string, UpstreamState> = {
  IN_QUEUE: "queued",
  IN_PROGRESS: "running",
  COMPLETED: "completed",
};

export interface FalQueueStatus {
  readonly state: UpstreamState;
  readonly raw: string | null;
  readonly known: boolean;
}

/** A status answer: unknown or missing words are still running (`known: false`). */
export function readStatus(json: unknown): FalQueueStatus {
  const raw = str(obj(json).status);
  const state = raw ? STATES[raw] : undefined;
  return state ? { state, raw, known: true } : { state: "running", raw, known: false };
}

/** What a fal error is for Reelay. */
export interface FalError {
  readonly code: string | null;
  readonly message: string;
  readonly class: UpstreamErrorClass;
  /** The channel's fault (credential, balance, rate, fal's capacity): fail over and cool down. */
  readonly channelFault: boolean;
}

/** Model error types (`detail[].type`) that are not the request's own fault. */
const MODEL_TYPES: Record<string, UpstreamErrorClass> = {
  content_policy_violation: "content_policy",
  internal_server_error: "upstream_internal",
  generation_timeout: "timeout",
  downstream_service_error: "upstream_internal",
  downstream_service_unavailable: "overloaded",
};

/** Request error types (`error_type`), fal's infrastructure failures. */
const REQUEST_TYPES: Record<string, UpstreamErrorClass> = {
  request_timeout: "timeout",
  startup_timeout: "timeout",
  runner_scheduling_failure: "overloaded",
  runner_connection_timeout: "overloaded",
  runner_disconnected: "upstream_internal",
  runner_connection_refused: "upstream_internal",
  runner_connection_error: "upstream_internal",
  runner_incomplete_response: "upstream_internal",
  runner_server_error: "upstream_internal",
  internal_error: "upstream_internal",
};

const CHANNEL_CLASSES = new Set<UpstreamErrorClass>([
  "auth",
  "quota",
  "overloaded",
  "upstream_internal",
  "timeout",
]);

/**
 * A non-2xx answer's meaning: the model error's `detail[0].type` (content policy, else the
 * request's invalid input), a request error's `error_type`, else the HTTP status (401 auth, 402
 * and a locked account's 403 quota, another 403 auth, 408 timeout, 429 rate, 5xx fal's own,
 * other 4xx the request's).
 */
export function classifyError(status: number, json: unknown, text = ""): FalError {
  const o = obj(json);
  const detail = o.detail;
  if (Array.isArray(detail) && detail.length > 0) {
    const first = obj(detail[0]);
    const type = str(first.type);
    const loc = Array.isArray(first.loc) ? first.loc.filter((x) => x !== "body").join(".") : "";
    const msgs = detail
      .map((d) => str(obj(d).msg))
      .filter((m): m is string => m !== null)
      .join("; ");
    const message = `${loc ? `${loc}: ` : ""}${msgs || type || "rejected"}`;
    const cls: UpstreamErrorClass =
      (type ? MODEL_TYPES[type] : undefined) ?? (status >= 500 ? "upstream_internal" : "invalid_request");
    return { code: type, message, class: cls, channelFault: CHANNEL_CLASSES.has(cls) };
  }
  const errorType = str(o.error_type);
  const message =
    str(detail) ??
    str(o.error) ??
    str(o.message) ??
    (text.replace(/\s+/g, " ").trim().slice(0, 300) || `HTTP ${status}`);
  if (errorType && REQUEST_TYPES[errorType])
    return { code: errorType, message, class: REQUEST_TYPES[errorType], channelFault: true };
  if (status === 401) return { code: errorType ?? "401", message, class: "auth", channelFault: true };
  if (status === 403) {
    const quota = /exhausted balance|top up|billing|locked/i.test(message);
    return { code: errorType ?? "403", message, class: quota ? "quota" : "auth", channelFault: true };
  }
  if (status === 402) return { code: errorType ?? "402", message, class: "quota", channelFault: true };
  if (status === 408) return { code: errorType ?? "408", message, class: "timeout", channelFault: true };
  if (status === 429) return { code: errorType ?? "429", message, class: "overloaded", channelFault: true };
  if (status >= 500)
    return { code: errorType ?? String(status), message, class: "upstream_internal", channelFault: true };
  return { code: errorType ?? String(status), message, class: "invalid_request", channelFault: false };
}

/** Whether a result answer carries fal's error envelope (a stored failure, not a passing refusal). */
export function isFalEnvelope(json: unknown): boolean {
  const o = obj(json);
  return (Array.isArray(o.detail) && o.detail.length > 0) || str(o.detail) !== null;
}

/** The video link of a model's output (`{video: {url, content_type, file_size}}`). */
export const videoUrlOf = (json: unknown): string | null => str(obj(obj(json).video).url);
