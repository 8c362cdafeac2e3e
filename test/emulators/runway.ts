/**
 * An emulated Runway API, as Runway documents it:
 * - every call needs `Authorization: Bearer <key>` (else 401) and `X-Runway-Version` (a version
 *   date; else 400);
 * - `POST /v1/text_to_video` and `POST /v1/image_to_video` `{model, promptText, promptImage, ratio,
 *   duration, seed?, audio?, negativePrompt?, contentModeration?}` (per model, as below) → `{id}`;
 * - `GET /v1/tasks/{id}` → `{id, createdAt, status}` with PENDING | THROTTLED | RUNNING (+ `progress`
 *   0–1) | SUCCEEDED (+ `output: [url]`) | FAILED (+ `failure`, `failureCode`) | CANCELLED;
 * - `DELETE /v1/tasks/{id}` → 204: cancels a pending/throttled/running task (it reads CANCELLED),
 *   deletes a finished one (then 404).
 * Errors: `{"error": "<explanation>"}` with 400 (invalid input), 401 (key), 404, 405; 429 and
 * 502/503/504 are scripted (`runwayError`). Output links are signed and expire (TTL settable;
 * 24 h by default, the short end of Runway's "24-48 hours"), answering 403 with an S3-style XML
 * error after. Moderation is a task failure (`SAFETY.INPUT.*` at once, `SAFETY.OUTPUT.*` after
 * running): script it with `nextTask({outcome: "fail", failCode})`. The video is a real MP4 at the
 * `ratio`'s pixels and the asked duration. The emulator fetches no image links (it checks their
 * form: HTTPS, or a data URI with an image content type).
 *
 * Sources: runwayml/sdk-node `src/client.ts` (X-Runway-Version), `src/resources/text-to-video.ts`,
 * `image-to-video.ts` (per-model fields, ratios, durations), `tasks.ts` (task shapes, DELETE);
 * https://docs.dev.runwayml.com/errors/errors (statuses, the `error` member),
 * https://docs.dev.runwayml.com/errors/task-failures/ (failure codes),
 * https://docs.dev.runwayml.com/assets/inputs/ (HTTPS links, data URIs). Where a 400's exact
 * wording is undocumented, the message names the field at fault, as Runway's troubleshooting page
 * says its messages do.
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

type Endpoint = "text_to_video" | "image_to_video";

interface ModelSpec {
  readonly ratios: Partial<Record<Endpoint, readonly string[]>>;
  /** Allowed durations (seconds). */
  readonly durations: readonly number[];
  readonly defaultDuration: number;
  readonly positions: readonly string[];
  readonly seed: boolean;
  readonly audio: boolean;
  readonly negativePrompt: boolean;
  readonly contentModeration: boolean;
  /** promptText required on image_to_video too. */
  readonly promptRequired: boolean;
}

const GEN4_I2V = ["1280:720", "720:1280", "1104:832", "832:1104", "960:960", "1584:672"];
const VEO = ["1280:720", "720:1280", "1920:1080", "1080:1920"];
const MODELS: Record<string, ModelSpec> = {
  "gen4.5": {
    ratios: { text_to_video: ["1280:720", "720:1280"], image_to_video: GEN4_I2V },
    durations: [2, 3, 4, 5, 6, 7, 8, 9, 10],
    defaultDuration: 5,
    positions: ["first"],
    seed: true,
    audio: false,
    negativePrompt: false,
    contentModeration: true,
    promptRequired: true,
  },
  gen4_turbo: {
    ratios: { image_to_video: GEN4_I2V },
    durations: [5, 10],
    defaultDuration: 10,
    positions: ["first"],
    seed: true,
    audio: false,
    negativePrompt: false,
    contentModeration: true,
    promptRequired: false,
  },
  "veo3.1": {
    ratios: { text_to_video: VEO, image_to_video: VEO },
    durations: [4, 6, 8],
    defaultDuration: 8,
    positions: ["first", "last"],
    seed: false,
    audio: true,
    negativePrompt: true,
    contentModeration: false,
    promptRequired: false,
  },
};

/** A Runway error answer (`{"error": …}`), as a scripted fault for a route (`create`, `task`, `delete`). */
export function runwayError(status: number, message: string, retryAfterS?: number): Fault {
  return {
    kind: "status",
    status,
    body: JSON.stringify({ error: message }),
    ...(retryAfterS === undefined ? {} : { retryAfterS }),
  };
}

export interface RunwayEmulator extends RunningEmulator {
  /** How long an output link works after the task hands it out. */
  linkTtlMs: number;
  /** `X-Runway-Version` of each call, in order. */
  readonly versions: (string | null)[];
}

