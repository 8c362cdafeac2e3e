/**
 * An emulated Alibaba DashScope / Model Studio video-synthesis API (Wan), written from the
 * provider's documents:
 * - https://www.alibabacloud.com/help/en/model-studio/text-to-video-api-reference (wan2.5-t2v-preview:
 *   `parameters.size` from a fixed `W*H` list, `duration` 5|10, `seed`, `watermark`, `prompt_extend`)
 * - https://www.alibabacloud.com/help/en/model-studio/image-to-video-api-reference (wan2.5-i2v-preview:
 *   `input.img_url` URL or `data:{MIME};base64,…`, `parameters.resolution` 480P|720P|1080P)
 * - https://www.alibabacloud.com/help/en/model-studio/manage-asynchronous-tasks (task query, status
 *   words, cancel of PENDING tasks only, 24 h retention)
 * - https://www.alibabacloud.com/help/en/model-studio/developer-reference/error-code (error envelope
 *   `{request_id, code, message}` and its codes per HTTP status)
 * - QuantumNous/new-api relay/channel/task/ali/adaptor.go (a gateway calling the same API).
 *
 * Routes: `POST /api/v1/services/aigc/video-generation/video-synthesis` (needs
 * `X-DashScope-Async: enable`: synchronous calls are refused with 403 AccessDenied, as DashScope
 * does), `GET /api/v1/tasks/{task_id}`, `POST /api/v1/tasks/{task_id}/cancel`, and the result
 * files `GET /oss/{task_id}.mp4?Expires=…&Signature=…` (signed, expiring links like DashScope's
 * OSS ones: 403 `Request has expired` after `resultTtlMs`).
 */
