/**
 * An emulated Gemini API, Veo's part of it:
 * - `POST /v1beta/models/{model}:predictLongRunning` `{instances: [{prompt, image?, lastFrame?,
 *   referenceImages?}], parameters: {aspectRatio?, resolution?, durationSeconds?, negativePrompt?,
 *   personGeneration?, …}}` → an operation `{name: "models/{model}/operations/{id}"}`;
 * - `GET /v1beta/models/{model}/operations/{id}` → `{name}` while running, then `{name, done: true,
 *   response: {generateVideoResponse: {generatedSamples: [{video: {uri}}]}}}`, or `error`
 *   (google.rpc.Status), or `raiMediaFilteredCount`/`raiMediaFilteredReasons` when the safety
 *   filters kept the video back;
 * - `GET /v1beta/files/{id}:download?alt=media` → the MP4, with the key; the file is deleted after
 *   `fileTtlMs` (2 days upstream; settable), then 404 NOT_FOUND.
 * The key goes as `x-goog-api-key` (or `?key=`): none → 403 PERMISSION_DENIED ("unregistered
 * callers"), a wrong one → 400 INVALID_ARGUMENT with ErrorInfo reason API_KEY_INVALID, as Google
 * answers; an `Authorization` header (a Bearer key) → 401 UNAUTHENTICATED, as Google reads it as
 * an OAuth token. Errors use Google's envelope `{error: {code, message, status}}`. Images are
 * `{bytesBase64Encoded, mimeType}`; `inlineData` is refused ("isn't supported by this model"), as
 * users of the endpoint report. Validation follows the parameter table: aspectRatio 16:9|9:16,
 * resolution 720p|1080p, durationSeconds 4|6|8 (a number, or the same digits as a string),
 * 1080p and reference images only at 8 s, a last frame only with a first frame, ≤ 3 asset
 * references, no `seed`/`generateAudio` (Vertex AI only).
 * No cancel route: the Gemini API documents none for these operations.
 *
 * Sources: https://ai.google.dev/gemini-api/docs/video, https://ai.google.dev/gemini-api/docs/troubleshooting,
 * googleapis/js-genai `src/converters/_models_converters.ts`, QuantumNous/new-api
 * `relay/channel/task/gemini/`, BerriAI/litellm `litellm/llms/gemini/videos/transformation.py`.
 */
import type { IncomingMessage } from "node:http";
import {
  applyFault,
  type EmulatedTask,
  EmulatorCore,
  type Fault,
  listen,
  type RunningEmulator,
  readBody,
  sendFile,
  sendJson,
} from "./common.js";

/** Google's HTTP code for each status name it uses here. */
const HTTP_OF: Record<string, number> = {
  INVALID_ARGUMENT: 400,
  FAILED_PRECONDITION: 400,
  UNAUTHENTICATED: 401,
  PERMISSION_DENIED: 403,
  NOT_FOUND: 404,
  RESOURCE_EXHAUSTED: 429,
  INTERNAL: 500,
  UNAVAILABLE: 503,
  DEADLINE_EXCEEDED: 504,
};
/** google.rpc.Code numbers, for an operation's `error.code`. */
const RPC_OF: Record<string, number> = {
  CANCELLED: 1,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  UNAUTHENTICATED: 16,
};

export const googleError = (status: string, message: string, details?: unknown[]) => ({
  error: { code: HTTP_OF[status] ?? 500, message, status, ...(details ? { details } : {}) },
});

/** What Google says when its Responsible AI filters refuse a prompt. */
export const MODERATION_MESSAGE =
  "The prompt could not be submitted. This prompt contains words that violate Google's Responsible AI practices. Support codes: 15236754";

/** Scripted refusals, in Google's envelope, for `core.fault(route, …)`. */
export function geminiFault(
  kind: "quota" | "overloaded" | "internal" | "invalid" | "moderation" | "denied",
  retryAfterS?: number,
): Fault {
  const [status, message] = {
    quota: [
      "RESOURCE_EXHAUSTED",
      "You exceeded your current quota, please check your plan and billing details.",
    ],
    overloaded: ["UNAVAILABLE", "The model is overloaded. Please try again later."],
    internal: ["INTERNAL", "An internal error has occurred."],
    invalid: ["INVALID_ARGUMENT", "Request contains an invalid argument."],
    moderation: ["INVALID_ARGUMENT", MODERATION_MESSAGE],
    denied: ["PERMISSION_DENIED", "The caller does not have permission"],
  }[kind] as [string, string];
  return {
    kind: "status",
    status: HTTP_OF[status] ?? 500,
    body: JSON.stringify(googleError(status, message)),
    ...(retryAfterS !== undefined ? { retryAfterS } : {}),
  };
}

