/**
 * An emulated fal.ai queue API (`queue.fal.run`), as fal documents it:
 * - `POST /{endpoint id}` (`Authorization: Key <key>`) with the model's JSON input → `{request_id,
 *   response_url, status_url, cancel_url, queue_position}`; the URLs name the app (`owner/alias`),
 *   not the endpoint's subpath;
 * - `GET /{owner}/{alias}/requests/{id}/status[?logs=1]` → `{status: IN_QUEUE | IN_PROGRESS |
 *   COMPLETED, queue_position?, response_url, logs?, metrics?}`;
 * - `GET /{owner}/{alias}/requests/{id}` → the output `{video: {url, content_type, file_name,
 *   file_size}}`; before completion 400 `{detail: "Request is still in progress"}`; for a failed
 *   request its error: a model error `422 {detail: [{loc, msg, type}]}` (`content_policy_violation`
 *   by default; any `failCode` that is not a request error type) or a request error `{detail,
 *   error_type}` with `X-Fal-Error-Type` (`request_timeout` 504, `runner_*` 503);
 * - `PUT /{owner}/{alias}/requests/{id}/cancel` → 202 `{status: CANCELLATION_REQUESTED}`, 400
 *   `{status: ALREADY_COMPLETED}`, 404 `{status: NOT_FOUND}`.
 * A missing or wrong key: 401 `{detail}`. Inputs are checked against each model's documented
 * schema (types, enums, required fields; unknown fields are ignored, as fal's models do): a bad one
 * is `422 {detail: [{loc: ["body", field], msg, type}]}` (pydantic's words: missing, string_type,
 * int_type, literal_error). Quota and overload are scripted with `falError` (403 "User is locked.
 * Reason: Exhausted balance…", 429). Results are on a "CDN" at another origin
 * (`http://localhost:<port>`, the emulator itself under another host name) behind signed links
 * that expire (TTL settable; fal does not state its CDN links' lifetime: 1 hour by default here).
 * Output sizes: the asked aspect ratio at the asked resolution (Kling 2.1: 1080p); from a first
 * frame the image's aspect (a PNG data URI's; 16:9 otherwise, the emulator fetches nothing).
 *
 * Webhooks: `?fal_webhook=<url>` on a submit makes fal post `{request_id, gateway_request_id,
 * status: OK | ERROR, payload, error?}` there when the request ends, signed with ED25519:
 * `X-Fal-Webhook-Request-Id`, `-User-Id`, `-Timestamp` (unix s), `-Signature` (hex, over
 * `request id \n user id \n timestamp \n sha256 hex of the body`); the public keys are a JWKS at
 * `/.well-known/jwks.json` (fal's is https://rest.alpha.fal.ai/.well-known/jwks.json).
 *
 * Sources: https://docs.fal.ai/model-apis/model-endpoints/queue, …/webhooks, https://fal.ai/docs/inference-api/
 * queue/cancel, https://docs.fal.ai/documentation/model-apis/errors, …/request-errors; fal-ai/fal
 * issues #1112/#1147 (403 locked account); the models' pages fal.ai/models/<id>/llms.txt
 * (kling-video/v2.1/master text-to-video and image-to-video, kling-video/v2.1/pro/image-to-video,
 * wan-25-preview text-to-video and image-to-video).
 */
import { createHash, createHmac, generateKeyPairSync, type KeyObject, sign as signBytes } from "node:crypto";
import { stat } from "node:fs/promises";
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

type FieldType = "string" | "integer" | "number" | "boolean" | "image";
interface FieldSpec {
  readonly type: FieldType;
  readonly required?: boolean;
  readonly options?: readonly string[];
}
interface ModelSpec {
  readonly fields: Readonly<Record<string, FieldSpec>>;
  /** The resolution it makes when the input names none. */
  readonly resolution: string;
}

