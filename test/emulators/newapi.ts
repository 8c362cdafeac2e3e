/**
 * An emulated new-api relay's video task API (another new-api instance as Reelay's upstream), as
 * new-api documents and serves it:
 * - `POST /v1/video/generations` (Bearer `sk-…`) `{model, prompt, image?, duration?, width?,
 *   height?, fps?, seed?, n?, response_format?, user?, metadata?}` (plus `size` "WxH", `images`,
 *   `seconds`, which its handler also parses) → `{id, task_id, object: "video", model,
 *   status: "queued", progress: 0, created_at}` (the documented `{task_id, status}` and more);
 * - `GET /v1/video/generations/{task_id}` → the task, in one of two shapes (`answers`):
 *   `documented` (default; docs.newapi.pro): `{task_id, status: queued|in_progress|completed|failed,
 *   url, format, metadata: {duration, fps, width, height, seed}, error: {code, message}}`;
 *   `stored` (what relay/relay_task.go serves): `{code: "success", message: "", data: {task_id,
 *   status: NOT_START|SUBMITTED|QUEUED|IN_PROGRESS|SUCCESS|FAILURE, progress: "NN%", fail_reason,
 *   result_url, …}}`;
 * - the result: `url` is a signed link on the relay's origin that expires (`linkTtlMs`, one hour
 *   by default: new-api keeps what its vendor gave, whose lifetime varies) and answers 403 after;
 *   `GET /v1/videos/{task_id}/content` (token auth) is new-api's own proxy, which fetches that same
 *   link and fails (502) once it has expired.
 * Errors: a missing or wrong token → 401 `{error: {message, type: "new_api_error"}}` (its token
 * middleware); a body that is not JSON, a field of the wrong type or no prompt → 400 `{code:
 * "invalid_request", message, data: null}` (its task error); an unknown task → 400 `{code:
 * "task_not_exist", …}`. Quota, overload and moderation refusals are scripted with `newapiError`.
 * There is no cancel route.
 *
 * Sources: docs.newapi.pro/en/docs/api/ai-model/videos/createvideogeneration, get-video-generation;
 * QuantumNous/new-api `dto/video.go`, `router/video-router.go`, `relay/relay_task.go`,
 * `model/task.go`, `relay/common/relay_info.go` (TaskSubmitReq), `controller/relay.go`
 * (respondTaskError), `middleware/auth.go` (token errors).
 */
import { createHmac } from "node:crypto";
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

/** A new-api task error (`{code, message, data}` with an HTTP status), as a scripted fault. */
export function newapiError(status: number, code: string, message: string, retryAfterS?: number): Fault {
  return {
    kind: "status",
    status,
    body: JSON.stringify({ code, message, data: null }),
    ...(retryAfterS === undefined ? {} : { retryAfterS }),
  };
}

/** A new-api OpenAI-style error (`{error: {message, type, param, code}}`), as a scripted fault. */
export function newapiOpenAiError(status: number, message: string, type: string, code: string | null): Fault {
  return { kind: "status", status, body: JSON.stringify({ error: { message, type, param: "", code } }) };
}

export interface NewApiEmulator extends RunningEmulator {
  /** How long a result link works after the task completed. */
  linkTtlMs: number;
  /** Which shape the task query answers in (see the header). */
  answers: "documented" | "stored";
}

const INTS = ["width", "height", "fps", "seed", "n"] as const;
const STRINGS = ["model", "prompt", "image", "size", "seconds", "response_format", "user"] as const;

