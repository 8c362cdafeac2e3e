/**
 * An emulated Luma Dream Machine API, as Luma documents it (base `/dream-machine/v1`, Bearer key):
 * - `POST /dream-machine/v1/generations/video` (the current reference; `POST /generations`, the
 *   path of the older doc examples, is taken the same way) `{model, prompt?, aspect_ratio?, loop?,
 *   keyframes?: {frame0?, frame1?}, callback_url?, resolution?, duration?, concepts?}` → 201
 *   Generation `{id, generation_type, state: "queued", failure_reason, created_at, assets, model,
 *   request}`;
 * - `GET /dream-machine/v1/generations/{id}` → the Generation, `state` queued | dreaming |
 *   completed | failed, `failure_reason` when failed, `assets.video` when completed;
 * - `DELETE /dream-machine/v1/generations/{id}` → 204 (the generation is gone: a GET then 404s).
 * Errors are `{detail: "…"}`: 401 "Invalid API key is provided" for a missing or wrong key, 400 for
 * a request Luma refuses (the create errors of docs/errors: "Prompt is required", "Loop is not
 * supported for keyframes", …; a model, aspect ratio, resolution, duration or keyframe outside
 * the schema's values, or of the wrong type), 404 for an unknown generation. Quota (402), rate
 * (429) and Luma's own failures (5xx) are scripted with `lumaError`; moderation as a failed
 * generation whose `failure_reason` is Luma's wording ("Advanced prompt moderation failed", the
 * default for `outcome: "fail"`). The video link is presigned and expires (TTL settable, one hour
 * after completion by default, the lifetime Luma's links are commonly given), answering 403 with an
 * S3-style XML error after. Output: the asked aspect ratio at the asked resolution's short side
 * (540, 720, 1080, 2160 for `4k`), 720p and 5 s when not asked, 16:9 by default.
 *
 * Sources: lumalabs/lumaai-api `openapi.yaml` (GenerationRequest, Generation, State, Error, the
 * `/generations/*` paths); lumalabs/lumaai-node `src/resources/generations/generations.ts`;
 * https://docs.lumalabs.ai/docs/video-generation, /docs/api, /docs/errors. Luma publishes no
 * 402/429 bodies for this API: they carry `{detail}` like every other error here.
 */
import { createHmac, randomUUID } from "node:crypto";
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

const MODELS = ["ray-1-6", "ray-2", "ray-flash-2"];
const ASPECT_RATIOS = ["1:1", "16:9", "9:16", "4:3", "3:4", "21:9", "9:21"];
const SHORT_SIDE: Record<string, number> = { "540p": 540, "720p": 720, "1080p": 1080, "4k": 2160 };
const DURATIONS: Record<string, number> = { "5s": 5, "9s": 9 };

/** A Luma error answer `{detail}` at `status`, as a scripted fault for a route. */
export function lumaError(status: number, detail: string, retryAfterS?: number): Fault {
  return {
    kind: "status",
    status,
    body: JSON.stringify({ detail }),
    ...(retryAfterS ? { retryAfterS } : {}),
  };
}

export interface LumaEmulator extends RunningEmulator {
  /** How long a video link works after the generation completes. */
  linkTtlMs: number;
}

const even = (n: number) => Math.max(2, Math.round(n / 2) * 2);

/** The frame of `ratio` (`W:H`) whose short side is `short`. */
function frame(ratio: string, short: number): { width: number; height: number } {
  const [w, h] = ratio.split(":").map(Number) as [number, number];
  return w >= h
    ? { width: even((short * w) / h), height: short }
    : { width: short, height: even((short * h) / w) };
}

