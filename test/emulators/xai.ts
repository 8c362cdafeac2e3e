/**
 * An emulated xAI video API (Grok Imagine), as the provider documents it:
 * `POST /v1/videos/generations` (Bearer API key; `{model, prompt, duration, aspect_ratio,
 * resolution, image?: {url}, reference_images?: [{url}]}` → `{request_id}`),
 * `GET /v1/videos/{request_id}` (`status` pending | done | failed | expired; done:
 * `video: {url, duration, respect_moderation}`, `model`, `usage.cost_in_usd_ticks`; failed:
 * `error: {code, message}`). No cancel (none is documented). Errors use xAI's body
 * `{code, error}`: `code` is the gRPC status phrase xAI's API writes ("Client specified an invalid
 * argument" for a bad argument and for an incorrect API key, both HTTP 400), `error` the message.
 * HTTP statuses as the debugging page lists them: 400 invalid argument or incorrect key, 401 no
 * authorization header, 403 no permission / no credits, 404 unknown model or request, 422 a field
 * of the wrong format (type), 429 rate limit. Result links are temporary (signed here; `linkTtlMs`).
 *
 * Sources: https://docs.x.ai/developers/model-capabilities/video (fields, durations 1–15,
 * resolutions 480p/720p, aspect ratios, status words, temporary URLs),
 * https://docs.x.ai/developers/model-capabilities/video/reference-to-video (≤ 7 references,
 * ≤ 10 s, not with `image`), https://docs.x.ai/developers/debugging (HTTP statuses),
 * https://docs.x.ai/developers/rest-api-reference/inference/videos (result examples); vercel/ai
 * packages/xai/src/xai-video-model.ts (result schema incl. `progress`, `respect_moderation: false`
 * as a moderation block). The code phrases other than "Client specified an invalid argument" are
 * not printed in xAI's pages: they are the standard gRPC descriptions of the matching statuses.
 */
import { createHmac, randomBytes } from "node:crypto";
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

const CREATE = "/v1/videos/generations";
const MODELS = ["grok-imagine-video"];
const RATIOS = ["1:1", "16:9", "9:16", "4:3", "3:4", "3:2", "2:3"];

/** Width × height by resolution and aspect ratio (short side 480 or 720). */
export function pixelsOf(resolution: string, ratio: string): [number, number] {
  const short = resolution === "720p" ? 720 : 480;
  const [w, h] = ratio.split(":").map(Number) as [number, number];
  const even = (n: number) => Math.round(n / 2) * 2;
  return w >= h ? [even((short * w) / h), short] : [short, even((short * h) / w)];
}

/** gRPC status phrases as xAI writes them in `code`, by HTTP status. */
export const CODES = {
  invalid: "Client specified an invalid argument",
  unauthenticated: "The request does not have valid authentication credentials",
  permission: "The caller does not have permission to execute the specified operation",
  notFound: "Some requested entity was not found",
  exhausted: "Some resource has been exhausted",
  internal: "Internal error",
  unavailable: "The service is currently unavailable",
} as const;

/** xAI's error body. */
export const xaiErrorBody = (code: string, error: string) => ({ code, error });

/** Scripted faults in xAI's envelope, at their documented HTTP statuses. */
export const xaiFaults = {
  /** The credential refused (an incorrect API key is a 400 at xAI). */
  badKey: (): Fault => ({
    kind: "status",
    status: 400,
    body: JSON.stringify(
      xaiErrorBody(
        CODES.invalid,
        "Incorrect API key provided: xa***ey. You can obtain an API key from https://console.x.ai.",
      ),
    ),
  }),
  /** No credits left on the team. */
  noCredits: (): Fault => ({
    kind: "status",
    status: 403,
    body: JSON.stringify(
      xaiErrorBody(
        CODES.permission,
        "Your team has either used all available credits or reached its monthly spending limit.",
      ),
    ),
  }),
  /** The rate limit. */
  rateLimited: (retryAfterS?: number): Fault => ({
    kind: "status",
    status: 429,
    body: JSON.stringify(
      xaiErrorBody(CODES.exhausted, "Too many requests: you have reached the rate limit."),
    ),
    ...(retryAfterS !== undefined ? { retryAfterS } : {}),
  }),
  /** The prompt refused by moderation at create. */
  moderated: (): Fault => ({
    kind: "status",
    status: 400,
    body: JSON.stringify(xaiErrorBody(CODES.invalid, "Prompt rejected by content moderation.")),
  }),
  unavailable: (): Fault => ({
    kind: "status",
    status: 503,
    body: JSON.stringify(xaiErrorBody(CODES.unavailable, "The service is currently unavailable.")),
  }),
};

