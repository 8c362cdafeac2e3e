/**
 * An emulated Vertex AI (Veo) plus the two Google services it leans on:
 * - `POST /token` — Google's OAuth token endpoint for service accounts: form-encoded
 *   `grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer&assertion=<RS256 JWT>`; the assertion is
 *   verified with the public key of the service account's key pair (`iss` = client_email, `aud` =
 *   this URL, `scope` with cloud-platform, `exp` ≤ `iat` + 3600 and not past) → `{access_token,
 *   expires_in, token_type: "Bearer"}`; refusals `{error: "invalid_grant", error_description}`
 *   (400), a wrong grant type `{error: "unsupported_grant_type"}`. Tokens expire after
 *   `tokenTtlS` (settable, short in tests); an expired or unknown token → 401 UNAUTHENTICATED.
 * - `POST /v1/projects/{p}/locations/{l}/publishers/google/models/{model}:predictLongRunning`
 *   `{instances: [{prompt, image?, lastFrame?, referenceImages?}], parameters: {aspectRatio,
 *   resolution, durationSeconds, negativePrompt?, seed?, generateAudio, sampleCount?, storageUri?,
 *   personGeneration?}}` → `{name: "projects/…/models/{model}/operations/{id}"}`;
 * - `POST …/models/{model}:fetchPredictOperation {operationName}` → `{name}` while running, then
 *   `{name, done: true, response: {"@type", videos: [{bytesBase64Encoded | gcsUri, mimeType}]}}`
 *   (a gcsUri under the create's `storageUri`, else inline bytes), `error` (google.rpc.Status), or
 *   `raiMediaFilteredCount`/`raiMediaFilteredReasons` when the RAI filters kept the video back;
 * - `GET /storage/v1/b/{bucket}/o/{object}?alt=media` — the Cloud Storage JSON API, with the same
 *   token; objects are deleted after `objectTtlMs` (a bucket lifecycle rule; settable) → 404.
 * Errors use Google's envelope `{error: {code, message, status}}`. Validation follows the Veo
 * model reference for Veo 3.x: aspectRatio 16:9|9:16, resolution 720p|1080p, durationSeconds
 * 4|6|8 (a number), generateAudio a boolean (required for Veo 3), seed an integer 0–4294967295,
 * sampleCount 1–4, storageUri gs://, images `{bytesBase64Encoded | gcsUri, mimeType}`, a last frame
 * only with a first frame, ≤ 3 asset references. No cancel route (the reference documents none).
 *
 * Sources: https://cloud.google.com/vertex-ai/generative-ai/docs/model-reference/veo-video-generation,
 * https://developers.google.com/identity/protocols/oauth2/service-account,
 * https://cloud.google.com/storage/docs/json_api/v1/objects/get, googleapis/js-genai
 * `_models_converters.ts` (Vertex branch), BerriAI/litellm `litellm/llms/vertex_ai/videos/`,
 * QuantumNous/new-api `relay/channel/task/vertex/`.
 */
import { createPublicKey, generateKeyPairSync, type KeyObject, randomBytes, verify } from "node:crypto";
import { readFile } from "node:fs/promises";
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
import { googleError, MODERATION_MESSAGE } from "./gemini.js";

export { MODERATION_MESSAGE };

/** Scripted refusals in Google's envelope, for `core.fault(route, …)`. */
export function vertexFault(
  kind: "quota" | "overloaded" | "internal" | "invalid" | "moderation" | "denied",
): Fault {
  const [status, message] = {
    quota: [
      "RESOURCE_EXHAUSTED",
      "Quota exceeded for aiplatform.googleapis.com/online_prediction_requests_per_base_model with base model: veo-3.1-generate-preview.",
    ],
    overloaded: ["UNAVAILABLE", "The service is currently unavailable."],
    internal: ["INTERNAL", "Internal error encountered."],
    invalid: ["INVALID_ARGUMENT", "Request contains an invalid argument."],
    moderation: ["INVALID_ARGUMENT", MODERATION_MESSAGE],
    denied: ["PERMISSION_DENIED", "Permission 'aiplatform.endpoints.predict' denied on resource."],
  }[kind] as [string, string];
  const body = googleError(status, message);
  return { kind: "status", status: body.error.code, body: JSON.stringify(body) };
}