/** Why `keyframe` is not a documented keyframe (ImageReference or GenerationReference), or null. */
function badKeyframe(name: string, k: unknown): string | null {
  if (k === null || k === undefined) return null;
  if (typeof k !== "object" || Array.isArray(k)) return `keyframes.${name} must be an object`;
  const o = k as Record<string, unknown>;
  if (o.type === "image")
    return typeof o.url === "string" && /^https?:\/\//.test(o.url)
      ? null
      : `keyframes.${name}.url must be a valid URL`;
  if (o.type === "generation")
    return typeof o.id === "string" && o.id ? null : `keyframes.${name}.id is required`;
  return `keyframes.${name}.type must be 'image' or 'generation'`;
}

/** Why `b` is not a create Luma takes, in its words (400 `detail`), or null. */
function invalid(b: Record<string, unknown>): string | null {
  if (typeof b.model !== "string") return "model is required";
  if (!MODELS.includes(b.model)) return `model must be one of ${MODELS.join(", ")}`;
  if (b.generation_type !== undefined && b.generation_type !== "video") return "Unknown request type";
  if (b.prompt !== undefined && typeof b.prompt !== "string") return "prompt must be a string";
  if (
    b.aspect_ratio !== undefined &&
    (typeof b.aspect_ratio !== "string" || !ASPECT_RATIOS.includes(b.aspect_ratio))
  )
    return `aspect_ratio must be one of ${ASPECT_RATIOS.join(", ")}`;
  if (b.resolution !== undefined && (typeof b.resolution !== "string" || !(b.resolution in SHORT_SIDE)))
    return "resolution must be one of 540p, 720p, 1080p, 4k";
  if (b.duration !== undefined && (typeof b.duration !== "string" || !(b.duration in DURATIONS)))
    return "duration must be one of 5s, 9s";
  if (b.loop !== undefined && typeof b.loop !== "boolean") return "loop must be a boolean";
  if (b.callback_url !== undefined && typeof b.callback_url !== "string") return "callback_url must be a URL";
  let frame0: unknown;
  let frame1: unknown;
  if (b.keyframes !== undefined) {
    if (typeof b.keyframes !== "object" || b.keyframes === null || Array.isArray(b.keyframes))
      return "keyframes must be an object";
    ({ frame0, frame1 } = b.keyframes as Record<string, unknown>);
    const why = badKeyframe("frame0", frame0) ?? badKeyframe("frame1", frame1);
    if (why) return why;
    if ((frame0 === undefined || frame0 === null) && (frame1 === undefined || frame1 === null))
      return "No keyframes provided";
  }
  const hasImage = [frame0, frame1].some(
    (k) => (k as { type?: unknown } | null | undefined)?.type === "image",
  );
  if (!hasImage && (typeof b.prompt !== "string" || b.prompt === "")) return "Prompt is required";
  if (typeof b.prompt === "string" && b.prompt !== "" && b.prompt.length < 3)
    return "Prompt is too short, minimum length is 3 characters";
  if (typeof b.prompt === "string" && b.prompt.length > 5000)
    return "Prompt is too long, maximum length is 5000 characters";
  if (b.loop === true && frame0 && frame1) return "Loop is not supported for keyframes";
  if (b.loop === true && frame1) return "Loop is not supported for end frame";
  return null;
}

