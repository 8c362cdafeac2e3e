/**
 * An emulated Seedance API on Volcengine Ark / BytePlus ModelArk, as the provider documents it:
 * `POST /api/v3/contents/generations/tasks` (Bearer API key; `{model, content:[{type:"text",text},
 * {type:"image_url",image_url:{url},role}], ratio, resolution, duration, seed, watermark, …}` → `{id}`),
 * `GET /api/v3/contents/generations/tasks/{id}` (`status` queued|running|succeeded|failed|cancelled|
 * expired, `content.video_url`, `usage.completion_tokens`/`total_tokens`, `error:{code,message}`),
 * `DELETE …/tasks/{id}` (cancels a queued task; deletes a finished task's record; refused while
 * running or once cancelled). Errors use Ark's envelope `{error:{code,message,param,type}}` with the
 * documented HTTP statuses. Result links are signed and expire (24 h upstream; `linkTtlMs` here).
 *
 * Sources: https://docs.byteplus.com/en/docs/ModelArk/1520757 (create/query fields, the
 * resolution × ratio pixel table, durations per model, image roles and their exclusivity),
 * https://docs.byteplus.com/en/docs/ModelArk/1299023 (error codes, types and HTTP statuses), the
 * DELETE semantics as the provider's API reference states them (mirrored at docs.powertokens.ai
 * zmodelVideo/byteplus/seedance/cancel-delete-video-task); QuantumNous/new-api
 * relay/channel/task/doubao/adaptor.go (task JSON). The not-found code (`ResourceNotFound`) and
 * the refusal of a DELETE on a running task (`OperationDenied.InvalidState`, HTTP 400) are not in
 * the documents' tables: taken from Ark's general error list, as the closest documented codes.
 */
import { createHmac, randomBytes } from "node:crypto";
import type { ServerResponse } from "node:http";
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

const TASKS = "/api/v3/contents/generations/tasks";

/** Width × height by resolution and ratio: Seedance 1.0 series, and 1.5 pro / 2.0 series. */
const PIXELS_1_0: Record<string, Record<string, [number, number]>> = {
  "480p": {
    "16:9": [864, 480],
    "4:3": [736, 544],
    "1:1": [640, 640],
    "3:4": [544, 736],
    "9:16": [480, 864],
    "21:9": [960, 416],
  },
  "720p": {
    "16:9": [1248, 704],
    "4:3": [1120, 832],
    "1:1": [960, 960],
    "3:4": [832, 1120],
    "9:16": [704, 1248],
    "21:9": [1504, 640],
  },
  "1080p": {
    "16:9": [1920, 1088],
    "4:3": [1664, 1248],
    "1:1": [1440, 1440],
    "3:4": [1248, 1664],
    "9:16": [1088, 1920],
    "21:9": [2176, 928],
  },
};
const PIXELS_NEWER: Record<string, Record<string, [number, number]>> = {
  "480p": {
    "16:9": [864, 496],
    "4:3": [752, 560],
    "1:1": [640, 640],
    "3:4": [560, 752],
    "9:16": [496, 864],
    "21:9": [992, 432],
  },
  "720p": {
    "16:9": [1280, 720],
    "4:3": [1112, 834],
    "1:1": [960, 960],
    "3:4": [834, 1112],
    "9:16": [720, 1280],
    "21:9": [1470, 630],
  },
  "1080p": {
    "16:9": [1920, 1080],
    "4:3": [1664, 1248],
    "1:1": [1440, 1440],
    "3:4": [1248, 1664],
    "9:16": [1080, 1920],
    "21:9": [2206, 946],
  },
};

/** The documented HTTP status and error type of an Ark error code. */
export function arkStatusOf(code: string): { status: number; type: string } {
  if (code === "AuthenticationError") return { status: 401, type: "Unauthorized" };
  if (code === "AccessDenied" || code === "AccountOverdueError") return { status: 403, type: "Forbidden" };
  if (code === "ResourceNotFound" || code.startsWith("InvalidEndpointOrModel") || code === "ModelNotOpen")
    return { status: 404, type: "NotFound" };
  if (
    code.startsWith("RateLimitExceeded") ||
    ["QuotaExceeded", "SetLimitExceeded", "ServerOverloaded", "AccountRateLimitExceeded"].includes(code)
  )
    return { status: 429, type: "TooManyRequests" };
  if (code === "InternalServiceError") return { status: 500, type: "InternalServerError" };
  return { status: 400, type: "BadRequest" };
}

