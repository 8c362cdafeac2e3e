/**
 * An emulated MiniMax video generation API (Hailuo), as MiniMax documents it:
 * - `POST /v1/video_generation` (Bearer) `{model, prompt, duration, resolution, first_frame_image?,
 *   last_frame_image?, prompt_optimizer?, fast_pretreatment?, callback_url?, aigc_watermark?}` →
 *   `{task_id, base_resp: {status_code, status_msg}}`;
 * - `GET /v1/query/video_generation?task_id=` → `{task_id, status: Preparing|Queueing|Processing|
 *   Success|Fail, file_id, video_width, video_height, base_resp}`;
 * - `GET /v1/files/retrieve?file_id=` → `{file: {file_id, bytes, created_at, filename, purpose,
 *   download_url}, base_resp}`; the download link is signed and expires (TTL settable, 9 hours by
 *   default: the lifetime MiniMax states for its video agent's links; the files API states none),
 *   answering 403 with an OSS-style XML error after.
 * Errors come as HTTP 200 with a non-zero `base_resp.status_code` (1004 missing key, 2049 wrong key,
 * 2013 invalid parameters; 1002, 1008, 1026, 1027 scripted with `minimaxError`). Output sizes:
 * 768P is 1366×768, 1080P 1920×1080, 512P 910×512 (16:9) for text-to-video; from a first frame the
 * video takes the image's aspect ratio (read from a PNG data URL; a link or another format: 16:9,
 * since the emulator fetches nothing). Image dimensions (short side > 300 px) are not checked.
 *
 * Sources: platform.minimax.io/docs/api-reference/video-generation-t2v, -i2v, -fl2v, -query,
 * -download, errorcode; https://cloud.baidu.com/doc/qianfan-api/s/4mwbl4bz4 (MiniMax's codes
 * 1026/1027/2013); QuantumNous/new-api relay/channel/task/hailuo/; docs.comfy.org
 * MinimaxHailuoVideoNode (768P = 1366×768, 1080P only at 6 s).
 */
import { createHmac } from "node:crypto";
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

/** Models the emulator makes, with the resolutions and durations MiniMax documents for each. */
const MODELS: Record<string, { resolutions: string[]; durations: number[] }> = {
  "MiniMax-Hailuo-02": { resolutions: ["512P", "768P", "1080P"], durations: [6, 10] },
  "MiniMax-Hailuo-2.3": { resolutions: ["768P", "1080P"], durations: [6, 10] },
  "MiniMax-Hailuo-2.3-Fast": { resolutions: ["768P", "1080P"], durations: [6, 10] },
};
const SHORT_SIDE: Record<string, number> = { "512P": 512, "768P": 768, "1080P": 1080 };
const LANDSCAPE: Record<string, [number, number]> = {
  "512P": [910, 512],
  "768P": [1366, 768],
  "1080P": [1920, 1080],
};

const ok = { status_code: 0, status_msg: "success" };

/** A MiniMax error answer (HTTP 200, `base_resp` non-zero), as a scripted fault for a route. */
export function minimaxError(code: number, message: string): Fault {
  return {
    kind: "status",
    status: 200,
    body: JSON.stringify({ task_id: "", base_resp: { status_code: code, status_msg: message } }),
  };
}

export interface MiniMaxEmulator extends RunningEmulator {
  /** How long a download link works after `/v1/files/retrieve` hands it out. */
  linkTtlMs: number;
}

/** The PNG's width and height from its IHDR chunk, when `dataUrl` is a PNG data URL. */
function pngSize(dataUrl: string): { width: number; height: number } | null {
  const m = /^data:image\/png;base64,(.+)$/.exec(dataUrl);
  if (!m?.[1]) return null;
  const b = Buffer.from(m[1], "base64");
  if (b.length < 24 || b.toString("ascii", 12, 16) !== "IHDR") return null;
  return { width: b.readUInt32BE(16), height: b.readUInt32BE(20) };
}

const even = (n: number) => Math.max(2, Math.round(n / 2) * 2);