/** Why `b` is not a valid create, in new-api's words, or null. */
function invalid(b: Record<string, unknown>): string | null {
  for (const k of STRINGS)
    if (b[k] !== undefined && typeof b[k] !== "string") return `invalid request: ${k} must be a string`;
  for (const k of INTS)
    if (b[k] !== undefined && (typeof b[k] !== "number" || !Number.isInteger(b[k])))
      return `invalid request: ${k} must be an integer`;
  if (b.duration !== undefined && (typeof b.duration !== "number" || !(b.duration > 0)))
    return "invalid request: duration must be a positive number";
  if (
    b.metadata !== undefined &&
    (typeof b.metadata !== "object" || b.metadata === null || Array.isArray(b.metadata))
  )
    return "invalid request: metadata must be an object";
  if (b.images !== undefined && (!Array.isArray(b.images) || b.images.some((i) => typeof i !== "string")))
    return "invalid request: images must be an array of strings";
  if (typeof b.prompt !== "string" || b.prompt.trim() === "") return "prompt is required";
  if (typeof b.image === "string" && !/^(https?:\/\/|data:image\/[a-z]+;base64,)/.test(b.image))
    return "invalid request: image must be a URL or Base64 data";
  if (typeof b.size === "string" && !/^\d+x\d+$/.test(b.size)) return "invalid request: size must be WxH";
  return null;
}

/** The frame size a create asks for: `size`, else `width` × `height`, else 1280×720. */
function frameOf(b: Record<string, unknown>): { width: number; height: number } {
  const m = typeof b.size === "string" ? /^(\d+)x(\d+)$/.exec(b.size) : null;
  if (m?.[1] && m[2]) return { width: Number(m[1]), height: Number(m[2]) };
  if (typeof b.width === "number" && typeof b.height === "number" && b.width > 0 && b.height > 0)
    return { width: b.width, height: b.height };
  return { width: 1280, height: 720 };
}

