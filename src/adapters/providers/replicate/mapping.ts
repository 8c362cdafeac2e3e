/**
 * Replicate predictions: Reelay's request → the create call (path and body, the model's own input
 * names), a prediction's status words → Reelay's states, and Replicate's refusals and failure
 * texts → Reelay's error classes. Pure functions (unit-tested in test/unit/provider-replicate.test.ts).
 *
 * Sources (read 2026-12-03):
 * - https://replicate.com/docs/topics/predictions/create-a-prediction (the create endpoints; async
 *   by default, `Prefer: wait` for sync, not used here), https://replicate.com/docs/reference/http
 *   (`models.predictions.create` `POST /v1/models/{owner}/{name}/predictions {input}`,
 *   `predictions.create` `POST /v1/predictions {version, input}`, `predictions.get`,
 *   `predictions.cancel`; the prediction object `{id, model, version, input, output, error, logs,
 *   status, metrics: {predict_time}, urls: {get, cancel, stream, web}, data_removed}`),
 *   https://replicate.com/changelog/2025-08-05-run-all-models-with-the-same-api-endpoint
 *   (version ids `{owner}/{name}:{version_id}` and bare 64-hex `{version_id}`).
 * - Status words starting | processing | succeeded | failed | canceled: Replicate's OpenAPI
 *   (api.replicate.com/openapi.json) as mirrored in api-evangelist/replicate json-schema.
 * - Moderation is reported in the failed prediction's `error` text, not a code: "NSFW content
 *   detected. Try running it again, or try a different prompt." (replicate/cog PR #939,
 *   replicate/cog-stable-diffusion PR #24); model-side filters such as "flagged as sensitive
 *   (E005)" (pollinations/pollinations PR #10801, HeyPuter/puter PR #3719).
 * - Files given as inputs may be an HTTP(S) URL or a data URL (replicate.com/docs/topics/predictions/input-files).
 */
import type { InputName, ModelInputs } from "../../../core/catalogue/capability.js";
import type { UpstreamErrorClass, UpstreamState, UpstreamUsage } from "../../../core/upstream/ports.js";
import { obj, str } from "../upstream/status.js";

/** Where a create goes: an official model by name, or a model version by id. */
export type CreateTarget =
  | { kind: "model"; owner: string; name: string }
  | { kind: "version"; version: string };

/**
 * The upstream id as Replicate names runnable things: `owner/name` (an official model:
 * `POST /v1/models/{owner}/{name}/predictions`), `owner/name:<version>` or a bare 64-hex version
 * id (`POST /v1/predictions {version}`). Null when it is none of these.
 */
export function createTarget(id: string): CreateTarget | null {
  const m = /^([A-Za-z0-9][\w.-]*)\/([A-Za-z0-9][\w.-]*)(?::([0-9a-f]{64}))?$/.exec(id.trim());
  if (m?.[1] && m[2]) {
    if (m[3]) return { kind: "version", version: m[3] };
    return { kind: "model", owner: m[1], name: m[2] };
  }
  if (/^[0-9a-f]{64}$/.test(id.trim())) return { kind: "version", version: id.trim() };
  return null;
}

/** The create call's path (relative to the channel's base URL) and body. */
export function createCall(
  target: CreateTarget,
  input: Record<string, unknown>,
): { path: string; body: Record<string, unknown> } {
  return target.kind === "model"
    ? {
        path: `v1/models/${encodeURIComponent(target.owner)}/${encodeURIComponent(target.name)}/predictions`,
        body: { input },
      }
    : { path: "v1/predictions", body: { version: target.version, input } };
}

/**
 * Without a catalogue input map (a config-file model that gives none), only the prompt is sent,
 * under `prompt`, the name nearly every Replicate video model uses: other inputs are not guessed.
 */
export const DEFAULT_INPUTS: ModelInputs = { fields: { prompt: "prompt" } };

/** Reelay's request values, in the types Replicate's video models document for each input. */
export interface InputValues {
  readonly prompt: string;
  readonly duration: number;
  readonly aspectRatio: string;
  readonly resolution: string;
  readonly negativePrompt?: string | undefined;
  readonly seed?: number | undefined;
  readonly audio?: boolean | undefined;
  /** URLs or data URLs. */
  readonly firstFrame: string | null;
  readonly lastFrame: string | null;
  readonly references: readonly string[];
}

/**
 * The resolution to send: the one asked (`resolution`), else the size's short side where the model
 * names that tier (`768p` for 1366×768 on Hailuo), else Reelay's class of the size (`resolutionOf`).
 */
export function resolutionFor(
  asked: string | undefined,
  size: { width: number; height: number },
  offered: readonly string[] | undefined,
  fallback: string,
): string {
  if (asked) return asked;
  const exact = `${Math.min(size.width, size.height)}p`;
  return offered?.includes(exact) ? exact : fallback;
}

/** A request the model cannot take (an input it has no field for): refused before sending. */
export class ReplicateUnsupported extends Error {}