/** `failCode` that makes a task finish `done` with `respect_moderation: false` (a moderated video). */
export const MODERATED_VIDEO = "respect_moderation";

interface XaiTask extends EmulatedTask {
  readonly body: Record<string, unknown>;
}

export interface XaiEmulator extends RunningEmulator {
  /** How long a result link stays valid after the video is done (temporary upstream). */
  linkTtlMs: number;
  /** The create bodies received, in order (after validation). */
  readonly bodies: Record<string, unknown>[];
}

type Wrong = { status: 400 | 422; message: string } | null;

const isImageUrl = (u: unknown) =>
  typeof u === "string" && /^(https?:\/\/|data:image\/(png|jpe?g|webp);base64,)/.test(u);

/** Validates a create body as the documents state: a wrong type is a 422, a wrong value a 400. */
function invalid(b: Record<string, unknown>): Wrong {
  const type = (field: string, what: string): Wrong => ({
    status: 422,
    message: `Failed to deserialize the JSON body into the target type: ${field}: invalid type, expected ${what}`,
  });
  const value = (message: string): Wrong => ({ status: 400, message });
  if (typeof b.model !== "string") return type("model", "a string");
  if (b.prompt !== undefined && typeof b.prompt !== "string") return type("prompt", "a string");
  if (b.duration !== undefined && (typeof b.duration !== "number" || !Number.isInteger(b.duration)))
    return type("duration", "an integer");
  if (b.aspect_ratio !== undefined && typeof b.aspect_ratio !== "string")
    return type("aspect_ratio", "a string");
  if (b.resolution !== undefined && typeof b.resolution !== "string") return type("resolution", "a string");
  if (b.image !== undefined && (typeof b.image !== "object" || b.image === null || Array.isArray(b.image)))
    return type("image", "an object {url}");
  if (b.reference_images !== undefined && !Array.isArray(b.reference_images))
    return type("reference_images", "an array of {url}");
  const refs = (b.reference_images as unknown[] | undefined) ?? [];
  const image = b.image as Record<string, unknown> | undefined;
  if (image !== undefined && !isImageUrl(image.url))
    return value("image.url must be a public URL or a base64-encoded data URI of an image");
  for (const r of refs)
    if (!r || typeof r !== "object" || !isImageUrl((r as Record<string, unknown>).url))
      return value("reference_images[].url must be a public URL or a base64-encoded data URI of an image");
  if (image !== undefined && refs.length > 0)
    return value("Reference images cannot be combined with image-to-video or video editing.");
  if (refs.length > 7) return value("A maximum of 7 reference images can be provided per request.");
  if (refs.length > 0 && (typeof b.prompt !== "string" || b.prompt.trim() === ""))
    return value("A non-empty prompt is required when using reference images.");
  if (image === undefined && (typeof b.prompt !== "string" || b.prompt.trim() === ""))
    return value("prompt must not be empty");
  const d = b.duration as number | undefined;
  if (d !== undefined && (d < 1 || d > 15))
    return value(`duration must be between 1 and 15 seconds, got ${d}`);
  if (d !== undefined && refs.length > 0 && d > 10)
    return value("The maximum duration allowed when using reference images is 10 seconds.");
  if (b.aspect_ratio !== undefined && !RATIOS.includes(b.aspect_ratio as string))
    return value(`aspect_ratio must be one of ${RATIOS.join(", ")}`);
  if (b.resolution !== undefined && !["480p", "720p"].includes(b.resolution as string))
    return value("resolution must be one of 480p, 720p");
  return null;
}

