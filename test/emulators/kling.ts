/**
 * An emulated Kling AI API, as Kling documents it (Kling AI API reference,
 * app.klingai.com/global/dev/document-api: "General Information" for auth and the error-code table,
 * "Video Generation - Text to Video" and "- Image to Video" for create and query):
 *
 * - `POST /v1/videos/text2video` `{model_name?, prompt, negative_prompt?, cfg_scale?, mode?,
 *   aspect_ratio?, duration? ("5"|"10", a string), callback_url?, external_task_id?}` and
 *   `POST /v1/videos/image2video` (`image` and/or `image_tail`: a URL or raw base64 without a
 *   `data:` prefix; no `aspect_ratio`) → `{code: 0, message, request_id, data: {task_id,
 *   task_status: "submitted", task_info: {external_task_id}, created_at, updated_at}}`.
 * - `GET /v1/videos/{text2video|image2video}/{task_id or external_task_id}` → `data.task_status`
 *   submitted | processing | succeed | failed, `task_status_msg`, `task_result.videos[{id, url,
 *   duration}]`; `GET /v1/videos/<endpoint>?pageNum&pageSize` lists.
 * - Auth: `Authorization: Bearer <API key>`, or an HS256 JWT signed with the secret key (`iss` =
 *   access key, `nbf`, `exp`); refusals 401 with codes 1001 (empty), 1002 (invalid), 1003 (not yet
 *   valid), 1004 (expired).
 * - Errors: `{code, message, request_id}` with the HTTP status of Kling's table (`klingFault`
 *   scripts any of them: 1102 quota → 429, 1301 content security → 400, 1303 concurrency → 429, …).
 * - Result links are signed and expire (`resultTtlMs` after the task succeeds; Kling keeps them
 *   30 days); a real MP4 at the size the request implies (aspect ratio × the model's resolution).
 *
 * Sources as for src/adapters/providers/kling/provider.ts. Kling documents no cancel endpoint.
 */
import { createHmac, randomUUID, timingSafeEqual } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
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

/** Kling's error-code table: code → HTTP status and its wording. */
export const KLING_CODES: Record<number, [number, string]> = {
  1000: [401, "Authentication failed"],
  1001: [401, "Authorization is empty"],
  1002: [401, "Authorization is invalid"],
  1003: [401, "Authorization is not yet valid"],
  1004: [401, "Authorization has expired"],
  1100: [429, "Account exception"],
  1101: [429, "Account in arrears (postpaid scenario)"],
  1102: [429, "Resource pack depleted or expired (prepaid scenario)"],
  1103: [403, "Unauthorized access to requested resource, such as API/model"],
  1200: [400, "Invalid request parameters"],
  1201: [400, "Invalid parameters, such as incorrect key or illegal value"],
  1202: [404, "The requested method is invalid"],
  1203: [404, "The requested resource does not exist, such as the model"],
  1300: [400, "Trigger strategy of the platform"],
  1301: [400, "Trigger the content security policy of the platform"],
  1302: [429, "The API request is too fast, exceeding the platform's rate limit"],
  1303: [429, "parallel task over resource pack limit"],
  1304: [429, "Trigger the platform's IP whitelisting policy"],
  5000: [500, "Server internal error"],
  5001: [503, "Server temporarily unavailable, usually due to maintenance"],
  5002: [504, "Server internal timeout, usually due to a backlog"],
};

const envelope = (code: number, message?: string) => ({
  code,
  message: message ?? KLING_CODES[code]?.[1] ?? "error",
  request_id: randomUUID(),
});

/** A scripted answer with Kling's envelope and the HTTP status its table gives `code`. */
export function klingFault(code: number, message?: string): Fault {
  return {
    kind: "status",
    status: KLING_CODES[code]?.[0] ?? 400,
    body: JSON.stringify(envelope(code, message)),
  };
}

function sendError(res: ServerResponse, code: number, message?: string): void {
  sendJson(res, KLING_CODES[code]?.[0] ?? 400, envelope(code, message));
}