const requestId = () => `${Date.now()}${randomBytes(6).toString("hex")}`;

/** Ark's error envelope for `code`. */
export function arkErrorBody(code: string, message: string, param = ""): Record<string, unknown> {
  return {
    error: { code, message: `${message} Request id: ${requestId()}`, param, type: arkStatusOf(code).type },
  };
}

/** A scripted fault that answers with Ark's envelope for `code` at its documented HTTP status. */
export function arkFault(code: string, message = `emulated ${code}`, retryAfterS?: number): Fault {
  return {
    kind: "status",
    status: arkStatusOf(code).status,
    body: JSON.stringify(arkErrorBody(code, message)),
    ...(retryAfterS !== undefined ? { retryAfterS } : {}),
  };
}

interface SeedanceTask extends EmulatedTask {
  readonly body: Record<string, unknown>;
}

export interface SeedanceEmulator extends RunningEmulator {
  /** How long a result link stays valid after the task succeeded (24 h upstream). */
  linkTtlMs: number;
  /** How long a new task stays `queued` (only a queued task can be cancelled). */
  queueMs: number;
  /** The create bodies received, in order (after validation). */
  readonly bodies: Record<string, unknown>[];
}

const RATIOS = ["16:9", "4:3", "1:1", "3:4", "9:16", "21:9", "adaptive"];
const ROLES = ["first_frame", "last_frame", "reference_image"];

/** Validates a create body as the documents state; an error message and its param, or null. */
function invalid(b: Record<string, unknown>): { code: string; param: string; message: string } | null {
  const bad = (param: string, why: string) => ({
    code: "InvalidParameter",
    param,
    message: `The parameter \`${param}\` specified in the request is not valid: ${why}.`,
  });
  if (typeof b.model !== "string" || b.model === "")
    return {
      code: "MissingParameter",
      param: "model",
      message: "The request failed because it is missing `model`.",
    };
  if (!Array.isArray(b.content) || b.content.length === 0)
    return {
      code: "MissingParameter",
      param: "content",
      message: "The request failed because it is missing `content`.",
    };
  const model = b.model;
  const v1 = /seedance-1-0/.test(model);
  const roles: string[] = [];
  for (const [i, raw] of (b.content as unknown[]).entries()) {
    const c = (raw && typeof raw === "object" ? raw : {}) as Record<string, unknown>;
    if (c.type === "text") {
      if (typeof c.text !== "string") return bad(`content[${i}].text`, "must be a string");
    } else if (c.type === "image_url") {
      const u = (c.image_url && typeof c.image_url === "object" ? c.image_url : {}) as Record<
        string,
        unknown
      >;
      if (typeof u.url !== "string" || !/^(https?:\/\/|data:image\/[a-z]+;base64,|asset:\/\/)/.test(u.url))
        return bad(
          `content[${i}].image_url.url`,
          "must be an image URL, a data:image/<format>;base64, URL or an asset ID",
        );
      if (c.role !== undefined && !ROLES.includes(String(c.role)))
        return bad(`content[${i}].role`, `must be one of ${ROLES.join(", ")}`);
      roles.push(typeof c.role === "string" ? c.role : "first_frame");
    } else return bad(`content[${i}].type`, "must be text or image_url");
  }
  const refs = roles.filter((r) => r === "reference_image").length;
  const frames = roles.length - refs;
  if (refs > 0 && frames > 0) return bad("content", "first/last frames and reference images cannot be mixed");
  if (
    roles.filter((r) => r === "first_frame").length > 1 ||
    roles.filter((r) => r === "last_frame").length > 1
  )
    return bad("content", "at most one first_frame and one last_frame");
  if (roles.includes("last_frame") && !roles.includes("first_frame"))
    return bad("content", "last_frame requires a first_frame");
  if (refs > 0 && /seedance-1-0-pro/.test(model))
    return bad("content", "reference images are not supported by this model");
  if (b.ratio !== undefined) {
    if (typeof b.ratio !== "string" || !RATIOS.includes(b.ratio))
      return bad("ratio", `must be one of ${RATIOS.join(", ")}`);
    if (b.ratio === "adaptive" && v1 && roles.length === 0)
      return bad("ratio", "adaptive is supported for image-to-video only by this model");
  }
  if (b.resolution !== undefined && !["480p", "720p", "1080p"].includes(String(b.resolution)))
    return bad("resolution", "must be one of 480p, 720p, 1080p");
  if (b.duration !== undefined) {
    const d = b.duration;
    const [lo, hi] = v1 ? [2, 12] : /seedance-2-0/.test(model) ? [4, 15] : [4, 12];
    if (typeof d !== "number" || !Number.isInteger(d) || ((d < lo || d > hi) && !(d === -1 && !v1)))
      return bad("duration", `must be an integer in [${lo}, ${hi}]`);
  }
  if (
    b.seed !== undefined &&
    (typeof b.seed !== "number" || !Number.isInteger(b.seed) || b.seed < -1 || b.seed > 2 ** 32 - 1)
  )
    return bad("seed", "must be an integer in [-1, 4294967295]");
  for (const k of ["watermark", "camera_fixed", "return_last_frame", "generate_audio"])
    if (b[k] !== undefined && typeof b[k] !== "boolean") return bad(k, "must be a boolean");
  if (b.camera_fixed !== undefined && refs > 0)
    return bad("camera_fixed", "not supported with reference images");
  if (b.callback_url !== undefined && typeof b.callback_url !== "string")
    return bad("callback_url", "must be a string");
  return null;
}