const DURATION: FieldSpec = { type: "string", options: ["5", "10"] };
const ASPECT: FieldSpec = { type: "string", options: ["16:9", "9:16", "1:1"] };
const WAN_RESOLUTION: FieldSpec = { type: "string", options: ["480p", "720p", "1080p"] };

/** The endpoints the emulator serves, with their documented inputs. */
const MODELS: Record<string, ModelSpec> = {
  "fal-ai/kling-video/v2.1/master/text-to-video": {
    resolution: "1080p",
    fields: {
      prompt: { type: "string", required: true },
      duration: DURATION,
      aspect_ratio: ASPECT,
      negative_prompt: { type: "string" },
      cfg_scale: { type: "number" },
    },
  },
  "fal-ai/kling-video/v2.1/master/image-to-video": {
    resolution: "1080p",
    fields: {
      prompt: { type: "string", required: true },
      image_url: { type: "image", required: true },
      duration: DURATION,
      negative_prompt: { type: "string" },
      cfg_scale: { type: "number" },
    },
  },
  "fal-ai/kling-video/v2.1/pro/image-to-video": {
    resolution: "1080p",
    fields: {
      prompt: { type: "string", required: true },
      image_url: { type: "image", required: true },
      tail_image_url: { type: "image" },
      duration: DURATION,
      negative_prompt: { type: "string" },
      cfg_scale: { type: "number" },
    },
  },
  "fal-ai/wan-25-preview/text-to-video": {
    resolution: "1080p",
    fields: {
      prompt: { type: "string", required: true },
      duration: DURATION,
      aspect_ratio: ASPECT,
      resolution: WAN_RESOLUTION,
      negative_prompt: { type: "string" },
      seed: { type: "integer" },
      enable_prompt_expansion: { type: "boolean" },
      audio_url: { type: "string" },
    },
  },
  "fal-ai/wan-25-preview/image-to-video": {
    resolution: "1080p",
    fields: {
      prompt: { type: "string", required: true },
      image_url: { type: "image", required: true },
      duration: DURATION,
      resolution: WAN_RESOLUTION,
      negative_prompt: { type: "string" },
      seed: { type: "integer" },
      enable_prompt_expansion: { type: "boolean" },
      audio_url: { type: "string" },
    },
  },
};

/** Short side by resolution word; Wan's 480p is 832×480. */
const LANDSCAPE: Record<string, [number, number]> = {
  "480p": [832, 480],
  "720p": [1280, 720],
  "1080p": [1920, 1080],
};

/** Request error types (fal's infrastructure failures) and their HTTP statuses. */
const REQUEST_ERRORS: Record<string, number> = {
  request_timeout: 504,
  startup_timeout: 504,
  runner_scheduling_failure: 503,
  runner_connection_timeout: 503,
  runner_disconnected: 503,
  runner_server_error: 500,
};

/** A fal error answer as a scripted fault for a route (`falError(403, "User is locked. …")`). */
export function falError(status: number, detail: string, retryAfterS?: number): Fault {
  return {
    kind: "status",
    status,
    body: JSON.stringify({ detail }),
    ...(retryAfterS === undefined ? {} : { retryAfterS }),
  };
}

/** A model error (`422 {detail: [{loc, msg, type}]}`) as a scripted fault. */
export function falModelError(type: string, msg: string, field = "prompt"): Fault {
  return {
    kind: "status",
    status: 422,
    body: JSON.stringify({ detail: [{ loc: ["body", field], msg, type }] }),
  };
}

export interface FalEmulator extends RunningEmulator {
  /** How long a CDN link works after the result answer hands it out. */
  linkTtlMs: number;
  /** The CDN's host (`localhost:<port>`): the one to allow in Reelay's off-origin guard. */
  readonly cdnHost: string;
  /** The key fal's webhooks are signed with (its public half is in the JWKS). */
  readonly webhookKey: KeyObject;
}

/** The user id fal's emulated webhooks carry. */
export const FAL_USER_ID = "emulated-user-1";