export interface GeminiEmulator extends RunningEmulator {
  /** Each create body as received (the request log has the routes and keys). */
  readonly creates: { model: string; body: Record<string, unknown> }[];
  /** Files older than `ms` are gone from now on (404 NOT_FOUND), as after Google's 2 days. */
  setFileTtl(ms: number): void;
}

const DIGITS = new Set([4, 6, 8]);
const KEY_INVALID = [
  {
    "@type": "type.googleapis.com/google.rpc.ErrorInfo",
    reason: "API_KEY_INVALID",
    domain: "googleapis.com",
    metadata: { service: "generativelanguage.googleapis.com" },
  },
];

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => !!v && typeof v === "object" && !Array.isArray(v);

/** Why an image field is not one the endpoint takes; null when it is. */
function badImage(v: unknown, field: string): string | null {
  if (!isObj(v)) return `Invalid value at '${field}': expected an Image object.`;
  if ("inlineData" in v) return "`inlineData` isn't supported by this model.";
  if ("fileUri" in v || "gcsUri" in v)
    return `\`${"fileUri" in v ? "fileUri" : "gcsUri"}\` isn't supported by this model.`;
  const b64 = v.bytesBase64Encoded;
  if (typeof b64 !== "string" || b64 === "" || !/^[A-Za-z0-9+/]+={0,2}$/.test(b64))
    return `Invalid value at '${field}.bytes_base64_encoded': expected base64 bytes.`;
  if (typeof v.mimeType !== "string" || !/^image\/(png|jpeg|webp)$/.test(v.mimeType))
    return `Invalid value at '${field}.mime_type': expected image/png, image/jpeg or image/webp.`;
  return null;
}

/** The size and length a valid body asks for, or why it is invalid (INVALID_ARGUMENT). */
export function checkPredictBody(
  body: unknown,
): { ok: true; width: number; height: number; seconds: number } | { ok: false; message: string } {
  const bad = (message: string) => ({ ok: false as const, message });
  if (!isObj(body)) return bad("Invalid JSON payload received.");
  const instances = body.instances;
  if (!Array.isArray(instances) || instances.length !== 1 || !isObj(instances[0]))
    return bad("Invalid value at 'instances': exactly one instance is required.");
  const inst = instances[0];
  for (const k of Object.keys(inst))
    if (!["prompt", "image", "lastFrame", "referenceImages", "video"].includes(k))
      return bad(`Invalid JSON payload received. Unknown name "${k}" at 'instances[0]': Cannot find field.`);
  if (typeof inst.prompt !== "string" || inst.prompt.trim() === "")
    return bad("Invalid value at 'instances[0].prompt': a non-empty string is required.");
  if (inst.image !== undefined) {
    const why = badImage(inst.image, "instances[0].image");
    if (why) return bad(why);
  }
  if (inst.lastFrame !== undefined) {
    const why = badImage(inst.lastFrame, "instances[0].last_frame");
    if (why) return bad(why);
    if (inst.image === undefined) return bad("lastFrame requires image (the first frame).");
  }
  const refs = inst.referenceImages;
  if (refs !== undefined) {
    if (!Array.isArray(refs) || refs.length === 0 || refs.length > 3)
      return bad("Invalid value at 'instances[0].reference_images': 1 to 3 reference images are supported.");
    for (const [i, r] of refs.entries()) {
      if (!isObj(r)) return bad(`Invalid value at 'instances[0].reference_images[${i}]'.`);
      const why = badImage(r.image, `instances[0].reference_images[${i}].image`);
      if (why) return bad(why);
      if (r.referenceType !== "asset")
        return bad(
          `Invalid value at 'instances[0].reference_images[${i}].reference_type': only "asset" is supported.`,
        );
    }
    if (inst.image !== undefined) return bad("referenceImages cannot be combined with image.");
  }
  const p = body.parameters === undefined ? {} : body.parameters;
  if (!isObj(p)) return bad("Invalid value at 'parameters'.");
  for (const k of ["seed", "generateAudio"])
    if (k in p) return bad(`\`${k}\` isn't supported by this model.`);
  const aspect = p.aspectRatio ?? "16:9";
  if (aspect !== "16:9" && aspect !== "9:16")
    return bad(
      `Invalid value at 'parameters.aspect_ratio' (${JSON.stringify(aspect)}): supported values are "16:9" and "9:16".`,
    );
  const resolution = p.resolution ?? "720p";
  if (resolution !== "720p" && resolution !== "1080p")
    return bad(
      `Invalid value at 'parameters.resolution' (${JSON.stringify(resolution)}): supported values are "720p" and "1080p".`,
    );
  const d = p.durationSeconds ?? 8;
  const seconds =
    typeof d === "number" ? d : typeof d === "string" && /^\d+$/.test(d) ? Number(d) : Number.NaN;
  if (!Number.isInteger(seconds) || !DIGITS.has(seconds))
    return bad(
      `Invalid value at 'parameters.duration_seconds' (${JSON.stringify(d)}): supported values are 4, 6 and 8.`,
    );
  if (resolution === "1080p" && seconds !== 8) return bad("1080p is only supported for 8 second videos.");
  if (refs !== undefined && seconds !== 8)
    return bad("Reference images are only supported for 8 second videos.");
  if (p.negativePrompt !== undefined && typeof p.negativePrompt !== "string")
    return bad("Invalid value at 'parameters.negative_prompt': a string is required.");
  if (p.personGeneration !== undefined) {
    const allowed = inst.image !== undefined || refs !== undefined ? ["allow_adult"] : ["allow_all"];
    if (!allowed.includes(String(p.personGeneration)))
      return bad(
        `Invalid value at 'parameters.person_generation': this mode supports ${allowed.join(", ")}.`,
      );
  }
  const [long, short] = resolution === "1080p" ? [1920, 1080] : [1280, 720];
  return aspect === "16:9"
    ? { ok: true, width: long, height: short, seconds }
    : { ok: true, width: short, height: long, seconds };
}