const T2V_MODELS = ["kling-v1", "kling-v1-6", "kling-v2-master", "kling-v2-1-master", "kling-v2-5-turbo"];
const I2V_MODELS = [
  "kling-v1",
  "kling-v1-5",
  "kling-v1-6",
  "kling-v2-master",
  "kling-v2-1",
  "kling-v2-1-master",
  "kling-v2-5-turbo",
];
/** Models whose capability map has no start/end frame (`image_tail`). */
const NO_TAIL = ["kling-v2-master", "kling-v2-1-master"];
/** The capability map's resolution per model and mode (short side). */
function shortSide(model: string, mode: string): number {
  if (model === "kling-v2-1-master" || model === "kling-v2-5-turbo") return 1080;
  if (model === "kling-v2-master" || model === "kling-v1") return 720;
  return mode === "pro" ? 1080 : 720;
}

const MODERATION_MESSAGE = "Failure to pass the risk control system";

/** An HS256 JWT checked as Kling does: signature with the secret key, `iss`, `nbf`, `exp`. */
export function checkJwt(
  token: string,
  keys: { accessKey: string; secretKey: string },
  nowS: number,
): 0 | 1002 | 1003 | 1004 {
  const parts = token.split(".");
  if (parts.length !== 3) return 1002;
  const [h, p, s] = parts as [string, string, string];
  let header: Record<string, unknown>;
  let claims: Record<string, unknown>;
  try {
    header = JSON.parse(Buffer.from(h, "base64url").toString("utf8")) as Record<string, unknown>;
    claims = JSON.parse(Buffer.from(p, "base64url").toString("utf8")) as Record<string, unknown>;
  } catch {
    return 1002;
  }
  if (header.alg !== "HS256") return 1002;
  const want = createHmac("sha256", keys.secretKey).update(`${h}.${p}`).digest();
  const got = Buffer.from(s, "base64url");
  if (got.length !== want.length || !timingSafeEqual(got, want)) return 1002;
  if (claims.iss !== keys.accessKey || typeof claims.exp !== "number" || typeof claims.nbf !== "number")
    return 1002;
  if (nowS < claims.nbf) return 1003;
  if (nowS >= claims.exp) return 1004;
  return 0;
}

interface KlingTaskInfo {
  readonly endpoint: "text2video" | "image2video";
  readonly external: string | null;
  readonly videoId: string;
}

export interface KlingEmulator extends RunningEmulator {
  /** How long a result link works after the task succeeded (Kling: 30 days). */
  resultTtlMs: number;
  /** The create bodies as received, in order. */
  readonly bodies: Record<string, unknown>[];
}