/** fal's webhook headers for `body` (signed with `key` at `timestampS`). */
export function signFalWebhook(
  key: KeyObject,
  requestId: string,
  body: string,
  timestampS = Math.floor(Date.now() / 1000),
): Record<string, string> {
  const digest = createHash("sha256").update(body).digest("hex");
  const message = Buffer.from([requestId, FAL_USER_ID, String(timestampS), digest].join("\n"));
  return {
    "x-fal-webhook-request-id": requestId,
    "x-fal-webhook-user-id": FAL_USER_ID,
    "x-fal-webhook-timestamp": String(timestampS),
    "x-fal-webhook-signature": signBytes(null, message, key).toString("hex"),
  };
}

function pngSize(dataUri: string): { width: number; height: number } | null {
  const m = /^data:image\/png;base64,(.+)$/.exec(dataUri);
  if (!m?.[1]) return null;
  const b = Buffer.from(m[1], "base64");
  if (b.length < 24 || b.toString("ascii", 12, 16) !== "IHDR") return null;
  return { width: b.readUInt32BE(16), height: b.readUInt32BE(20) };
}

const even = (n: number) => Math.max(2, Math.round(n / 2) * 2);

interface Problem {
  loc: string[];
  msg: string;
  type: string;
}

/** What is wrong with `body` for `spec`, in pydantic's words, as fal's 422 lists them. */
function problems(spec: ModelSpec, body: Record<string, unknown>): Problem[] {
  const out: Problem[] = [];
  for (const [name, f] of Object.entries(spec.fields)) {
    const v = body[name];
    const loc = ["body", name];
    if (v === undefined || v === null) {
      if (f.required) out.push({ loc, msg: "Field required", type: "missing" });
      continue;
    }
    if ((f.type === "string" || f.type === "image") && typeof v !== "string")
      out.push({ loc, msg: "Input should be a valid string", type: "string_type" });
    else if (f.type === "integer" && !Number.isInteger(v))
      out.push({ loc, msg: "Input should be a valid integer", type: "int_type" });
    else if (f.type === "number" && typeof v !== "number")
      out.push({ loc, msg: "Input should be a valid number", type: "float_type" });
    else if (f.type === "boolean" && typeof v !== "boolean")
      out.push({ loc, msg: "Input should be a valid boolean", type: "bool_type" });
    else if (f.options && !f.options.includes(v as string))
      out.push({
        loc,
        msg: `Input should be ${f.options.map((o) => `'${o}'`).join(", ")}`,
        type: "literal_error",
      });
    else if (f.type === "image" && !/^(https?:\/\/|data:image\/[a-z+.-]+;base64,)/.test(v as string))
      out.push({ loc, msg: "Input should be a valid URL or a base64 data URI", type: "url_parsing" });
  }
  return out;
}