/** Why `body` is not a valid create, in MiniMax's words (code 2013), or null. */
function invalid(b: Record<string, unknown>): string | null {
  const model = typeof b.model === "string" ? MODELS[b.model] : undefined;
  if (!model) return `invalid params, model '${String(b.model)}' is not supported`;
  const first = b.first_frame_image;
  const last = b.last_frame_image;
  for (const [k, v] of [
    ["first_frame_image", first],
    ["last_frame_image", last],
  ] as const) {
    if (v === undefined) continue;
    if (typeof v !== "string" || !/^(https?:\/\/|data:image\/(jpeg|jpg|png|webp);base64,)/.test(v))
      return `invalid params, ${k} must be a public URL or a base64 data URL of a JPG, PNG or WebP image`;
  }
  if (b.prompt !== undefined && typeof b.prompt !== "string")
    return "invalid params, prompt must be a string";
  if (typeof b.prompt === "string" && b.prompt.length > 2000)
    return "invalid params, prompt is longer than 2000 characters";
  if (first === undefined && (typeof b.prompt !== "string" || b.prompt === ""))
    return "invalid params, prompt is required for text-to-video";
  if (b.duration !== undefined && (typeof b.duration !== "number" || !model.durations.includes(b.duration)))
    return `invalid params, duration must be one of ${model.durations.join(", ")}`;
  if (
    b.resolution !== undefined &&
    (typeof b.resolution !== "string" || !model.resolutions.includes(b.resolution))
  )
    return `invalid params, resolution must be one of ${model.resolutions.join(", ")}`;
  const duration = (b.duration as number | undefined) ?? 6;
  const resolution = (b.resolution as string | undefined) ?? "768P";
  if (resolution === "1080P" && duration !== 6)
    return "invalid params, 1080P supports a duration of 6 s only";
  if (last !== undefined && first === undefined)
    return "invalid params, last_frame_image requires first_frame_image";
  if (resolution === "512P" && (first === undefined || last !== undefined))
    return "invalid params, 512P is supported for image-to-video from a first frame only";
  for (const k of ["prompt_optimizer", "fast_pretreatment", "aigc_watermark"])
    if (b[k] !== undefined && typeof b[k] !== "boolean") return `invalid params, ${k} must be a boolean`;
  if (b.callback_url !== undefined && typeof b.callback_url !== "string")
    return "invalid params, callback_url must be a string";
  return null;
}

