/**
 * An emulated OpenRouter video generation API, as OpenRouter documents it:
 * - `POST /api/v1/videos` (Bearer) `{model, prompt, duration?, resolution?, aspect_ratio?, size?,
 *   seed?, generate_audio?, frame_images?, input_references?, callback_url?, provider?}` → 202
 *   `{id, polling_url, status: "pending"}`;
 * - `GET /api/v1/videos/{jobId}` → `{id, polling_url, status: pending|in_progress|completed|failed|
 *   cancelled|expired, error?, generation_id?, unsigned_urls?, urls?, usage?: {cost, is_byok}}`;
 * - `GET /api/v1/videos/{jobId}/content?index=0` (Bearer) → the MP4 (`video/mp4`);
 * - `GET /api/v1/videos/models` (no credential) → `{data: [{id, supported_resolutions, …}]}`;
 * - `urls[]`: signed storage links (`/storage/…?expires=&sig=`, no credential) that stop working
 *   after their TTL (settable; OpenRouter states none); the content proxy also answers 404 once the
 *   result's retention (the same TTL, counted from completion) is over.
 * Errors are `{error: {code, message, metadata?}}` with the HTTP status equal to `code`: 401 missing
 * or wrong key, 400 invalid parameters (types and the enums of the OpenAPI schema, the model's
 * durations, resolutions and aspect ratios), 404 unknown job or model; 402, 429, 503 and 403
 * moderation (`metadata.reasons`, `flagged_input`, `provider_name`, `model_slug`) scripted with
 * `openrouterError`. A job failing while running reports `status: failed` and `error` (a string).
 * Sizes: 480p/720p/1080p × 16:9 or 9:16 (1280×720 at 720p), or `size` as given.
 *
 * Sources: https://openrouter.ai/docs/api/api-reference/video-generation/create-videos (.md,
 * OpenAPI), …/get-videos, https://openrouter.ai/docs/api/api-reference/videos,
 * https://openrouter.ai/docs/guides/overview/multimodal/video-generation,
 * https://openrouter.ai/docs/api/reference/errors-and-debugging.
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

/** Models the emulator makes, with what OpenRouter's video model list gives for each. */
const MODELS: Record<string, { resolutions: string[]; aspectRatios: string[]; durations: number[] }> = {
  "google/veo-3.1": { resolutions: ["720p", "1080p"], aspectRatios: ["16:9", "9:16"], durations: [4, 6, 8] },
  "openai/sora-2-pro": { resolutions: ["720p"], aspectRatios: ["16:9", "9:16"], durations: [4, 8, 12] },
};
const ASPECT_RATIOS = ["16:9", "9:16", "1:1", "4:3", "3:4", "3:2", "2:3", "21:9", "9:21"];
const RESOLUTIONS = ["480p", "720p", "768p", "1080p", "1K", "2K", "4K"];
const SHORT: Record<string, number> = { "480p": 480, "720p": 720, "768p": 768, "1080p": 1080 };

/** An OpenRouter error answer as a scripted fault for a route (`metadata` for moderation). */
export function openrouterError(code: number, message: string, metadata?: Record<string, unknown>): Fault {
  return {
    kind: "status",
    status: code,
    body: JSON.stringify({ error: { code, message, ...(metadata ? { metadata } : {}) } }),
  };
}

export interface OpenRouterEmulator extends RunningEmulator {
  /** How long a result stays downloadable after the job completes (signed links and the proxy). */
  resultTtlMs: number;
}

const err = (code: number, message: string) => ({ error: { code, message } });
const even = (n: number) => Math.max(2, Math.round(n / 2) * 2);
const isPart = (v: unknown, type: string): boolean => {
  if (!v || typeof v !== "object") return false;
  const o = v as Record<string, unknown>;
  const inner = o[type] as Record<string, unknown> | undefined;
  return o.type === type && !!inner && typeof inner === "object" && typeof inner.url === "string";
};