import { createHmac, randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import {
  applyFault,
  type EmulatedTask,
  EmulatorCore,
  listen,
  type RunningEmulator,
  readBody,
  sendFile,
  sendJson,
} from "./common.js";

/** DashScope's HTTP status for each error code its reference lists (what `refuseNext` answers). */
export const DASHSCOPE_ERRORS: Readonly<Record<string, { status: number; message: string }>> = {
  InvalidApiKey: { status: 401, message: "Invalid API-key provided." },
  AccessDenied: { status: 403, message: "Access denied." },
  Arrearage: { status: 400, message: "Access denied, please make sure your account is in good standing." },
  InvalidParameter: {
    status: 400,
    message: "Required parameter(s) missing or invalid, please check the request parameters.",
  },
  DataInspectionFailed: { status: 400, message: "Input data may contain inappropriate content." },
  IPInfringementSuspect: {
    status: 400,
    message: "Input data is suspected of being involved in IP infringement.",
  },
  Throttling: { status: 429, message: "Requests throttling triggered." },
  "Throttling.RateQuota": { status: 429, message: "Requests rate limit exceeded, please try again later." },
  "Throttling.AllocationQuota": {
    status: 429,
    message: "Allocated quota exceeded, please increase your quota limit.",
  },
  InternalError: {
    status: 500,
    message: "An internal error has occured, please try again later or contact service support.",
  },
};

const T2V_MODELS = new Set(["wan2.5-t2v-preview"]);
const I2V_MODELS = new Set(["wan2.5-i2v-preview"]);
const T2V_SIZES = new Set([
  "832*480",
  "480*832",
  "624*624",
  "1280*720",
  "720*1280",
  "960*960",
  "1088*832",
  "832*1088",
  "1920*1080",
  "1080*1920",
  "1440*1440",
  "1632*1248",
  "1248*1632",
]);
/** Image-to-video output by tier for a landscape, portrait or square first frame. */
type Shape = "landscape" | "portrait" | "square";
const I2V_1080P: Record<Shape, [number, number]> = {
  landscape: [1920, 1080],
  portrait: [1080, 1920],
  square: [1440, 1440],
};
const I2V_SIZES: Record<string, Record<Shape, [number, number]>> = {
  "480P": { landscape: [832, 480], portrait: [480, 832], square: [624, 624] },
  "720P": { landscape: [1280, 720], portrait: [720, 1280], square: [960, 960] },
  "1080P": I2V_1080P,
};

export interface DashScopeEmulator extends RunningEmulator {
  /** How long result links stay valid after the task succeeds (DashScope: 24 hours). */
  resultTtlMs: number;
  /** The next `times` creates are refused with `code` in DashScope's envelope and its HTTP status. */
  refuseNext(code: keyof typeof DASHSCOPE_ERRORS, times?: number): void;
  /** The create bodies received, in order (headers checked, JSON parsed). */
  readonly creates: { body: Record<string, unknown>; async: string | null }[];
}

type Json = Record<string, unknown>;
const isObj = (v: unknown): v is Json => !!v && typeof v === "object" && !Array.isArray(v);
const time = (ms: number) => new Date(ms).toISOString().replace("T", " ").replace("Z", "");

/** The pixel size of a PNG data URL (the only image the emulator looks into); null otherwise. */
function pngSize(imgUrl: string): { width: number; height: number } | null {
  const m = /^data:image\/png;base64,(.+)$/.exec(imgUrl);
  if (!m?.[1]) return null;
  const b = Buffer.from(m[1], "base64");
  if (b.length < 24 || b.subarray(1, 4).toString("latin1") !== "PNG") return null;
  return { width: b.readUInt32BE(16), height: b.readUInt32BE(20) };
}
const shapeOf = (s: { width: number; height: number }): Shape =>
  s.width > s.height ? "landscape" : s.height > s.width ? "portrait" : "square";

export async function startDashScope(opts: { secret: string; port?: number }): Promise<DashScopeEmulator> {
  const core = new EmulatorCore(opts.secret);
  const creates: DashScopeEmulator["creates"] = [];
  const signingKey = randomUUID();
  const sign = (id: string, expires: number) =>
    createHmac("sha256", signingKey).update(`${id}:${expires}`).digest("hex").slice(0, 32);
  let origin = "";
  // The object handed out (its resultTtlMs is what tests set); assigned once listening.
  let self: DashScopeEmulator = { resultTtlMs: 24 * 3600 * 1000 } as DashScopeEmulator;

  const error = (res: ServerResponse, status: number, code: string, message: string) =>
    sendJson(res, status, { request_id: randomUUID(), code, message });
  const invalid = (res: ServerResponse, message: string) => error(res, 400, "InvalidParameter", message);

  const emu = {
    resultTtlMs: (24 * 3600 * 1000) as number,
    creates,
    refuseNext(code: keyof typeof DASHSCOPE_ERRORS, times = 1) {
      const e = DASHSCOPE_ERRORS[code];
      if (!e) throw new Error(`no such DashScope error code: ${code}`);
      core.fault(
        "create",
        {
          kind: "status",
          status: e.status,
          body: JSON.stringify({ request_id: randomUUID(), code, message: e.message }),
        },
        times,
      );
    },
  };

  const view = (t: EmulatedTask): Json => {
    const { phase } = core.phaseOf(t);
    const own = t.cancelled
      ? "CANCELED"
      : phase === "queued"
        ? "PENDING"
        : phase === "running"
          ? "RUNNING"
          : phase === "completed"
            ? "SUCCEEDED"
            : phase === "failed"
              ? "FAILED"
              : "UNKNOWN";
    const status = phase === "queued" || phase === "running" ? core.runningStatus(t, own) : own;
    const input = isObj(t.input.input) ? t.input.input : {};
    const output: Json = { task_id: t.id, submit_time: time(t.createdAt) };
    if (status !== undefined) output.task_status = status;
    if (phase !== "queued") output.scheduled_time = time(t.createdAt + 100);
    const endedAt = t.createdAt + t.behaviour.runMs;
    if (own === "SUCCEEDED") {
      const expires = Math.floor((endedAt + self.resultTtlMs) / 1000);
      output.end_time = time(endedAt);
      output.orig_prompt = input.prompt;
      output.actual_prompt = `${String(input.prompt ?? "")} (rewritten)`;
      output.video_url = `${t.behaviour.resultOrigin ?? origin}/oss/${encodeURIComponent(t.id)}.mp4?Expires=${expires}&OSSAccessKeyId=emulator&Signature=${sign(t.id, expires)}`;
      return {
        request_id: randomUUID(),
        output,
        usage: {
          video_duration: t.behaviour.billedSeconds ?? t.seconds,
          video_ratio: `${t.width}*${t.height}`,
          video_count: 1,
        },
      };
    }
    if (own === "FAILED") {
      output.end_time = time(endedAt);
      output.code = t.behaviour.failCode ?? "InternalError.Algo";
      output.message = t.behaviour.failMessage ?? "An internal error occurred during generation.";
    }
    if (own === "UNKNOWN") {
      // Past DashScope's retention, a task reads as UNKNOWN with no other detail.
      return { request_id: randomUUID(), output: { task_id: t.id, task_status: "UNKNOWN" } };
    }
    return { request_id: randomUUID(), output };
  };

  /** Validates a create body the way the API reference states it; null when valid, else the reason. */
  function check(body: Json): { reason: string } | { model: string; i2v: boolean } {
    const model = body.model;
    if (typeof model !== "string" || !model)
      return { reason: 'Required parameter "model" missing from request.' };
    const i2v = I2V_MODELS.has(model);
    if (!i2v && !T2V_MODELS.has(model)) return { reason: `Model not exist: ${model}` };
    if (!isObj(body.input)) return { reason: 'Required parameter "input" missing from request.' };
    const input = body.input;
    if (input.prompt !== undefined && typeof input.prompt !== "string")
      return { reason: "input.prompt must be a string" };
    if (!i2v && (typeof input.prompt !== "string" || !input.prompt))
      return { reason: "input.prompt is required" };
    for (const k of ["negative_prompt", "audio_url"])
      if (input[k] !== undefined && typeof input[k] !== "string")
        return { reason: `input.${k} must be a string` };
    if (i2v) {
      const img = input.img_url;
      if (typeof img !== "string" || !img) return { reason: "input.img_url is required for image-to-video" };
      if (!/^(https?:\/\/|oss:\/\/|data:image\/[a-z]+;base64,)/.test(img))
        return { reason: "input.img_url must be a URL or data:{MIME_type};base64,{base64_data}" };
      // The documented limit on the first frame's sides (checked where the emulator can see them).
      const px = pngSize(img);
      if (px && [px.width, px.height].some((n) => n < 360 || n > 2000))
        return {
          reason: `input.img_url: the image is ${px.width}x${px.height}; width and height must be in [360, 2000]`,
        };
    }
    const p = body.parameters === undefined ? {} : body.parameters;
    if (!isObj(p)) return { reason: "parameters must be an object" };
    if (!i2v && p.size !== undefined && (typeof p.size !== "string" || !T2V_SIZES.has(p.size)))
      return { reason: `parameters.size '${String(p.size)}' is not supported by ${model}` };
    if (
      i2v &&
      p.resolution !== undefined &&
      (typeof p.resolution !== "string" || !(p.resolution in I2V_SIZES))
    )
      return { reason: `parameters.resolution must be one of 480P, 720P, 1080P` };
    if (p.duration !== undefined && (typeof p.duration !== "number" || ![5, 10].includes(p.duration)))
      return { reason: "parameters.duration must be the integer 5 or 10" };
    for (const k of ["prompt_extend", "watermark"])
      if (p[k] !== undefined && typeof p[k] !== "boolean")
        return { reason: `parameters.${k} must be a boolean` };
    if (
      p.seed !== undefined &&
      (typeof p.seed !== "number" || !Number.isInteger(p.seed) || p.seed < 0 || p.seed > 2147483647)
    )
      return { reason: "parameters.seed must be an integer in [0, 2147483647]" };
    return { model, i2v };
  }

  async function create(req: IncomingMessage, res: ServerResponse) {
    const async =
      typeof req.headers["x-dashscope-async"] === "string" ? req.headers["x-dashscope-async"] : null;
    if (async !== "enable")
      return error(res, 403, "AccessDenied", "current user api does not support synchronous calls");
    let body: unknown;
    try {
      body = JSON.parse((await readBody(req)).toString("utf8"));
    } catch {
      return invalid(res, "The request body is not valid JSON.");
    }
    if (!isObj(body)) return invalid(res, "The request body must be a JSON object.");
    creates.push({ body, async });
    const ok = check(body);
    if ("reason" in ok) return invalid(res, ok.reason);
    const p = isObj(body.parameters) ? body.parameters : {};
    const input = body.input as Json;
    let width: number;
    let height: number;
    if (ok.i2v) {
      const tier = typeof p.resolution === "string" ? p.resolution : "1080P";
      const px = pngSize(String(input.img_url));
      const shape = px ? shapeOf(px) : "landscape";
      [width, height] = (I2V_SIZES[tier] ?? I2V_1080P)[shape];
    } else {
      const size = typeof p.size === "string" ? p.size : "1920*1080";
      [width, height] = size.split("*").map(Number) as [number, number];
    }
    const seconds = typeof p.duration === "number" ? p.duration : 5;
    const t = core.newTask("", body, { width, height, seconds }, null);
    return sendJson(res, 200, {
      request_id: randomUUID(),
      output: { task_id: t.id, task_status: "PENDING" },
    });
  }

  const running = await listen(
    core,
    async (req, res, url) => {
      const m = /^\/api\/v1\/tasks\/([^/]+)(\/cancel)?$/.exec(url.pathname);
      const file = /^\/oss\/([^/]+)\.mp4$/.exec(url.pathname);
      const route =
        url.pathname === "/api/v1/services/aigc/video-generation/video-synthesis" && req.method === "POST"
          ? "create"
          : m?.[2] && req.method === "POST"
            ? "cancel"
            : m && !m[2] && req.method === "GET"
              ? "query"
              : file && req.method === "GET"
                ? "content"
                : "other";
      core.log(route, req);
      if (await applyFault(core.takeFault(route), req, res)) return;
      if (route === "content" && file?.[1]) {
        // A signed link: no API key, the signature and expiry decide.
        const id = decodeURIComponent(file[1]);
        const t = core.tasks.get(id);
        const expires = Number(url.searchParams.get("Expires"));
        const denied = (message: string) => {
          res.writeHead(403, { "content-type": "application/xml" });
          res.end(
            `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>AccessDenied</Code><Message>${message}</Message></Error>`,
          );
        };
        if (!t || url.searchParams.get("Signature") !== sign(id, expires))
          return denied("The request signature we calculated does not match the signature you provided.");
        if (Date.now() >= expires * 1000) return denied("Request has expired.");
        return sendFile(res, await core.video(t), "video/mp4");
      }
      if (route === "other") return error(res, 404, "NotFound", `No route for ${req.method} ${url.pathname}`);
      const auth = req.headers.authorization;
      if (!auth) return error(res, 401, "InvalidApiKey", "No API-key provided.");
      if (!core.authorised(req)) return error(res, 401, "InvalidApiKey", "Invalid API-key provided.");
      if (route === "create") return create(req, res);
      const id = decodeURIComponent(m?.[1] ?? "");
      const t = core.tasks.get(id);
      if (route === "query") {
        if (!t)
          return sendJson(res, 200, {
            request_id: randomUUID(),
            output: { task_id: id, task_status: "UNKNOWN" },
          });
        return sendJson(res, 200, view(t));
      }
      // cancel: only a task still PENDING can be cancelled.
      if (!t || t.cancelled || core.phaseOf(t, false).phase !== "queued")
        return error(
          res,
          400,
          "UnsupportedOperation",
          "Failed to cancel the task, please confirm if the task is in PENDING status.",
        );
      t.cancelled = true;
      return sendJson(res, 200, { request_id: randomUUID() });
    },
    opts.port,
  );
  origin = running.url;
  self = Object.assign(running, emu);
  return self;
}