/** A fresh service-account key JSON for tests (a new RSA key pair). */
export function testServiceAccountKey(tokenUri = "https://oauth2.googleapis.com/token"): string {
  const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  return JSON.stringify({
    type: "service_account",
    project_id: "reelay-test",
    client_email: "reelay@reelay-test.iam.gserviceaccount.com",
    private_key: privateKey.export({ type: "pkcs8", format: "pem" }).toString(),
    token_uri: tokenUri,
  });
}

export interface VertexEmulator extends RunningEmulator {
  /** Each create body as received, with the path's project, location and model. */
  readonly creates: { project: string; location: string; model: string; body: Record<string, unknown> }[];
  /** Assertions verified at /token (their claims). */
  readonly assertions: Record<string, unknown>[];
  /** The service-account key JSON whose public key verifies assertions. */
  readonly keyJson: string;
  setTokenTtl(seconds: number): void;
  /** Cloud Storage objects older than `ms` are gone from now on (404). */
  setObjectTtl(ms: number): void;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => !!v && typeof v === "object" && !Array.isArray(v);
const PARAMS = new Set([
  "aspectRatio",
  "resolution",
  "durationSeconds",
  "negativePrompt",
  "seed",
  "generateAudio",
  "sampleCount",
  "storageUri",
  "personGeneration",
  "enhancePrompt",
  "compressionQuality",
]);

function badImage(v: unknown, field: string): string | null {
  if (!isObj(v)) return `Invalid value at '${field}': expected an Image object.`;
  const b64 = v.bytesBase64Encoded;
  const gcs = v.gcsUri;
  if ((b64 === undefined) === (gcs === undefined))
    return `Invalid value at '${field}': exactly one of bytesBase64Encoded and gcsUri is required.`;
  if (b64 !== undefined && (typeof b64 !== "string" || !/^[A-Za-z0-9+/]+={0,2}$/.test(b64)))
    return `Invalid value at '${field}.bytes_base64_encoded': expected base64 bytes.`;
  if (gcs !== undefined && (typeof gcs !== "string" || !gcs.startsWith("gs://")))
    return `Invalid value at '${field}.gcs_uri': expected a gs:// URI.`;
  if (typeof v.mimeType !== "string" || !/^image\/(png|jpeg)$/.test(v.mimeType))
    return `Invalid value at '${field}.mime_type': expected image/png or image/jpeg.`;
  return null;
}

/** The size and length a valid body asks for, or why it is invalid (INVALID_ARGUMENT). */
export function checkVertexBody(
  body: unknown,
): { ok: true; width: number; height: number; seconds: number } | { ok: false; message: string } {
  const bad = (message: string) => ({ ok: false as const, message });
  if (!isObj(body)) return bad("Invalid JSON payload received.");
  const instances = body.instances;
  if (!Array.isArray(instances) || instances.length !== 1 || !isObj(instances[0]))
    return bad("Invalid value at 'instances': exactly one instance is required.");
  const inst = instances[0];
  for (const k of Object.keys(inst))
    if (!["prompt", "image", "lastFrame", "referenceImages", "video", "mask"].includes(k))
      return bad(`Invalid JSON payload received. Unknown name "${k}" at 'instances[0]': Cannot find field.`);
  if (typeof inst.prompt !== "string" || inst.prompt.trim() === "")
    return bad("Invalid value at 'instances[0].prompt': a non-empty string is required.");
  for (const f of ["image", "lastFrame"] as const) {
    if (inst[f] === undefined) continue;
    const why = badImage(inst[f], `instances[0].${f}`);
    if (why) return bad(why);
  }
  if (inst.lastFrame !== undefined && inst.image === undefined) return bad("lastFrame requires image.");
  const refs = inst.referenceImages;
  if (refs !== undefined) {
    if (!Array.isArray(refs) || refs.length === 0 || refs.length > 3)
      return bad("Invalid value at 'instances[0].reference_images': 1 to 3 asset images are supported.");
    for (const [i, r] of refs.entries()) {
      if (!isObj(r)) return bad(`Invalid value at 'instances[0].reference_images[${i}]'.`);
      const why = badImage(r.image, `instances[0].reference_images[${i}].image`);
      if (why) return bad(why);
      if (r.referenceType !== "asset" && r.referenceType !== "style")
        return bad(`Invalid value at 'instances[0].reference_images[${i}].reference_type'.`);
    }
  }
  const p = body.parameters;
  if (!isObj(p)) return bad("Invalid value at 'parameters'.");
  for (const k of Object.keys(p))
    if (!PARAMS.has(k)) return bad(`Invalid JSON payload received. Unknown name "${k}" at 'parameters'.`);
  const aspect = p.aspectRatio ?? "16:9";
  if (aspect !== "16:9" && aspect !== "9:16")
    return bad(
      `Invalid value at 'parameters.aspect_ratio' (${JSON.stringify(aspect)}): supported values are "16:9" and "9:16".`,
    );
  const resolution = p.resolution ?? "720p";
  if (resolution !== "720p" && resolution !== "1080p")
    return bad(`Invalid value at 'parameters.resolution' (${JSON.stringify(resolution)}).`);
  const seconds = p.durationSeconds ?? 8;
  if (typeof seconds !== "number" || ![4, 6, 8].includes(seconds))
    return bad(
      `Invalid value at 'parameters.duration_seconds' (${JSON.stringify(seconds)}): supported values are 4, 6 and 8.`,
    );
  if (typeof p.generateAudio !== "boolean")
    return bad("generateAudio is required for Veo 3 models and must be a boolean.");
  if (
    p.seed !== undefined &&
    (typeof p.seed !== "number" || !Number.isInteger(p.seed) || p.seed < 0 || p.seed > 4294967295)
  )
    return bad("Invalid value at 'parameters.seed': an integer 0-4294967295 is required.");
  if (
    p.sampleCount !== undefined &&
    (typeof p.sampleCount !== "number" || p.sampleCount < 1 || p.sampleCount > 4)
  )
    return bad("Invalid value at 'parameters.sample_count': 1 to 4.");
  if (p.negativePrompt !== undefined && typeof p.negativePrompt !== "string")
    return bad("Invalid value at 'parameters.negative_prompt': a string is required.");
  if (
    p.storageUri !== undefined &&
    (typeof p.storageUri !== "string" || !/^gs:\/\/[^/]+\//.test(p.storageUri))
  )
    return bad("Invalid value at 'parameters.storage_uri': a gs://bucket/prefix/ URI is required.");
  if (
    p.personGeneration !== undefined &&
    !["allow_adult", "dont_allow", "allow_all"].includes(String(p.personGeneration))
  )
    return bad("Invalid value at 'parameters.person_generation'.");
  const [long, short] = resolution === "1080p" ? [1920, 1080] : [1280, 720];
  return aspect === "16:9"
    ? { ok: true, width: long, height: short, seconds }
    : { ok: true, width: short, height: long, seconds };
}

const b64json = (s: string): Obj | null => {
  try {
    const v: unknown = JSON.parse(Buffer.from(s, "base64url").toString("utf8"));
    return isObj(v) ? v : null;
  } catch {
    return null;
  }
};

export async function startVertex(opts: {
  /** The service-account key JSON (its private key's public half verifies assertions); else one is made. */
  secret: string;
  port?: number;
  tokenTtlS?: number;
  objectTtlMs?: number;
}): Promise<VertexEmulator> {
  let keyJson = opts.secret;
  let parsed: Obj = {};
  try {
    const v: unknown = JSON.parse(keyJson);
    if (isObj(v)) parsed = v;
  } catch {
    keyJson = testServiceAccountKey();
    parsed = JSON.parse(keyJson) as Obj;
  }
  const publicKey: KeyObject = createPublicKey(String(parsed.private_key));
  const clientEmail = String(parsed.client_email);
  const core = new EmulatorCore(keyJson);
  const creates: VertexEmulator["creates"] = [];
  const assertions: Obj[] = [];
  let tokenTtlS = opts.tokenTtlS ?? 3599;
  let objectTtlMs = opts.objectTtlMs ?? 30 * 24 * 3600_000;
  const tokens = new Map<string, number>();
  /** Object path "bucket/name" → its task and when it was written. */
  const objects = new Map<string, { task: EmulatedTask; at: number }>();
  let origin = "";

  const nameOf = (t: EmulatedTask) => {
    const i = t.input;
    return `projects/${String(i.project)}/locations/${String(i.location)}/publishers/google/models/${String(i.model)}/operations/${t.id}`;
  };

  const view = async (t: EmulatedTask): Promise<Obj> => {
    const { phase } = core.phaseOf(t);
    const op: Obj = { name: nameOf(t) };
    if (phase === "queued" || phase === "running") {
      const odd = core.runningStatus(t, "__own__");
      if (odd !== "__own__" && odd !== undefined) op.done = odd;
      return op;
    }
    op.done = true;
    const b = t.behaviour;
    const type = "type.googleapis.com/cloud.ai.large_models.vision.GenerateVideoResponse";
    if (phase === "completed") {
      const storageUri = isObj(t.input.parameters) ? t.input.parameters.storageUri : undefined;
      if (typeof storageUri === "string") {
        const uri = `${storageUri.endsWith("/") ? storageUri : `${storageUri}/`}${t.id}/sample_0.mp4`;
        const path = uri.slice("gs://".length);
        if (!objects.has(path)) objects.set(path, { task: t, at: Date.now() });
        op.response = { "@type": type, videos: [{ gcsUri: uri, mimeType: "video/mp4" }] };
      } else {
        const bytes = await readFile(await core.video(t));
        op.response = {
          "@type": type,
          videos: [{ bytesBase64Encoded: bytes.toString("base64"), mimeType: "video/mp4" }],
        };
      }
      return op;
    }
    if (b.failCode === "RAI_MEDIA_FILTERED") {
      op.response = {
        "@type": type,
        raiMediaFilteredCount: 1,
        raiMediaFilteredReasons: [
          b.failMessage ??
            "Unable to show generated videos. All videos were filtered out because they violated Vertex AI's usage guidelines. Support codes: 58061214",
        ],
      };
      return op;
    }
    const RPC: Record<string, number> = {
      INVALID_ARGUMENT: 3,
      DEADLINE_EXCEEDED: 4,
      RESOURCE_EXHAUSTED: 8,
      INTERNAL: 13,
    };
    const status = phase === "expired" ? "DEADLINE_EXCEEDED" : (b.failCode ?? "INTERNAL");
    op.error = {
      code: RPC[status] ?? 13,
      message: b.failMessage ?? "Video generation failed due to an internal error.",
    };
    return op;
  };

  const unauthenticated = (detail: string) =>
    googleError(
      "UNAUTHENTICATED",
      `Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential. ${detail}`,
    );

  /** The token of `Authorization: Bearer …`, or why it is refused. */
  const checkToken = (auth: string | undefined): string | null => {
    const m = /^Bearer (\S+)$/.exec(auth ?? "");
    if (!m?.[1]) return "No bearer token.";
    const exp = tokens.get(m[1]);
    if (exp === undefined) return "Unknown token.";
    if (Date.now() >= exp) return "The access token has expired.";
    return null;
  };

  const verifyAssertion = (assertion: string): string | null => {
    const [h, c, s] = assertion.split(".");
    if (!h || !c || !s) return "Invalid JWT: not three segments.";
    const header = b64json(h);
    const claims = b64json(c);
    if (!header || !claims) return "Invalid JWT: undecodable segments.";
    if (header.alg !== "RS256") return "Invalid JWT: alg must be RS256.";
    if (!verify("RSA-SHA256", Buffer.from(`${h}.${c}`), publicKey, Buffer.from(s, "base64url")))
      return "Invalid JWT Signature.";
    if (claims.iss !== clientEmail) return "Invalid JWT: iss is not the service account.";
    if (claims.aud !== `${origin}/token`) return "Invalid JWT: aud must be the token endpoint.";
    if (
      typeof claims.scope !== "string" ||
      !claims.scope.split(" ").includes("https://www.googleapis.com/auth/cloud-platform")
    )
      return "Invalid JWT: scope lacks cloud-platform.";
    const now = Math.floor(Date.now() / 1000);
    if (typeof claims.iat !== "number" || typeof claims.exp !== "number")
      return "Invalid JWT: iat and exp are required.";
    if (claims.exp - claims.iat > 3600) return "Invalid JWT: exp is more than an hour after iat.";
    if (claims.exp <= now || claims.iat > now + 300)
      return "Invalid JWT: Token must be a short-lived token and in a reasonable timeframe.";
    assertions.push(claims);
    return null;
  };

  const running = await listen(
    core,
    async (req, res, url) => {
      const model =
        /^\/v1\/projects\/([^/]+)\/locations\/([^/]+)\/publishers\/google\/models\/([^/:]+):(predictLongRunning|fetchPredictOperation)$/.exec(
          url.pathname,
        );
      const obj = /^\/storage\/v1\/b\/([^/]+)\/o\/([^/]+)$/.exec(url.pathname);
      const route =
        url.pathname === "/token"
          ? "token"
          : model
            ? model[4] === "predictLongRunning"
              ? "create"
              : "query"
            : obj
              ? "content"
              : "other";
      core.log(route, req);
      if (await applyFault(core.takeFault(route), req, res)) return;
      if (route === "token" && req.method === "POST") {
        const form = new URLSearchParams((await readBody(req)).toString("utf8"));
        if (form.get("grant_type") !== "urn:ietf:params:oauth:grant-type:jwt-bearer")
          return sendJson(res, 400, {
            error: "unsupported_grant_type",
            error_description: "Invalid grant_type.",
          });
        const why = verifyAssertion(form.get("assertion") ?? "");
        if (why) return sendJson(res, 400, { error: "invalid_grant", error_description: why });
        const token = `ya29.${randomBytes(24).toString("base64url")}`;
        tokens.set(token, Date.now() + tokenTtlS * 1000);
        return sendJson(res, 200, { access_token: token, expires_in: tokenTtlS, token_type: "Bearer" });
      }
      if (route === "other")
        return sendJson(
          res,
          404,
          googleError("NOT_FOUND", `Method not found: ${req.method} ${url.pathname}`),
        );
      const refused = checkToken(req.headers.authorization);
      if (refused) return sendJson(res, 401, unauthenticated(refused));
      if (model && req.method === "POST") {
        const [, project = "", location = "", name = ""] = model;
        let body: unknown;
        try {
          body = JSON.parse((await readBody(req)).toString("utf8"));
        } catch {
          return sendJson(res, 400, googleError("INVALID_ARGUMENT", "Invalid JSON payload received."));
        }
        const m = decodeURIComponent(name);
        if (!/^veo-/.test(m))
          return sendJson(
            res,
            404,
            googleError(
              "NOT_FOUND",
              `Publisher Model \`projects/${project}/locations/${location}/publishers/google/models/${m}\` was not found.`,
            ),
          );
        if (route === "create") {
          creates.push({ project, location, model: m, body: body as Obj });
          const checked = checkVertexBody(body);
          if (!checked.ok) return sendJson(res, 400, googleError("INVALID_ARGUMENT", checked.message));
          const t = core.newTask("", { ...(body as Obj), project, location, model: m }, checked, null);
          return sendJson(res, 200, { name: nameOf(t) });
        }
        const opName = isObj(body) ? body.operationName : undefined;
        if (typeof opName !== "string")
          return sendJson(res, 400, googleError("INVALID_ARGUMENT", "operationName is required."));
        const t = core.tasks.get(opName.split("/").pop() ?? "");
        if (!t || nameOf(t) !== opName)
          return sendJson(res, 404, googleError("NOT_FOUND", `Operation ${opName} not found.`));
        return sendJson(res, 200, await view(t));
      }
      if (obj && req.method === "GET") {
        const path = `${decodeURIComponent(obj[1] ?? "")}/${decodeURIComponent(obj[2] ?? "")}`;
        const o = objects.get(path);
        if (!o || Date.now() - o.at >= objectTtlMs || url.searchParams.get("alt") !== "media")
          return sendJson(res, 404, {
            error: { code: 404, message: `No such object: ${path}`, errors: [{ reason: "notFound" }] },
          });
        return sendFile(res, await core.video(o.task), "video/mp4");
      }
      return sendJson(res, 405, googleError("INVALID_ARGUMENT", `Method ${req.method} not allowed.`));
    },
    opts.port,
  );
  origin = running.url;
  return {
    ...running,
    creates,
    assertions,
    keyJson,
    setTokenTtl(s) {
      tokenTtlS = s;
    },
    setObjectTtl(ms) {
      objectTtlMs = ms;
    },
  };
}