/** Why `b` is not a valid create, in OpenRouter's words (400), or null. */
function invalid(b: Record<string, unknown>): string | null {
  if (typeof b.model !== "string" || b.model === "") return "model: Required";
  const model = MODELS[b.model];
  if (!model) return `Model ${b.model} is not a video generation model`;
  if (b.prompt !== undefined && typeof b.prompt !== "string") return "prompt: Expected string";
  if (!b.frame_images && (typeof b.prompt !== "string" || b.prompt === "")) return "prompt: Required";
  if (b.duration !== undefined) {
    if (typeof b.duration !== "number" || !Number.isInteger(b.duration) || b.duration < 1)
      return "duration: Expected integer >= 1";
    if (!model.durations.includes(b.duration))
      return `duration ${b.duration} is not supported by ${b.model}; supported: ${model.durations.join(", ")}`;
  }
  if (b.resolution !== undefined) {
    if (typeof b.resolution !== "string" || !RESOLUTIONS.includes(b.resolution))
      return `resolution: Invalid enum value. Expected ${RESOLUTIONS.map((r) => `'${r}'`).join(" | ")}`;
    if (!model.resolutions.includes(b.resolution))
      return `resolution ${b.resolution} is not supported by ${b.model}; supported: ${model.resolutions.join(", ")}`;
  }
  if (b.aspect_ratio !== undefined) {
    if (typeof b.aspect_ratio !== "string" || !ASPECT_RATIOS.includes(b.aspect_ratio))
      return `aspect_ratio: Invalid enum value. Expected ${ASPECT_RATIOS.map((r) => `'${r}'`).join(" | ")}`;
    if (!model.aspectRatios.includes(b.aspect_ratio))
      return `aspect_ratio ${b.aspect_ratio} is not supported by ${b.model}; supported: ${model.aspectRatios.join(", ")}`;
  }
  if (b.size !== undefined && (typeof b.size !== "string" || !/^\d+x\d+$/.test(b.size)))
    return 'size: Expected "WIDTHxHEIGHT"';
  if (b.seed !== undefined && (typeof b.seed !== "number" || !Number.isInteger(b.seed)))
    return "seed: Expected integer";
  if (b.generate_audio !== undefined && typeof b.generate_audio !== "boolean")
    return "generate_audio: Expected boolean";
  if (
    b.callback_url !== undefined &&
    (typeof b.callback_url !== "string" || !b.callback_url.startsWith("https://"))
  )
    return "callback_url: Must be an HTTPS URL";
  if (b.frame_images !== undefined) {
    if (!Array.isArray(b.frame_images)) return "frame_images: Expected array";
    for (const f of b.frame_images) {
      if (!isPart(f, "image_url"))
        return "frame_images: each item must be {type: 'image_url', image_url: {url}}";
      const t = (f as Record<string, unknown>).frame_type;
      if (t !== "first_frame" && t !== "last_frame")
        return "frame_images: frame_type must be 'first_frame' or 'last_frame'";
    }
  }
  if (b.input_references !== undefined) {
    if (!Array.isArray(b.input_references)) return "input_references: Expected array";
    for (const r of b.input_references)
      if (!isPart(r, "image_url") && !isPart(r, "audio_url") && !isPart(r, "video_url"))
        return "input_references: each item must be an image_url, audio_url or video_url part";
  }
  return null;
}

/** The video's pixel size: `size` as given, else the resolution's short side at the aspect ratio. */
function sizeOf(b: Record<string, unknown>): { width: number; height: number } {
  if (typeof b.size === "string") {
    const [w, h] = b.size.split("x").map(Number);
    return { width: w ?? 1280, height: h ?? 720 };
  }
  const short = SHORT[(b.resolution as string | undefined) ?? "720p"] ?? 720;
  const [aw, ah] = ((b.aspect_ratio as string | undefined) ?? "16:9").split(":").map(Number) as [
    number,
    number,
  ];
  return aw >= ah
    ? { width: even((short * aw) / ah), height: short }
    : { width: short, height: even((short * ah) / aw) };
}