/**
 * The prediction's `input`: each of Reelay's values under the model's own field name, the fixed
 * inputs first (a request value wins over nothing; a fixed value is never overridden). Images a
 * model has no field for are refused (never dropped silently); optional values it has no field
 * for (seed, negative prompt, audio) were already refused by the catalogue's `accepts`.
 */
export function buildInput(inputs: ModelInputs, v: InputValues): Record<string, unknown> {
  const f = inputs.fields;
  const input: Record<string, unknown> = { ...(inputs.fixed ?? {}) };
  const put = (name: InputName, value: unknown) => {
    const field = f[name];
    if (field !== undefined && value !== undefined && !(field in input)) input[field] = value;
  };
  const need = (name: InputName, what: string) => {
    if (f[name] === undefined)
      throw new ReplicateUnsupported(`${what}: this Replicate model takes no ${what.replace("_", " ")}`);
  };
  if (v.firstFrame !== null) need("firstFrame", "first_frame");
  if (v.lastFrame !== null) need("lastFrame", "last_frame");
  if (v.references.length > 0) need("referenceImages", "reference_images");
  put("prompt", v.prompt);
  put("duration", v.duration);
  put("aspectRatio", v.aspectRatio);
  put("resolution", v.resolution);
  put("negativePrompt", v.negativePrompt);
  put("seed", v.seed);
  put("audio", v.audio);
  if (v.firstFrame !== null) put("firstFrame", v.firstFrame);
  if (v.lastFrame !== null) put("lastFrame", v.lastFrame);
  if (v.references.length > 0) put("referenceImages", [...v.references]);
  return input;
}

/** Replicate's error envelope (RFC 7807 problem+json): `{title, detail, status}`. */
export function problem(json: unknown): { title: string | null; detail: string | null } {
  const o = obj(json);
  return { title: str(o.title), detail: str(o.detail) };
}

/** Words of a content filter, in a refusal's detail or a failed prediction's `error`. */
const MODERATION =
  /\bnsfw\b|flagged as sensitive|sensitive content|content (?:policy|moderation|filter)|safety (?:filter|check|system)|\bE005\b|moderation/i;

export const isModeration = (text: string): boolean => MODERATION.test(text);

/**
 * The class of a refused create or call, by HTTP status (Replicate's documented 401, 402, 404,
 * 422, 429, 5xx) and, for moderation, its words.
 */
export function classifyRefusal(status: number, text: string): UpstreamErrorClass {
  if (isModeration(text)) return "content_policy";
  if (status === 401 || status === 403) return "auth";
  if (status === 402) return "quota";
  if (status === 429) return "overloaded";
  if (status >= 500) return "upstream_internal";
  return "invalid_request";
}

/** A failed prediction's `error` → its class: moderation, invalid input, or the model's own failure. */
export function classifyFailure(error: string): UpstreamErrorClass {
  if (isModeration(error)) return "content_policy";
  if (/^input validation error|invalid input|validation error/i.test(error)) return "invalid_request";
  return "upstream_internal";
}

const STATES: Record<string, UpstreamState> = {
  starting: "queued",
  processing: "running",
  succeeded: "completed",
  failed: "failed",
  canceled: "failed",
};

export interface ReplicatePrediction {
  readonly state: UpstreamState;
  readonly raw: string | null;
  readonly known: boolean;
  /** The first output file's link (an output is a URL or a list of URLs). */
  readonly outputUrl: string | null;
  readonly dataRemoved: boolean;
  readonly error: { code: string | null; message: string; class: UpstreamErrorClass } | null;
  readonly usage?: UpstreamUsage;
}

/** The first URL of `output` (a string, or a list whose first string is taken). */
export function outputUrl(output: unknown): string | null {
  if (typeof output === "string") return /^https?:\/\//.test(output) ? output : null;
  if (Array.isArray(output)) {
    for (const o of output) {
      const u = outputUrl(o);
      if (u) return u;
    }
  }
  return null;
}

/** A prediction (`GET /v1/predictions/{id}`). An unknown or missing status word is still running. */
export function readPrediction(json: unknown): ReplicatePrediction {
  const p = obj(json);
  const raw = str(p.status);
  const state = raw ? STATES[raw] : undefined;
  const predictTime = obj(p.metrics).predict_time;
  const usage: UpstreamUsage | undefined =
    typeof predictTime === "number" && Number.isFinite(predictTime) && predictTime >= 0
      ? { seconds: predictTime }
      : undefined;
  const base = {
    raw,
    outputUrl: outputUrl(p.output),
    dataRemoved: p.data_removed === true,
    ...(usage ? { usage } : {}),
  };
  if (!state) return { ...base, state: "running", known: false, error: null };
  if (raw === "canceled")
    return {
      ...base,
      state,
      known: true,
      error: {
        code: "canceled",
        message: "the prediction was canceled on Replicate",
        class: "upstream_internal",
      },
    };
  if (state === "failed") {
    const message = str(p.error) ?? "the prediction failed without an error message";
    const cls = classifyFailure(message);
    return {
      ...base,
      state,
      known: true,
      error: { code: cls === "content_policy" ? "content_policy" : null, message, class: cls },
    };
  }
  return { ...base, state, known: true, error: null };
}