export async function startMiniMax(opts: {
  secret: string;
  port?: number;
  linkTtlMs?: number;
}): Promise<MiniMaxEmulator> {
  const core = new EmulatorCore(opts.secret);
  const fileIds = new Map<string, EmulatedTask>();
  const fileIdOf = new Map<string, string>();
  let fileSeq = 0;
  const sign = (fileId: string, expires: number) =>
    createHmac("sha256", opts.secret).update(`${fileId}:${expires}`).digest("hex").slice(0, 32);

  /** MiniMax's answers to a key it does not know: HTTP 200 with `base_resp` 1004 or 2049. */
  const authError = (req: IncomingMessage) =>
    req.headers.authorization === undefined
      ? {
          status_code: 1004,
          status_msg:
            "login fail: Please carry the API secret key in the 'Authorization' field of the request header",
        }
      : { status_code: 2049, status_msg: "invalid api key" };

  const view = (t: EmulatedTask, countPoll = true) => {
    const { phase } = core.phaseOf(t, countPoll);
    if (phase === "failed" || phase === "expired") {
      const code = Number(t.behaviour.failCode ?? 1027);
      return {
        task_id: t.id,
        status: "Fail",
        file_id: "",
        base_resp: { status_code: code, status_msg: t.behaviour.failMessage ?? "output new_sensitive" },
      };
    }
    if (phase === "completed") {
      let fileId = fileIdOf.get(t.id);
      if (!fileId) {
        fileId = String(306_000_000_000_000 + fileSeq++);
        fileIdOf.set(t.id, fileId);
        fileIds.set(fileId, t);
      }
      return {
        task_id: t.id,
        status: "Success",
        file_id: fileId,
        video_width: t.width,
        video_height: t.height,
        base_resp: ok,
      };
    }
    const own = phase === "queued" ? (t.polls <= 1 ? "Preparing" : "Queueing") : "Processing";
    const status = core.runningStatus(t, own);
    return {
      task_id: t.id,
      ...(status === undefined ? {} : { status }),
      file_id: "",
      base_resp: ok,
    };
  };

  let emu: MiniMaxEmulator;
  const running = await listen(
    core,
    async (req, res, url) => {
      const p = url.pathname;
      const route =
        p === "/v1/video_generation"
          ? "create"
          : p === "/v1/query/video_generation"
            ? "query"
            : p === "/v1/files/retrieve"
              ? "retrieve"
              : p.startsWith("/cdn/")
                ? "download"
                : "other";
      core.log(route, req);
      if (await applyFault(core.takeFault(route), req, res)) return;
      if (route === "download") {
        // The CDN link: signed, no credential, and dead after its expiry.
        const m = /^\/cdn\/inference_output\/video\/(\d+)\/output\.mp4$/.exec(p);
        const expires = Number(url.searchParams.get("Expires"));
        const t = m?.[1] ? fileIds.get(m[1]) : undefined;
        const valid = t && m?.[1] && url.searchParams.get("Signature") === sign(m[1], expires);
        if (!t || !valid || Date.now() > expires) {
          const text = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>AccessDenied</Code><Message>${
            valid ? "Request has expired." : "The request signature we calculated does not match."
          }</Message></Error>`;
          res.writeHead(403, { "content-type": "application/xml" });
          res.end(text);
          return;
        }
        return sendFile(res, await core.video(t), "video/mp4");
      }
      if (route === "other")
        return sendJson(res, 404, { base_resp: { status_code: 404, status_msg: "not found" } });
      if (!core.authorised(req)) return sendJson(res, 200, { base_resp: authError(req) });
      if (route === "create") {
        if (req.method !== "POST")
          return sendJson(res, 405, { base_resp: { status_code: 2013, status_msg: "method not allowed" } });
        let body: Record<string, unknown>;
        try {
          const parsed: unknown = JSON.parse((await readBody(req)).toString("utf8"));
          if (!parsed || typeof parsed !== "object" || Array.isArray(parsed))
            throw new Error("not an object");
          body = parsed as Record<string, unknown>;
        } catch {
          return sendJson(res, 200, {
            task_id: "",
            base_resp: { status_code: 2013, status_msg: "invalid params, the body is not a JSON object" },
          });
        }
        const why = invalid(body);
        if (why)
          return sendJson(res, 200, { task_id: "", base_resp: { status_code: 2013, status_msg: why } });
        // A callback URL is checked first: MiniMax posts `{challenge}` and wants it echoed (3 s).
        const callbackUrl = typeof body.callback_url === "string" ? body.callback_url : null;
        if (callbackUrl) {
          const challenge = `challenge-${Date.now().toString(36)}`;
          const sent = await core.postCallback("", callbackUrl, JSON.stringify({ challenge }));
          let echoed: unknown = null;
          try {
            echoed = (JSON.parse(sent.answer) as { challenge?: unknown }).challenge;
          } catch {
            echoed = null;
          }
          if (sent.status !== 200 || echoed !== challenge)
            return sendJson(res, 200, {
              task_id: "",
              base_resp: {
                status_code: 2013,
                status_msg: "invalid params, callback_url verification failed",
              },
            });
        }
        const resolution = (body.resolution as string | undefined) ?? "768P";
        let [width, height] = LANDSCAPE[resolution] ?? [1366, 768];
        const png = typeof body.first_frame_image === "string" ? pngSize(body.first_frame_image) : null;
        if (png && png.width > 0 && png.height > 0) {
          // The video takes the first frame's aspect ratio at the asked resolution (its short side).
          const short = SHORT_SIDE[resolution] ?? 768;
          [width, height] =
            png.width >= png.height
              ? [even((short * png.width) / png.height), short]
              : [short, even((short * png.height) / png.width)];
        }
        const t = core.newTask(
          "",
          body,
          { width, height, seconds: (body.duration as number | undefined) ?? 6 },
          null,
        );
        // Then the task's end is posted: `{task_id, status, file_id, base_resp}` (unsigned).
        if (callbackUrl)
          core.callbackAtEnd(t, callbackUrl, () => {
            const v = view(t, false);
            const done = v.status === "Success";
            return { body: { ...v, status: done ? "success" : "failed" } };
          });
        return sendJson(res, 200, { task_id: t.id, base_resp: ok });
      }
      if (route === "query") {
        const t = core.tasks.get(url.searchParams.get("task_id") ?? "");
        if (!t)
          return sendJson(res, 200, {
            task_id: "",
            status: "",
            base_resp: { status_code: 2013, status_msg: "invalid params, task not found" },
          });
        return sendJson(res, 200, view(t));
      }
      const fileId = url.searchParams.get("file_id") ?? "";
      const t = fileIds.get(fileId);
      if (!t)
        return sendJson(res, 200, {
          base_resp: { status_code: 2013, status_msg: "invalid params, file not found" },
        });
      const expires = Date.now() + emu.linkTtlMs;
      const path = await core.video(t);
      return sendJson(res, 200, {
        file: {
          file_id: Number(fileId),
          bytes: (await stat(path)).size,
          created_at: Math.floor(t.createdAt / 1000),
          filename: "output.mp4",
          purpose: "video_generation",
          download_url: `${running.url}/cdn/inference_output/video/${fileId}/output.mp4?Expires=${expires}&Signature=${sign(fileId, expires)}`,
        },
        base_resp: ok,
      });
    },
    opts.port,
  );
  emu = Object.assign(running, { linkTtlMs: opts.linkTtlMs ?? 9 * 3600 * 1000 });
  return emu;
}