export async function startOpenRouter(opts: {
  secret: string;
  port?: number;
  resultTtlMs?: number;
}): Promise<OpenRouterEmulator> {
  const core = new EmulatorCore(opts.secret);
  const sign = (id: string, expires: number) =>
    createHmac("sha256", opts.secret).update(`${id}:${expires}`).digest("hex").slice(0, 32);
  const doneAt = (t: EmulatedTask) => t.createdAt + t.behaviour.runMs;
  const live = (t: EmulatedTask) => Date.now() <= doneAt(t) + emu.resultTtlMs;

  const authError = (req: IncomingMessage) =>
    req.headers.authorization === undefined
      ? err(401, "Missing Authentication header")
      : err(401, "Invalid credentials");

  const view = (t: EmulatedTask) => {
    const { phase } = core.phaseOf(t);
    const base = { id: t.id, polling_url: `${emu.url}/api/v1/videos/${t.id}` };
    if (phase === "failed")
      return {
        ...base,
        status: "failed",
        error: t.behaviour.failMessage ?? "The provider's content moderation flagged the generated video",
      };
    if (phase === "expired") return { ...base, status: "expired" };
    if (phase === "completed") {
      const expires = doneAt(t) + emu.resultTtlMs;
      const origin = t.behaviour.resultOrigin ?? emu.url;
      return {
        ...base,
        status: "completed",
        generation_id: `gen-${t.id}`,
        unsigned_urls: [`${origin}/api/v1/videos/${t.id}/content?index=0`],
        urls: [`${origin}/storage/videos/${t.id}/0.mp4?expires=${expires}&sig=${sign(t.id, expires)}`],
        usage: { cost: 0.4 * t.seconds, is_byok: false },
      };
    }
    const own = phase === "queued" ? "pending" : "in_progress";
    const status = core.runningStatus(t, own);
    return { ...base, ...(status === undefined ? {} : { status }) };
  };

  let emu: OpenRouterEmulator;
  const running = await listen(
    core,
    async (req, res, url) => {
      const p = url.pathname;
      const job = /^\/api\/v1\/videos\/([^/]+)$/.exec(p);
      const content = /^\/api\/v1\/videos\/([^/]+)\/content$/.exec(p);
      const storage = /^\/storage\/videos\/([^/]+)\/0\.mp4$/.exec(p);
      const route =
        p === "/api/v1/videos"
          ? "create"
          : p === "/api/v1/videos/models"
            ? "models"
            : content
              ? "content"
              : job
                ? "poll"
                : storage
                  ? "storage"
                  : "other";
      core.log(route, req);
      if (await applyFault(core.takeFault(route), req, res)) return;
      if (route === "storage") {
        // A signed storage link: no credential, dead after its expiry.
        const id = storage?.[1] ?? "";
        const expires = Number(url.searchParams.get("expires"));
        const t = core.tasks.get(id);
        const valid = t !== undefined && url.searchParams.get("sig") === sign(id, expires);
        if (!valid || Date.now() > expires) {
          res.writeHead(403, { "content-type": "application/xml" });
          res.end(
            `<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code><Message>${
              valid ? "Request has expired" : "Invalid signature"
            }</Message></Error>`,
          );
          return;
        }
        return sendFile(res, await core.video(t), "video/mp4");
      }
      if (route === "other") return sendJson(res, 404, err(404, "Resource not found"));
      if (route === "models")
        // The public model list (no credential), with each model's documented capability fields.
        return sendJson(res, 200, {
          data: Object.entries(MODELS).map(([id, m]) => ({
            id,
            canonical_slug: id,
            name: id,
            supported_resolutions: m.resolutions,
            supported_aspect_ratios: m.aspectRatios,
            supported_durations: m.durations,
            supported_frame_images: id === "google/veo-3.1" ? ["first_frame", "last_frame"] : ["first_frame"],
            generate_audio: true,
            seed: id === "google/veo-3.1",
            allowed_passthrough_parameters: [],
          })),
        });
      if (!core.authorised(req)) return sendJson(res, 401, authError(req));
      if (route === "create") {
        if (req.method !== "POST") return sendJson(res, 405, err(405, "Method not allowed"));
        let body: Record<string, unknown>;
        try {
          const parsed: unknown = JSON.parse((await readBody(req)).toString("utf8"));
          if (!parsed || typeof parsed !== "object" || Array.isArray(parsed))
            throw new Error("not an object");
          body = parsed as Record<string, unknown>;
        } catch {
          return sendJson(res, 400, err(400, "Invalid JSON body"));
        }
        const why = invalid(body);
        if (why)
          return sendJson(
            res,
            why.startsWith("Model ") ? 404 : 400,
            err(why.startsWith("Model ") ? 404 : 400, why),
          );
        const model = MODELS[body.model as string];
        const seconds = (body.duration as number | undefined) ?? model?.durations.at(-1) ?? 8;
        const t = core.newTask("vgen-", body, { ...sizeOf(body), seconds }, null);
        return sendJson(res, 202, {
          id: t.id,
          polling_url: `${running.url}/api/v1/videos/${t.id}`,
          status: "pending",
        });
      }
      const id = (content?.[1] ?? job?.[1]) as string;
      const t = core.tasks.get(id);
      if (!t) return sendJson(res, 404, err(404, "Video generation job not found"));
      if (route === "poll") return sendJson(res, 200, view(t));
      // The content proxy: the job's video while it is kept.
      const { phase } = core.phaseOf(t, false);
      if (phase !== "completed") return sendJson(res, 400, err(400, "Video generation is not completed"));
      if (url.searchParams.has("index") && url.searchParams.get("index") !== "0")
        return sendJson(res, 404, err(404, "No video at this index"));
      if (!live(t)) return sendJson(res, 404, err(404, "Video content has expired"));
      return sendFile(res, await core.video(t), "video/mp4");
    },
    opts.port,
  );
  emu = Object.assign(running, { resultTtlMs: opts.resultTtlMs ?? 24 * 3600 * 1000 });
  return emu;
}