export async function startGemini(opts: {
  secret: string;
  port?: number;
  /** How long a generated file stays downloadable (2 days upstream). */
  fileTtlMs?: number;
}): Promise<GeminiEmulator> {
  const core = new EmulatorCore(opts.secret);
  const creates: GeminiEmulator["creates"] = [];
  let fileTtlMs = opts.fileTtlMs ?? 2 * 24 * 3600_000;
  /** File id → its task and when it was made (on the first poll that saw the task done). */
  const files = new Map<string, { task: EmulatedTask; createdAt: number }>();
  const fileOf = new Map<string, string>();
  let origin = "";

  const keyOf = (req: IncomingMessage, url: URL): string | null => {
    const h = req.headers["x-goog-api-key"];
    return typeof h === "string" ? h : url.searchParams.get("key");
  };

  const nameOf = (t: EmulatedTask) => `models/${String(t.input.model)}/operations/${t.id}`;

  const view = (t: EmulatedTask): Obj => {
    const { phase } = core.phaseOf(t);
    const op: Obj = { name: nameOf(t) };
    if (phase === "queued" || phase === "running") {
      // A scripted odd `done` (not a boolean) stands in for a status word nobody listed.
      const odd = core.runningStatus(t, "__own__");
      if (odd !== "__own__" && odd !== undefined) op.done = odd;
      return op;
    }
    op.done = true;
    const b = t.behaviour;
    if (phase === "completed") {
      let file = fileOf.get(t.id);
      if (!file) {
        file = `${t.id.replace(/[^a-z0-9]/gi, "").toLowerCase()}f`;
        fileOf.set(t.id, file);
        files.set(file, { task: t, createdAt: Date.now() });
      }
      op.response = {
        "@type": "type.googleapis.com/google.ai.generativelanguage.v1beta.PredictLongRunningResponse",
        generateVideoResponse: {
          generatedSamples: [
            { video: { uri: `${b.resultOrigin ?? origin}/v1beta/files/${file}:download?alt=media` } },
          ],
        },
      };
      return op;
    }
    if (b.failCode === "RAI_MEDIA_FILTERED") {
      op.response = {
        "@type": "type.googleapis.com/google.ai.generativelanguage.v1beta.PredictLongRunningResponse",
        generateVideoResponse: {
          raiMediaFilteredCount: 1,
          raiMediaFilteredReasons: [
            b.failMessage ??
              "We encountered an issue with the audio for your prompt. Please try a different prompt. This video violates Google's Responsible AI practices. Support codes: 58061214",
          ],
        },
      };
      return op;
    }
    const status = phase === "expired" ? "DEADLINE_EXCEEDED" : (b.failCode ?? "INTERNAL");
    op.error = {
      code: RPC_OF[status] ?? 13,
      message: b.failMessage ?? "Video generation failed due to an internal error.",
    };
    return op;
  };

  const running = await listen(
    core,
    async (req, res, url) => {
      const create = /^\/v1beta\/models\/([^/:]+):predictLongRunning$/.exec(url.pathname);
      const query = /^\/v1beta\/(models\/[^/:]+\/operations\/[^/:]+)$/.exec(url.pathname);
      const file = /^\/v1beta\/files\/([^/:]+):download$/.exec(url.pathname);
      const route = create
        ? "create"
        : query
          ? "query"
          : file
            ? "content"
            : url.pathname.endsWith(":cancel")
              ? "cancel"
              : "other";
      const key = keyOf(req, url);
      if (core.logRequests)
        core.requests.push({
          route,
          method: req.method ?? "GET",
          path: url.pathname,
          auth: key === null ? null : `x-goog-api-key ${key}`,
          at: Date.now(),
        });
      if (await applyFault(core.takeFault(route), req, res)) return;
      // An Authorization header makes Google read an OAuth token (an API key is no such thing).
      if (req.headers.authorization !== undefined)
        return sendJson(
          res,
          401,
          googleError(
            "UNAUTHENTICATED",
            "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.",
            [
              {
                "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                reason: "ACCESS_TOKEN_TYPE_UNSUPPORTED",
                domain: "googleapis.com",
              },
            ],
          ),
        );
      if (key === null)
        return sendJson(
          res,
          403,
          googleError(
            "PERMISSION_DENIED",
            "Method doesn't allow unregistered callers (callers without established identity). Please use API Key or other form of API consumer identity to call this API.",
          ),
        );
      if (key !== opts.secret)
        return sendJson(
          res,
          400,
          googleError("INVALID_ARGUMENT", "API key not valid. Please pass a valid API key.", KEY_INVALID),
        );
      if (create && req.method === "POST") {
        let body: unknown;
        try {
          body = JSON.parse((await readBody(req)).toString("utf8"));
        } catch {
          return sendJson(res, 400, googleError("INVALID_ARGUMENT", "Invalid JSON payload received."));
        }
        const model = decodeURIComponent(create[1] ?? "");
        if (!/^veo-/.test(model))
          return sendJson(
            res,
            404,
            googleError(
              "NOT_FOUND",
              `models/${model} is not found for API version v1beta, or is not supported for predictLongRunning.`,
            ),
          );
        creates.push({ model, body: body as Obj });
        const checked = checkPredictBody(body);
        if (!checked.ok) return sendJson(res, 400, googleError("INVALID_ARGUMENT", checked.message));
        const t = core.newTask("op", { ...(body as Obj), model }, checked, null);
        return sendJson(res, 200, { name: nameOf(t) });
      }
      if (query && req.method === "GET") {
        const id = query[1]?.split("/").pop() ?? "";
        const t = core.tasks.get(id);
        if (!t || nameOf(t) !== query[1])
          return sendJson(res, 404, googleError("NOT_FOUND", `Operation ${query[1]} not found.`));
        return sendJson(res, 200, view(t));
      }
      if (file && req.method === "GET") {
        const f = files.get(file[1] ?? "");
        if (!f || Date.now() - f.createdAt >= fileTtlMs || url.searchParams.get("alt") !== "media")
          return sendJson(
            res,
            404,
            googleError("NOT_FOUND", `File files/${file[1]} does not exist or has expired.`),
          );
        return sendFile(res, await core.video(f.task), "video/mp4");
      }
      return sendJson(res, 404, googleError("NOT_FOUND", `Method not found: ${req.method} ${url.pathname}`));
    },
    opts.port,
  );
  origin = running.url;
  return {
    ...running,
    creates,
    setFileTtl(ms) {
      fileTtlMs = ms;
    },
  };
}