export async function startLuma(opts: {
  secret: string;
  port?: number;
  linkTtlMs?: number;
}): Promise<LumaEmulator> {
  const core = new EmulatorCore(opts.secret);
  const deleted = new Set<string>();
  const sign = (id: string, expires: number) =>
    createHmac("sha256", opts.secret).update(`${id}:${expires}`).digest("hex").slice(0, 32);

  const view = (t: EmulatedTask, countPoll: boolean) => {
    const { phase } = core.phaseOf(t, countPoll);
    const base = {
      id: t.id,
      generation_type: "video",
      created_at: new Date(t.createdAt).toISOString(),
      model: t.input.model,
      request: t.input,
    };
    if (phase === "failed" || phase === "expired")
      return {
        ...base,
        state: "failed",
        failure_reason: t.behaviour.failMessage ?? "Advanced prompt moderation failed",
        assets: null,
      };
    if (phase === "completed") {
      // Presigned once, at completion: the same link on every read, dead after its TTL.
      const expires = t.createdAt + t.behaviour.runMs + emu.linkTtlMs;
      return {
        ...base,
        state: "completed",
        failure_reason: null,
        assets: {
          video: `${running.url}/cdn/dream_machine/${t.id}/video.mp4?Expires=${expires}&Signature=${sign(t.id, expires)}`,
        },
      };
    }
    const state = core.runningStatus(t, phase === "queued" ? "queued" : "dreaming");
    return { ...base, ...(state === undefined ? {} : { state }), failure_reason: null, assets: null };
  };

  const authDetail = { detail: "Invalid API key is provided" };

  let emu: LumaEmulator;
  const running = await listen(
    core,
    async (req: IncomingMessage, res, url) => {
      const p = url.pathname;
      const one = /^\/dream-machine\/v1\/generations\/([^/]+)$/.exec(p);
      const route =
        (p === "/dream-machine/v1/generations/video" || p === "/dream-machine/v1/generations") &&
        req.method === "POST"
          ? "create"
          : one && req.method === "GET"
            ? "get"
            : one && req.method === "DELETE"
              ? "delete"
              : p.startsWith("/cdn/")
                ? "download"
                : "other";
      core.log(route, req);
      if (await applyFault(core.takeFault(route), req, res)) return;
      if (route === "download") {
        const m = /^\/cdn\/dream_machine\/([^/]+)\/video\.mp4$/.exec(p);
        const expires = Number(url.searchParams.get("Expires"));
        const t = m?.[1] ? core.tasks.get(m[1]) : undefined;
        const valid = t && m?.[1] && url.searchParams.get("Signature") === sign(m[1], expires);
        if (!t || !valid || Date.now() > expires) {
          res.writeHead(403, { "content-type": "application/xml" });
          res.end(
            `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>AccessDenied</Code><Message>${
              valid ? "Request has expired" : "The request signature we calculated does not match"
            }</Message></Error>`,
          );
          return;
        }
        return sendFile(res, await core.video(t), "video/mp4");
      }
      if (route === "other") return sendJson(res, 404, { detail: "Not Found" });
      if (!core.authorised(req)) return sendJson(res, 401, authDetail);
      if (route === "create") {
        let body: Record<string, unknown>;
        try {
          const parsed: unknown = JSON.parse((await readBody(req)).toString("utf8"));
          if (!parsed || typeof parsed !== "object" || Array.isArray(parsed))
            throw new Error("not an object");
          body = parsed as Record<string, unknown>;
        } catch {
          return sendJson(res, 400, { detail: "the body is not a JSON object" });
        }
        const why = invalid(body);
        if (why) return sendJson(res, 400, { detail: why });
        const ratio = (body.aspect_ratio as string | undefined) ?? "16:9";
        const short = SHORT_SIDE[(body.resolution as string | undefined) ?? "720p"] ?? 720;
        const seconds = DURATIONS[(body.duration as string | undefined) ?? "5s"] ?? 5;
        const t = core.newTask("", body, { ...frame(ratio, short), seconds }, null);
        // Luma's ids are UUIDs; the core's id is kept as the key (see newTask), re-keyed here.
        core.tasks.delete(t.id);
        const id = randomUUID();
        const task: EmulatedTask = { ...t, id };
        core.tasks.set(id, task);
        return sendJson(res, 201, { ...view(task, false), state: "queued" });
      }
      const id = decodeURIComponent(one?.[1] ?? "");
      const t = core.tasks.get(id);
      if (!t || deleted.has(id)) return sendJson(res, 404, { detail: "Generation not found" });
      if (route === "delete") {
        deleted.add(id);
        t.cancelled = true;
        res.writeHead(204);
        res.end();
        return;
      }
      return sendJson(res, 200, view(t, true));
    },
    opts.port,
  );
  emu = Object.assign(running, { linkTtlMs: opts.linkTtlMs ?? 3600 * 1000 });
  return emu;
}