export async function startFal(opts: {
  secret: string;
  port?: number;
  linkTtlMs?: number;
}): Promise<FalEmulator> {
  const core = new EmulatorCore(opts.secret);
  const appOf = new Map<string, string>();
  const webhookKey = generateKeyPairSync("ed25519");
  const jwk = webhookKey.publicKey.export({ format: "jwk" });
  const sign = (id: string, expires: number) =>
    createHmac("sha256", opts.secret).update(`${id}:${expires}`).digest("hex").slice(0, 32);

  let emu: FalEmulator;
  const urls = (appId: string, id: string) => {
    const base = `${emu.url}/${appId}/requests/${id}`;
    return { response_url: base, status_url: `${base}/status`, cancel_url: `${base}/cancel` };
  };

  const statusView = (t: EmulatedTask, appId: string) => {
    const { phase } = core.phaseOf(t);
    const common = { request_id: t.id, ...urls(appId, t.id) };
    if (phase === "queued") {
      const status = core.runningStatus(t, "IN_QUEUE");
      return { ...(status === undefined ? {} : { status }), queue_position: 0, ...common };
    }
    if (phase === "running") {
      const status = core.runningStatus(t, "IN_PROGRESS");
      return { ...(status === undefined ? {} : { status }), ...common, logs: [] };
    }
    return {
      status: "COMPLETED",
      ...common,
      logs: [],
      metrics: { inference_time: (Date.now() - t.createdAt) / 1000 },
    };
  };

  const running = await listen(
    core,
    async (req: IncomingMessage, res, url) => {
      const p = url.pathname;
      const m = /^\/([^/]+)\/([^/]+)\/requests\/([^/]+)(\/status|\/cancel)?$/.exec(p);
      const route = p.startsWith("/files/")
        ? "download"
        : p === "/.well-known/jwks.json"
          ? "jwks"
          : m
            ? m[4] === "/status"
              ? "status"
              : m[4] === "/cancel"
                ? "cancel"
                : "result"
            : "submit";
      core.log(route, req);
      if (await applyFault(core.takeFault(route), req, res)) return;
      if (route === "download") {
        // The CDN: reached under another host name, signed links without the key, dead after expiry.
        const d = /^\/files\/([^/]+)\/output\.mp4$/.exec(p);
        const expires = Number(url.searchParams.get("expires"));
        const t = d?.[1] ? core.tasks.get(d[1]) : undefined;
        const valid = t && d?.[1] && url.searchParams.get("sig") === sign(d[1], expires);
        const host = req.headers.host ?? "";
        if (!t || !valid || Date.now() > expires || host !== emu.cdnHost) {
          res.writeHead(403, { "content-type": "text/plain" });
          res.end(valid && host === emu.cdnHost ? "Forbidden: the link has expired" : "Forbidden");
          return;
        }
        return sendFile(res, await core.video(t), "video/mp4");
      }
      if (route === "jwks")
        return sendJson(res, 200, { keys: [{ ...jwk, kid: "emulated-1", alg: "EdDSA", use: "sig" }] });
      const auth = req.headers.authorization;
      if (auth !== `Key ${opts.secret}`)
        return sendJson(res, 401, {
          detail: auth === undefined ? "Missing authorization header" : "No user found for Key ID and Secret",
        });
      if (route === "submit") {
        if (req.method !== "POST") return sendJson(res, 405, { detail: "Method Not Allowed" });
        const endpoint = p.replace(/^\/+/, "");
        const spec = MODELS[endpoint];
        if (!spec) return sendJson(res, 404, { detail: `Application '${endpoint}' not found` });
        let body: Record<string, unknown>;
        try {
          const parsed: unknown = JSON.parse((await readBody(req)).toString("utf8"));
          if (!parsed || typeof parsed !== "object" || Array.isArray(parsed))
            throw new Error("not an object");
          body = parsed as Record<string, unknown>;
        } catch {
          return sendJson(res, 422, {
            detail: [{ loc: ["body"], msg: "Input should be a valid dictionary", type: "dict_type" }],
          });
        }
        const why = problems(spec, body);
        if (why.length > 0) return sendJson(res, 422, { detail: why });
        const webhook = url.searchParams.get("fal_webhook");
        const resolution = typeof body.resolution === "string" ? body.resolution : spec.resolution;
        const [long, short] = LANDSCAPE[resolution] ?? [1920, 1080];
        const aspect = typeof body.aspect_ratio === "string" ? body.aspect_ratio : "16:9";
        let [width, height] =
          aspect === "9:16" ? [short, long] : aspect === "1:1" ? [short, short] : [long, short];
        const png = typeof body.image_url === "string" ? pngSize(body.image_url) : null;
        if (png && png.width > 0 && png.height > 0)
          [width, height] =
            png.width >= png.height
              ? [even((short * png.width) / png.height), short]
              : [short, even((short * png.height) / png.width)];
        const seconds = Number(typeof body.duration === "string" ? body.duration : "5");
        const t = core.newTask("", body, { width, height, seconds }, null);
        const appId = endpoint.split("/").slice(0, 2).join("/");
        appOf.set(t.id, appId);
        if (webhook)
          core.callbackAtEnd(t, webhook, () => {
            const { phase } = core.phaseOf(t, false);
            const ok = phase === "completed" && !t.cancelled;
            const body = {
              request_id: t.id,
              gateway_request_id: t.id,
              status: ok ? "OK" : "ERROR",
              payload: ok
                ? { video: { url: "(see the response_url)" } }
                : { detail: t.behaviour.failMessage },
              ...(ok ? {} : { error: `Invalid status code: 422` }),
            };
            return { body, headers: signFalWebhook(webhookKey.privateKey, t.id, JSON.stringify(body)) };
          });
        return sendJson(res, 200, { request_id: t.id, ...urls(appId, t.id), queue_position: 0 });
      }
      const appId = m ? `${m[1]}/${m[2]}` : "";
      const t = m?.[3] ? core.tasks.get(m[3]) : undefined;
      if (!t || appOf.get(t.id) !== appId) {
        if (route === "cancel") return sendJson(res, 404, { status: "NOT_FOUND" });
        return sendJson(res, 404, { detail: "Request not found" });
      }
      if (route === "status") {
        if (req.method !== "GET") return sendJson(res, 405, { detail: "Method Not Allowed" });
        return sendJson(res, 200, statusView(t, appId));
      }
      if (route === "cancel") {
        if (req.method !== "PUT") return sendJson(res, 405, { detail: "Method Not Allowed" });
        const { phase } = core.phaseOf(t, false);
        if (phase === "queued" || phase === "running") {
          t.cancelled = true;
          return sendJson(res, 202, { status: "CANCELLATION_REQUESTED" });
        }
        return sendJson(res, 400, { status: "ALREADY_COMPLETED" });
      }
      // The result.
      if (req.method !== "GET") return sendJson(res, 405, { detail: "Method Not Allowed" });
      const { phase } = core.phaseOf(t, false);
      if (phase === "queued" || phase === "running")
        return sendJson(res, 400, { detail: "Request is still in progress" });
      if (t.cancelled) return sendJson(res, 400, { detail: "Request was cancelled" });
      if (phase === "failed" || phase === "expired") {
        const code =
          t.behaviour.failCode ?? (phase === "expired" ? "request_timeout" : "content_policy_violation");
        const requestStatus = REQUEST_ERRORS[code];
        if (requestStatus !== undefined)
          return sendJson(
            res,
            requestStatus,
            { detail: t.behaviour.failMessage ?? "Request timed out", error_type: code },
            { "x-fal-error-type": code },
          );
        return sendJson(res, 422, {
          detail: [
            {
              loc: ["body", "prompt"],
              msg:
                t.behaviour.failMessage ??
                "The content could not be processed because it contained material flagged by a content checker.",
              type: code,
              ...(code === "content_policy_violation"
                ? { url: "https://docs.fal.ai/errors#content_policy_violation" }
                : {}),
            },
          ],
        });
      }
      const expires = Date.now() + emu.linkTtlMs;
      const path = await core.video(t);
      return sendJson(res, 200, {
        video: {
          url: `http://${emu.cdnHost}/files/${t.id}/output.mp4?expires=${expires}&sig=${sign(t.id, expires)}`,
          content_type: "video/mp4",
          file_name: "output.mp4",
          file_size: (await stat(path)).size,
        },
        ...(typeof t.input.seed === "number" ? { seed: t.input.seed } : {}),
      });
    },
    opts.port,
  );
  const port = new URL(running.url).port;
  emu = Object.assign(running, {
    linkTtlMs: opts.linkTtlMs ?? 3600 * 1000,
    cdnHost: `localhost:${port}`,
    webhookKey: webhookKey.privateKey,
  });
  return emu;
}