export async function startXai(opts: { secret: string; port?: number }): Promise<XaiEmulator> {
  const core = new EmulatorCore(opts.secret);
  const signingKey = randomBytes(16).toString("hex");
  const bodies: Record<string, unknown>[] = [];
  let base = "";
  const sign = (id: string, expires: number) =>
    createHmac("sha256", signingKey).update(`${id}:${expires}`).digest("hex").slice(0, 32);

  const view = (t: XaiTask) => {
    const { phase, progress } = core.phaseOf(t);
    const model = t.body.model;
    if (phase === "queued" || phase === "running") {
      const shown = core.runningStatus(t, "pending");
      return { ...(shown !== undefined ? { status: shown } : {}), model, progress };
    }
    if (phase === "expired") return { status: "expired", model };
    if (phase === "failed" && t.behaviour.failCode === MODERATED_VIDEO)
      return { status: "done", video: { duration: t.seconds, respect_moderation: false }, model };
    if (phase === "failed")
      return {
        status: "failed",
        video: { duration: 0, respect_moderation: true },
        model: "",
        error: {
          code: t.behaviour.failCode ?? "internal_error",
          message: t.behaviour.failMessage ?? "Video generation failed due to an internal error.",
        },
      };
    const expires = t.createdAt + t.behaviour.runMs + api.linkTtlMs;
    const per = t.height >= 720 ? 7 : 5;
    return {
      status: "done",
      video: {
        url: `${t.behaviour.resultOrigin ?? base}/xai-vidgen-bucket/xai-video-${encodeURIComponent(t.id)}.mp4?expires=${expires}&signature=${sign(t.id, expires)}`,
        duration: t.seconds,
        respect_moderation: true,
      },
      model,
      progress: 100,
      // 1 USD = 10^10 ticks.
      usage: { cost_in_usd_ticks: per * t.seconds * 1e8 },
    };
  };

  const running = await listen(
    core,
    async (req, res, url) => {
      const file = /^\/xai-vidgen-bucket\/xai-video-([^/]+)\.mp4$/.exec(url.pathname);
      const result = /^\/v1\/videos\/([^/]+)$/.exec(url.pathname);
      const route = file
        ? "content"
        : url.pathname === CREATE && req.method === "POST"
          ? "create"
          : result && req.method === "GET" && result[1] !== "generations"
            ? "query"
            : "other";
      core.log(route, req);
      if (await applyFault(core.takeFault(route), req, res)) return;
      if (route === "content" && file) {
        // A signed, temporary link: no API key; it stops working when it expires.
        const id = decodeURIComponent(file[1] ?? "");
        const expires = Number(url.searchParams.get("expires"));
        const t = core.tasks.get(id) as XaiTask | undefined;
        if (!t || url.searchParams.get("signature") !== sign(id, expires))
          return sendJson(res, 403, { code: "AccessDenied", error: "Access denied" });
        if (!(Date.now() < expires))
          return sendJson(res, 403, { code: "AccessDenied", error: "Request has expired" });
        return sendFile(res, await core.video(t), "video/mp4");
      }
      const auth = req.headers.authorization;
      if (!auth || !/^Bearer\s+\S/.test(auth))
        return sendJson(
          res,
          401,
          xaiErrorBody(
            CODES.unauthenticated,
            "No authorization header or an invalid authorization token was provided.",
          ),
        );
      if (!core.authorised(req))
        return sendJson(
          res,
          400,
          xaiErrorBody(
            CODES.invalid,
            "Incorrect API key provided. You can obtain an API key from https://console.x.ai.",
          ),
        );
      if (route === "other") return sendJson(res, 404, xaiErrorBody(CODES.notFound, "Not found"));
      if (route === "create") {
        let body: Record<string, unknown>;
        try {
          const parsed: unknown = JSON.parse((await readBody(req)).toString("utf8"));
          if (!parsed || typeof parsed !== "object" || Array.isArray(parsed))
            throw new Error("not an object");
          body = parsed as Record<string, unknown>;
        } catch {
          return sendJson(res, 422, xaiErrorBody(CODES.invalid, "Failed to parse the request body as JSON."));
        }
        const wrong = invalid(body);
        if (wrong) return sendJson(res, wrong.status, xaiErrorBody(CODES.invalid, wrong.message));
        if (!MODELS.includes(String(body.model)))
          return sendJson(
            res,
            404,
            xaiErrorBody(
              CODES.notFound,
              `The model ${String(body.model)} does not exist or your team does not have access to it.`,
            ),
          );
        bodies.push(body);
        const [width, height] = pixelsOf(
          String(body.resolution ?? "480p"),
          String(body.aspect_ratio ?? "16:9"),
        );
        const seconds = typeof body.duration === "number" ? body.duration : 6;
        const t = core.newTask(
          "",
          { prompt: body.prompt, model: body.model },
          { width, height, seconds },
          null,
        ) as XaiTask;
        Object.assign(t, { body });
        return sendJson(res, 200, { request_id: t.id });
      }
      const id = decodeURIComponent(result?.[1] ?? "");
      const t = core.tasks.get(id) as XaiTask | undefined;
      if (!t) return sendJson(res, 404, xaiErrorBody(CODES.notFound, `No video request with id ${id}.`));
      return sendJson(res, 200, view(t));
    },
    opts.port,
  );
  base = running.url;
  const api: XaiEmulator = { ...running, linkTtlMs: 3600 * 1000, bodies };
  return api;
}