/** An image as Runway takes it: an HTTPS link on a domain name (not an IP address), or a data URI. */
function isImageRef(v: unknown): v is string {
  if (typeof v !== "string") return false;
  if (/^data:image\/(jpeg|jpg|png|webp);base64,[A-Za-z0-9+/=]+$/.test(v)) return true;
  try {
    const u = new URL(v);
    return u.protocol === "https:" && !/^[\d.]+$|^\[/.test(u.hostname) && v.length <= 2048;
  } catch {
    return false;
  }
}

const KNOWN_FIELDS = new Set([
  "model",
  "promptText",
  "promptImage",
  "ratio",
  "duration",
  "seed",
  "audio",
  "negativePrompt",
  "contentModeration",
]);

/** Why `b` is not a valid create on `endpoint` (Runway's 400 message, naming the field), or null. */
function invalid(endpoint: Endpoint, b: Record<string, unknown>): string | null {
  const spec = typeof b.model === "string" ? MODELS[b.model] : undefined;
  if (!spec?.ratios[endpoint]) return `model: '${String(b.model)}' is not a valid model for /v1/${endpoint}`;
  for (const k of Object.keys(b)) if (!KNOWN_FIELDS.has(k)) return `${k}: unrecognized key`;
  const prompt = b.promptText;
  if (prompt !== undefined && (typeof prompt !== "string" || prompt.length === 0 || prompt.length > 1000))
    return "promptText: must be a non-empty string of at most 1000 characters";
  if (prompt === undefined && (endpoint === "text_to_video" || spec.promptRequired))
    return "promptText: Required";
  if (endpoint === "text_to_video" && b.promptImage !== undefined) return "promptImage: unrecognized key";
  if (endpoint === "image_to_video") {
    const img = b.promptImage;
    if (Array.isArray(img)) {
      if (img.length === 0 || img.length > spec.positions.length)
        return `promptImage: takes 1 to ${spec.positions.length} images`;
      const seen = new Set<string>();
      for (const [i, x] of img.entries()) {
        const o = x && typeof x === "object" ? (x as Record<string, unknown>) : {};
        if (!isImageRef(o.uri)) return `promptImage[${i}].uri: must be an HTTPS URL or an image data URI`;
        if (typeof o.position !== "string" || !spec.positions.includes(o.position))
          return `promptImage[${i}].position: must be one of ${spec.positions.join(", ")}`;
        if (seen.has(o.position)) return `promptImage[${i}].position: '${o.position}' given twice`;
        seen.add(o.position);
      }
      if (!seen.has("first"))
        return "promptImage: a first frame is required (a last frame alone is not supported)";
    } else if (!isImageRef(img)) return "promptImage: must be an HTTPS URL or an image data URI";
  }
  const ratios = spec.ratios[endpoint] ?? [];
  if (typeof b.ratio !== "string" || !ratios.includes(b.ratio))
    return `ratio: must be one of ${ratios.join(", ")}`;
  if (
    b.duration !== undefined &&
    (typeof b.duration !== "number" || !Number.isInteger(b.duration) || !spec.durations.includes(b.duration))
  )
    return `duration: must be one of ${spec.durations.join(", ")}`;
  if (b.duration === undefined && b.model === "gen4.5") return "duration: Required";
  if (b.seed !== undefined) {
    if (!spec.seed) return "seed: unrecognized key";
    if (typeof b.seed !== "number" || !Number.isInteger(b.seed) || b.seed < 0 || b.seed > 4294967295)
      return "seed: must be an integer from 0 to 4294967295";
  }
  if (b.audio !== undefined && (!spec.audio || typeof b.audio !== "boolean"))
    return spec.audio ? "audio: must be a boolean" : "audio: unrecognized key";
  if (b.negativePrompt !== undefined && (!spec.negativePrompt || typeof b.negativePrompt !== "string"))
    return spec.negativePrompt ? "negativePrompt: must be a string" : "negativePrompt: unrecognized key";
  if (b.contentModeration !== undefined) {
    const c = b.contentModeration;
    if (!spec.contentModeration) return "contentModeration: unrecognized key";
    const t = c && typeof c === "object" ? (c as Record<string, unknown>).publicFigureThreshold : null;
    if (t !== undefined && t !== "auto" && t !== "low")
      return "contentModeration.publicFigureThreshold: must be 'auto' or 'low'";
  }
  return null;
}

export async function startRunway(opts: {
  secret: string;
  port?: number;
  linkTtlMs?: number;
}): Promise<RunwayEmulator> {
  const core = new EmulatorCore(opts.secret);
  const deleted = new Set<string>();
  const versions: (string | null)[] = [];
  const sign = (id: string, expires: number) =>
    createHmac("sha256", opts.secret).update(`${id}:${expires}`).digest("hex").slice(0, 32);

  const view = (t: EmulatedTask) => {
    const head = { id: t.id, createdAt: new Date(t.createdAt).toISOString() };
    const { phase, progress } = core.phaseOf(t);
    if (t.cancelled) return { ...head, status: "CANCELLED" };
    if (phase === "failed" || phase === "expired")
      return {
        ...head,
        status: "FAILED",
        failure: t.behaviour.failMessage ?? "The output was rejected by our internal systems.",
        failureCode: t.behaviour.failCode ?? "INTERNAL.BAD_OUTPUT.CODE01",
      };
    if (phase === "completed") {
      const expires = Date.now() + emu.linkTtlMs;
      return {
        ...head,
        status: "SUCCEEDED",
        output: [`${running.url}/output/${t.id}.mp4?Expires=${expires}&Signature=${sign(t.id, expires)}`],
      };
    }
    const own = phase === "queued" ? (t.polls <= 1 ? "PENDING" : "THROTTLED") : "RUNNING";
    const status = core.runningStatus(t, own);
    return {
      ...head,
      ...(status === undefined ? {} : { status }),
      ...(status === "RUNNING" ? { progress: progress / 100 } : {}),
    };
  };

  const authError = (req: IncomingMessage) =>
    req.headers.authorization === undefined
      ? "No API key provided. Pass your key in the Authorization header as 'Bearer <key>'."
      : "Invalid API key.";

  let emu: RunwayEmulator;
  const running = await listen(
    core,
    async (req, res, url) => {
      const p = url.pathname;
      const create = /^\/v1\/(text_to_video|image_to_video)$/.exec(p);
      const task = /^\/v1\/tasks\/([^/]+)$/.exec(p);
      const route = create
        ? "create"
        : task
          ? req.method === "DELETE"
            ? "delete"
            : "task"
          : p.startsWith("/output/")
            ? "download"
            : "other";
      core.log(route, req);
      if (await applyFault(core.takeFault(route), req, res)) return;
      if (route === "download") {
        // The output link: signed, no credential, dead after its expiry.
        const m = /^\/output\/([^/]+)\.mp4$/.exec(p);
        const expires = Number(url.searchParams.get("Expires"));
        const t = m?.[1] && !deleted.has(m[1]) ? core.tasks.get(m[1]) : undefined;
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
      const version =
        typeof req.headers["x-runway-version"] === "string" ? req.headers["x-runway-version"] : null;
      versions.push(version);
      if (route === "other") return sendJson(res, 404, { error: "Not found" });
      if (!core.authorised(req)) return sendJson(res, 401, { error: authError(req) });
      if (!version || !/^\d{4}-\d{2}-\d{2}$/.test(version))
        return sendJson(res, 400, {
          error: "X-Runway-Version: a valid API version header is required (for example 2024-11-06)",
        });
      if (create) {
        if (req.method !== "POST") return sendJson(res, 405, { error: "Method not allowed" });
        const endpoint = create[1] as Endpoint;
        let body: Record<string, unknown>;
        try {
          const parsed: unknown = JSON.parse((await readBody(req)).toString("utf8"));
          if (!parsed || typeof parsed !== "object" || Array.isArray(parsed))
            throw new Error("not an object");
          body = parsed as Record<string, unknown>;
        } catch {
          return sendJson(res, 400, { error: "The request body is not a JSON object" });
        }
        const why = invalid(endpoint, body);
        if (why) return sendJson(res, 400, { error: why });
        const [w, h] = String(body.ratio).split(":").map(Number);
        const spec = MODELS[String(body.model)];
        const t = core.newTask(
          "",
          { endpoint, ...body },
          {
            width: w ?? 1280,
            height: h ?? 720,
            seconds: typeof body.duration === "number" ? body.duration : (spec?.defaultDuration ?? 5),
          },
          null,
        );
        return sendJson(res, 200, { id: t.id });
      }
      const id = decodeURIComponent(task?.[1] ?? "");
      const t = deleted.has(id) ? undefined : core.tasks.get(id);
      if (!t) return sendJson(res, 404, { error: "Task not found" });
      if (route === "delete") {
        const { phase } = core.phaseOf(t, false);
        if (phase === "queued" || phase === "running") t.cancelled = true;
        else deleted.add(id);
        res.writeHead(204);
        res.end();
        return;
      }
      if (req.method !== "GET") return sendJson(res, 405, { error: "Method not allowed" });
      return sendJson(res, 200, view(t));
    },
    opts.port,
  );
  emu = Object.assign(running, { linkTtlMs: opts.linkTtlMs ?? 24 * 3600 * 1000, versions });
  return emu;
}