export async function startNewApi(opts: {
  secret: string;
  port?: number;
  linkTtlMs?: number;
}): Promise<NewApiEmulator> {
  const core = new EmulatorCore(opts.secret);
  const completedAt = new Map<string, number>();
  const sign = (id: string, expires: number) =>
    createHmac("sha256", opts.secret).update(`${id}:${expires}`).digest("hex").slice(0, 32);

  /** new-api's token middleware answer: 401 with an OpenAI-style error. */
  const authError = (req: IncomingMessage) => ({
    error: {
      message:
        req.headers.authorization === undefined
          ? "未提供令牌 (no token provided)"
          : "无效的令牌 (invalid token)",
      type: "new_api_error",
    },
  });

  const linkOf = (t: EmulatedTask) => {
    const done = completedAt.get(t.id) ?? Date.now();
    completedAt.set(t.id, done);
    const expires = done + emu.linkTtlMs;
    return `${emu.url}/files/${t.id}.mp4?expires=${expires}&sig=${sign(t.id, expires)}`;
  };

  const view = (t: EmulatedTask) => {
    const { phase, progress } = core.phaseOf(t);
    const stored = emu.answers === "stored";
    const failed = phase === "failed" || phase === "expired";
    const reason =
      phase === "expired" ? "task timed out upstream" : (t.behaviour.failMessage ?? "generation failed");
    const url = phase === "completed" ? linkOf(t) : null;
    if (stored) {
      const status = failed
        ? "FAILURE"
        : phase === "completed"
          ? "SUCCESS"
          : core.runningStatus(
              t,
              phase === "queued" ? (t.polls <= 1 ? "SUBMITTED" : "QUEUED") : "IN_PROGRESS",
            );
      return {
        code: "success",
        message: "",
        data: {
          task_id: t.id,
          platform: "newapi",
          action: typeof t.input.image === "string" ? "generate" : "textGenerate",
          ...(status === undefined ? {} : { status }),
          fail_reason: failed ? reason : "",
          ...(url ? { result_url: url } : {}),
          submit_time: Math.floor(t.createdAt / 1000),
          progress: `${failed || phase === "completed" ? 100 : progress}%`,
        },
      };
    }
    const status = failed
      ? "failed"
      : phase === "completed"
        ? "completed"
        : core.runningStatus(t, phase === "queued" ? "queued" : "in_progress");
    return {
      task_id: t.id,
      ...(status === undefined ? {} : { status }),
      ...(url ? { url, format: "mp4" } : {}),
      ...(phase === "completed"
        ? {
            metadata: {
              duration: t.seconds,
              fps: 24,
              width: t.width,
              height: t.height,
              seed: typeof t.input.seed === "number" ? t.input.seed : 0,
            },
          }
        : {}),
      ...(failed ? { error: { code: Number(t.behaviour.failCode ?? 500), message: reason } } : {}),
    };
  };

  let emu: NewApiEmulator;
  const running = await listen(
    core,
    async (req, res, url) => {
      const p = url.pathname;
      const route =
        p === "/v1/video/generations"
          ? "create"
          : p.startsWith("/v1/video/generations/")
            ? "query"
            : /^\/v1\/videos\/[^/]+\/content$/.test(p)
              ? "content"
              : p.startsWith("/files/")
                ? "download"
                : "other";
      core.log(route, req);
      if (await applyFault(core.takeFault(route), req, res)) return;
      if (route === "download") {
        // The result link: signed, no credential, dead after its expiry.
        const m = /^\/files\/([^/]+)\.mp4$/.exec(p);
        const expires = Number(url.searchParams.get("expires"));
        const t = m?.[1] ? core.tasks.get(m[1]) : undefined;
        const valid = t && m?.[1] && url.searchParams.get("sig") === sign(m[1], expires);
        if (!t || !valid || Date.now() > expires) {
          res.writeHead(403, { "content-type": "application/xml" });
          res.end(
            `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>AccessDenied</Code><Message>${
              valid ? "Request has expired" : "Signature does not match"
            }</Message></Error>`,
          );
          return;
        }
        return sendFile(res, await core.video(t), "video/mp4");
      }
      if (route === "other")
        return sendJson(res, 404, {
          error: { message: "Invalid URL (route not found)", type: "invalid_request_error" },
        });
      if (!core.authorised(req)) return sendJson(res, 401, authError(req));
      if (route === "content") {
        const id = decodeURIComponent(p.split("/")[3] ?? "");
        const t = core.tasks.get(id);
        if (!t || core.phaseOf(t, false).phase !== "completed")
          return sendJson(res, 404, {
            error: { message: "video not found or not ready", type: "invalid_request_error" },
          });
        const done = completedAt.get(t.id) ?? Date.now();
        completedAt.set(t.id, done);
        if (Date.now() > done + emu.linkTtlMs)
          return sendJson(res, 502, {
            error: { message: "failed to fetch video content: 403", type: "server_error" },
          });
        return sendFile(res, await core.video(t), "video/mp4");
      }
      if (route === "create") {
        if (req.method !== "POST")
          return sendJson(res, 404, {
            error: { message: "Invalid URL (route not found)", type: "invalid_request_error" },
          });
        let body: Record<string, unknown>;
        try {
          const parsed: unknown = JSON.parse((await readBody(req)).toString("utf8"));
          if (!parsed || typeof parsed !== "object" || Array.isArray(parsed))
            throw new Error("not an object");
          body = parsed as Record<string, unknown>;
        } catch {
          return sendJson(res, 400, { code: "invalid_request", message: "invalid request body", data: null });
        }
        const why = invalid(body);
        if (why) return sendJson(res, 400, { code: "invalid_request", message: why, data: null });
        const seconds = typeof body.duration === "number" ? Math.round(body.duration) : 5;
        const t = core.newTask("task_", body, { ...frameOf(body), seconds }, null);
        return sendJson(res, 200, {
          id: t.id,
          task_id: t.id,
          object: "video",
          model: body.model ?? "",
          status: "queued",
          progress: 0,
          created_at: Math.floor(t.createdAt / 1000),
        });
      }
      if (req.method !== "GET")
        return sendJson(res, 404, {
          error: { message: "Invalid URL (route not found)", type: "invalid_request_error" },
        });
      const t = core.tasks.get(decodeURIComponent(p.slice("/v1/video/generations/".length)));
      if (!t) return sendJson(res, 400, { code: "task_not_exist", message: "task_not_exist", data: null });
      return sendJson(res, 200, view(t));
    },
    opts.port,
  );
  emu = Object.assign(running, { linkTtlMs: opts.linkTtlMs ?? 3600 * 1000, answers: "documented" as const });
  return emu;
}