export async function startSeedance(opts: { secret: string; port?: number }): Promise<SeedanceEmulator> {
  const core = new EmulatorCore(opts.secret);
  const signingKey = randomBytes(16).toString("hex");
  const bodies: Record<string, unknown>[] = [];
  const deleted = new Set<string>();
  let base = "";
  const sign = (id: string, expires: number) =>
    createHmac("sha256", signingKey).update(`${id}:${expires}`).digest("hex").slice(0, 32);

  /** The core's phase, with the task held in the queue for `queueMs` after its creation. */
  const phaseOf = (t: SeedanceTask, countPoll = true) => {
    const { phase } = core.phaseOf(t, countPoll);
    return phase === "running" && Date.now() - t.createdAt < api.queueMs ? "queued" : phase;
  };
  const view = (t: SeedanceTask, countPoll = true) => {
    const phase = phaseOf(t, countPoll);
    const status = t.cancelled
      ? "cancelled"
      : phase === "completed"
        ? "succeeded"
        : phase === "running" || phase === "queued"
          ? phase
          : phase;
    const shown = phase === "queued" || phase === "running" ? core.runningStatus(t, status) : status;
    const doneAt = t.createdAt + t.behaviour.runMs;
    const tokens = Math.round((t.width * t.height * 24 * t.seconds) / 1024);
    const v: Record<string, unknown> = {
      id: t.id,
      model: t.body.model,
      error: null,
      created_at: Math.floor(t.createdAt / 1000),
      updated_at: Math.floor((phase === "queued" || phase === "running" ? Date.now() : doneAt) / 1000),
      seed: typeof t.body.seed === "number" && t.body.seed >= 0 ? t.body.seed : 11,
      resolution: t.body.resolution ?? "1080p",
      ratio: t.body.ratio ?? "16:9",
      duration: t.seconds,
      framespersecond: 24,
    };
    if (shown !== undefined) v.status = shown;
    if (phase === "completed") {
      const expires = doneAt + api.linkTtlMs;
      v.content = {
        video_url: `${t.behaviour.resultOrigin ?? base}/tos/${encodeURIComponent(t.id)}.mp4?X-Tos-Expires=${expires}&X-Tos-Signature=${sign(t.id, expires)}`,
      };
      v.usage = { completion_tokens: tokens, total_tokens: tokens };
    }
    if (phase === "failed" && !t.cancelled)
      v.error = {
        code: t.behaviour.failCode ?? "InternalServiceError",
        message: t.behaviour.failMessage ?? "The service encountered an unexpected internal error.",
      };
    if (phase === "expired") v.status = "expired";
    return v;
  };

  const deny = (res: ServerResponse, code: string, message: string) =>
    sendJson(res, 403, { error: { code, message } });

  const running = await listen(
    core,
    async (req, res, url) => {
      const m = new RegExp(`^${TASKS}(?:/([^/]+))?$`).exec(url.pathname);
      const file = /^\/tos\/([^/]+)\.mp4$/.exec(url.pathname);
      const route = file
        ? "content"
        : !m
          ? "other"
          : !m[1]
            ? "create"
            : req.method === "DELETE"
              ? "cancel"
              : "query";
      core.log(route, req);
      if (await applyFault(core.takeFault(route), req, res)) return;
      if (route === "content" && file) {
        // A signed link: the signature is its credential; it stops working when it expires.
        const id = decodeURIComponent(file[1] ?? "");
        const expires = Number(url.searchParams.get("X-Tos-Expires"));
        const t = core.tasks.get(id) as SeedanceTask | undefined;
        if (!t || url.searchParams.get("X-Tos-Signature") !== sign(id, expires))
          return deny(res, "SignatureDoesNotMatch", "The request signature we calculated does not match");
        if (!(Date.now() < expires)) return deny(res, "AccessDenied", "Request has expired");
        return sendFile(res, await core.video(t), "video/mp4");
      }
      if (!core.authorised(req))
        return sendJson(
          res,
          401,
          arkErrorBody("AuthenticationError", "The API key or AK/SK in the request is missing or invalid."),
        );
      if (route === "other")
        return sendJson(res, 404, arkErrorBody("ResourceNotFound", "The specified resource is not found."));
      if (route === "create") {
        if (req.method !== "POST")
          return sendJson(res, 404, arkErrorBody("ResourceNotFound", "The specified resource is not found."));
        let body: Record<string, unknown>;
        try {
          const parsed: unknown = JSON.parse((await readBody(req)).toString("utf8"));
          if (!parsed || typeof parsed !== "object" || Array.isArray(parsed))
            throw new Error("not an object");
          body = parsed as Record<string, unknown>;
        } catch {
          return sendJson(res, 400, arkErrorBody("InvalidParameter", "The request body is not valid JSON."));
        }
        const wrong = invalid(body);
        if (wrong) return sendJson(res, 400, arkErrorBody(wrong.code, wrong.message, wrong.param));
        bodies.push(body);
        const model = String(body.model);
        const resolution = String(body.resolution ?? (/seedance-1-0-pro/.test(model) ? "1080p" : "720p"));
        const ratio = typeof body.ratio === "string" && body.ratio !== "adaptive" ? body.ratio : "16:9";
        const table = /seedance-1-0/.test(model) ? PIXELS_1_0 : PIXELS_NEWER;
        const [width, height] = table[resolution]?.[ratio] ?? [1920, 1088];
        const seconds = typeof body.duration === "number" && body.duration > 0 ? body.duration : 5;
        const t = core.newTask(
          "cgt-",
          { prompt: body.content, model },
          { width, height, seconds },
          null,
        ) as SeedanceTask;
        Object.assign(t, { body });
        // Ark posts the task, as a query shows it, to `callback_url` when it ends (unsigned).
        if (typeof body.callback_url === "string")
          core.callbackAtEnd(t, body.callback_url, () => ({ body: view(t, false) }));
        return sendJson(res, 200, { id: t.id });
      }
      const id = decodeURIComponent(m?.[1] ?? "");
      const t = core.tasks.get(id) as SeedanceTask | undefined;
      if (!t || deleted.has(id))
        return sendJson(res, 404, arkErrorBody("ResourceNotFound", `The specified task ${id} is not found.`));
      if (route === "query") return sendJson(res, 200, view(t));
      // DELETE: a queued task is cancelled; a finished one's record is deleted; others are refused.
      const phase = phaseOf(t, false);
      if (t.cancelled || phase === "running")
        return sendJson(
          res,
          400,
          arkErrorBody(
            "OperationDenied.InvalidState",
            `The task in status ${t.cancelled ? "cancelled" : "running"} cannot be deleted.`,
          ),
        );
      if (phase === "queued") t.cancelled = true;
      else deleted.add(id);
      return sendJson(res, 200, {});
    },
    opts.port,
  );
  base = running.url;
  const api: SeedanceEmulator = { ...running, linkTtlMs: 24 * 3600 * 1000, queueMs: 200, bodies };
  return api;
}