export async function startKling(opts: {
  /** The API key (`Bearer <key>`). */
  secret: string;
  /** Access key + secret key: JWTs signed with them are accepted too. */
  accessKey?: string;
  secretKey?: string;
  port?: number;
}): Promise<KlingEmulator> {
  const core = new EmulatorCore(opts.secret);
  const linkKey = randomUUID();
  const info = new Map<string, KlingTaskInfo>();
  const bodies: Record<string, unknown>[] = [];
  let base = "";
  let ttlMs = 10 * 60_000;

  const signLink = (id: string, exp: number) =>
    createHmac("sha256", linkKey).update(`${id}:${exp}`).digest("base64url");

  /** 0 when the request carries a credential Kling takes, else the code of its refusal. */
  function authCode(req: IncomingMessage): number {
    const h = req.headers.authorization;
    if (!h) return 1001;
    const m = /^Bearer (.+)$/.exec(h);
    if (!m?.[1]) return 1002;
    if (m[1] === opts.secret) return 0;
    if (opts.accessKey && opts.secretKey)
      return checkJwt(
        m[1],
        { accessKey: opts.accessKey, secretKey: opts.secretKey },
        Math.floor(Date.now() / 1000),
      );
    return 1002;
  }

  const find = (endpoint: string, id: string): EmulatedTask | undefined => {
    const byId = core.tasks.get(id);
    if (byId && info.get(byId.id)?.endpoint === endpoint) return byId;
    for (const t of core.tasks.values()) {
      const i = info.get(t.id);
      if (i?.external === id && i.endpoint === endpoint) return t;
    }
    return undefined;
  };

  const view = (t: EmulatedTask, countPoll = true) => {
    const i = info.get(t.id) as KlingTaskInfo;
    const { phase } = core.phaseOf(t, countPoll);
    const own =
      phase === "queued"
        ? "submitted"
        : phase === "running"
          ? "processing"
          : phase === "completed"
            ? "succeed"
            : "failed";
    const status = phase === "queued" || phase === "running" ? core.runningStatus(t, own) : own;
    const data: Record<string, unknown> = {
      task_id: t.id,
      task_status_msg:
        phase === "failed" || phase === "expired" ? (t.behaviour.failMessage ?? MODERATION_MESSAGE) : "",
      task_info: i.external ? { external_task_id: i.external } : {},
      created_at: t.createdAt,
      updated_at: Date.now(),
    };
    if (status !== undefined) data.task_status = status;
    if (phase === "completed") {
      const exp = t.createdAt + t.behaviour.runMs + ttlMs;
      const origin = t.behaviour.resultOrigin ?? base;
      data.task_result = {
        videos: [
          {
            id: i.videoId,
            url: `${origin}/files/${encodeURIComponent(t.id)}.mp4?exp=${exp}&sig=${signLink(t.id, exp)}`,
            duration: String(t.seconds),
          },
        ],
      };
    }
    return data;
  };

  /** The documented checks of a create body; a message for 1201 when one fails. */
  function invalid(endpoint: "text2video" | "image2video", b: Record<string, unknown>): string | null {
    const optString = (k: string) => b[k] !== undefined && b[k] !== null && typeof b[k] !== "string";
    for (const k of [
      "model_name",
      "prompt",
      "negative_prompt",
      "mode",
      "aspect_ratio",
      "duration",
      "callback_url",
      "external_task_id",
      "image",
      "image_tail",
    ])
      if (optString(k)) return `${k} must be a string`;
    const model = (b.model_name as string | undefined) ?? "kling-v1";
    if (!(endpoint === "text2video" ? T2V_MODELS : I2V_MODELS).includes(model))
      return `model_name '${model}' is not supported by ${endpoint}`;
    const prompt = b.prompt as string | undefined;
    if (endpoint === "text2video" && !prompt) return "prompt is required";
    if ((prompt?.length ?? 0) > 2500) return "prompt cannot exceed 2500 characters";
    if (((b.negative_prompt as string | undefined)?.length ?? 0) > 2500)
      return "negative_prompt cannot exceed 2500 characters";
    if (b.cfg_scale !== undefined && (typeof b.cfg_scale !== "number" || b.cfg_scale < 0 || b.cfg_scale > 1))
      return "cfg_scale must be a number in [0, 1]";
    if (b.mode !== undefined && !["std", "pro"].includes(b.mode as string)) return "mode must be std or pro";
    if (b.duration !== undefined && !["5", "10"].includes(b.duration as string))
      return "duration must be '5' or '10'";
    if (endpoint === "text2video") {
      if (b.aspect_ratio !== undefined && !["16:9", "9:16", "1:1"].includes(b.aspect_ratio as string))
        return "aspect_ratio must be 16:9, 9:16 or 1:1";
    } else {
      if (!b.image && !b.image_tail) return "image and image_tail cannot both be empty";
      for (const k of ["image", "image_tail"]) {
        const v = b[k] as string | undefined;
        if (v === undefined) continue;
        if (v.startsWith("data:")) return `${k}: base64 must not carry a data: prefix`;
        if (!/^https?:\/\//.test(v) && !/^[A-Za-z0-9+/]+={0,2}$/.test(v))
          return `${k} must be an image URL or base64`;
      }
      if (b.image_tail && NO_TAIL.includes(model)) return `image_tail is not supported by ${model}`;
    }
    const ext = b.external_task_id as string | undefined;
    if (ext && [...info.values()].some((i) => i.external === ext)) return "external_task_id must be unique";
    return null;
  }

  const emu = await listen(
    core,
    async (req, res, url) => {
      const create = /^\/v1\/videos\/(text2video|image2video)$/.exec(url.pathname);
      const one = /^\/v1\/videos\/(text2video|image2video)\/([^/]+)$/.exec(url.pathname);
      const file = /^\/files\/([^/]+)\.mp4$/.exec(url.pathname);
      const id = one?.[2] ? decodeURIComponent(one[2]) : null;
      const route =
        create && req.method === "POST"
          ? "create"
          : create
            ? "list"
            : one
              ? id && core.tasks.has(id)
                ? "query"
                : "lookup"
              : file
                ? "content"
                : "other";
      core.log(route, req);
      if (await applyFault(core.takeFault(route), req, res)) return;
      if (route === "content" && file?.[1]) {
        const t = core.tasks.get(decodeURIComponent(file[1]));
        const exp = Number(url.searchParams.get("exp"));
        const sig = url.searchParams.get("sig") ?? "";
        if (!t || sig !== signLink(t.id, exp)) {
          res.writeHead(403, { "content-type": "text/plain" });
          return void res.end("AccessDenied: signature does not match");
        }
        if (Date.now() > exp) {
          res.writeHead(403, { "content-type": "text/plain" });
          return void res.end("AccessDenied: the link has expired");
        }
        return sendFile(res, await core.video(t), "video/mp4");
      }
      if (route === "other") return sendError(res, 1202, `no route ${req.method} ${url.pathname}`);
      const auth = authCode(req);
      if (auth !== 0) return sendError(res, auth);
      if (route === "create" && create?.[1]) {
        const endpoint = create[1] as "text2video" | "image2video";
        let b: Record<string, unknown>;
        try {
          const parsed: unknown = JSON.parse((await readBody(req)).toString("utf8"));
          if (!parsed || typeof parsed !== "object" || Array.isArray(parsed))
            throw new Error("not an object");
          b = parsed as Record<string, unknown>;
        } catch {
          return sendError(res, 1200, "the request body is not a JSON object");
        }
        bodies.push(b);
        const bad = invalid(endpoint, b);
        if (bad) return sendError(res, 1201, bad);
        const model = (b.model_name as string | undefined) ?? "kling-v1";
        const short = shortSide(model, (b.mode as string | undefined) ?? "std");
        // Image to video takes the image's aspect ratio; the emulator's images are taken as 16:9.
        const ratio = endpoint === "text2video" ? ((b.aspect_ratio as string | undefined) ?? "16:9") : "16:9";
        const long = Math.round((short * 16) / 9);
        const [width, height] =
          ratio === "1:1" ? [short, short] : ratio === "9:16" ? [short, long] : [long, short];
        const t = core.newTask("", b, { width, height, seconds: Number(b.duration ?? "5") }, null);
        info.set(t.id, {
          endpoint,
          external: (b.external_task_id as string | undefined) || null,
          videoId: randomUUID(),
        });
        // Kling's callback protocol: the task, as a query shows it, posted when it ends (unsigned).
        const callbackUrl = b.callback_url as string | undefined;
        if (callbackUrl) core.callbackAtEnd(t, callbackUrl, () => ({ body: view(t, false) }));
        return sendJson(res, 200, {
          ...envelope(0, "SUCCEED"),
          data: {
            task_id: t.id,
            task_status: "submitted",
            task_info: b.external_task_id ? { external_task_id: b.external_task_id } : {},
            created_at: t.createdAt,
            updated_at: t.createdAt,
          },
        });
      }
      if (route === "list" && create?.[1]) {
        const pageNum = Number(url.searchParams.get("pageNum") ?? "1");
        const pageSize = Number(url.searchParams.get("pageSize") ?? "30");
        if (!(pageNum >= 1 && pageNum <= 1000 && pageSize >= 1 && pageSize <= 500))
          return sendError(res, 1201, "pageNum must be in [1, 1000] and pageSize in [1, 500]");
        const mine = [...core.tasks.values()].filter((t) => info.get(t.id)?.endpoint === create[1]);
        const page = mine.slice((pageNum - 1) * pageSize, pageNum * pageSize);
        return sendJson(res, 200, { ...envelope(0, "SUCCEED"), data: page.map((t) => view(t)) });
      }
      const t = one?.[1] && id ? find(one[1], id) : undefined;
      if (!t) return sendError(res, 1203, `task ${id} does not exist`);
      return sendJson(res, 200, { ...envelope(0, "SUCCEED"), data: view(t) });
    },
    opts.port,
  );
  base = emu.url;
  return {
    url: emu.url,
    core,
    close: () => emu.close(),
    bodies,
    get resultTtlMs() {
      return ttlMs;
    },
    set resultTtlMs(v: number) {
      ttlMs = v;
    },
  };
}
