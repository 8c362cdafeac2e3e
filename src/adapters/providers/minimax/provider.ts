/**
 * MiniMax's video generation API (Hailuo models), at `https://api.minimax.io` (or
 * `https://api.minimaxi.com` in mainland China), Bearer key:
 * - create  `POST /v1/video_generation` `{model, prompt, duration, resolution, first_frame_image?,
 *   last_frame_image?, aigc_watermark?}` → `{task_id, base_resp}`;
 * - query   `GET /v1/query/video_generation?task_id=` → `{task_id, status, file_id, video_width,
 *   video_height, base_resp}`;
 * - result  `GET /v1/files/retrieve?file_id=` → `{file: {download_url, …}, base_resp}`, then the
 *   download link itself (a CDN link that expires: fetched at once, through `http.download`).
 * `base_resp.status_code` is the real outcome: an HTTP 200 may carry an error (see mapping.ts).
 * MiniMax has no cancel and no idempotency key.
 *
 * Sources: https://platform.minimax.io/docs/api-reference/video-generation-t2v (-i2v, -fl2v,
 * -query, -download, errorcode); QuantumNous/new-api `relay/channel/task/hailuo/`; see mapping.ts.
 */
import { open } from "node:fs/promises";
import { join } from "node:path";
import { errors, type ReelayError } from "../../../core/errors.js";
import { IMAGE_MIME, isImageType, SNIFF_BYTES, sniffMedia } from "../../../core/media/media_types.js";
import { aspectRatioOf, resolutionOf } from "../../../core/tasks/task.js";
import type { UpstreamProvider, UpstreamStatus } from "../../../core/upstream/ports.js";
import { callbackJson } from "../upstream/callbacks.js";
import { createRefusal, unsupportedRequest } from "../upstream/create_answer.js";
import type { CallResult, ChannelHttp, Phase } from "../upstream/http.js";
import { type InputImage, imagesByRole } from "../upstream/images.js";
import { obj, str } from "../upstream/status.js";
import {
  baseResp,
  classifyCode,
  codeWords,
  createBody,
  endsTask,
  type MiniMaxImage,
  MiniMaxUnsupported,
  readQuery,
} from "./mapping.js";

/** An uploaded image as the data URL MiniMax takes (`data:image/jpeg;base64,…`). */
async function asDataUrl(path: string): Promise<string> {
  const f = await open(path, "r");
  try {
    const bytes = await f.readFile();
    const type = sniffMedia(bytes.subarray(0, SNIFF_BYTES));
    // MiniMax takes JPG, JPEG, PNG and WebP; Reelay keeps only images it sniffed on upload.
    const mime = isImageType(type) ? IMAGE_MIME[type] : "image/jpeg";
    return `data:${mime};base64,${bytes.toString("base64")}`;
  } finally {
    await f.close();
  }
}

const toMiniMax = async (i: InputImage | null): Promise<MiniMaxImage | null> =>
  i === null ? null : i.url !== null ? { url: i.url } : { dataUrl: await asDataUrl(i.file) };

export function createMiniMaxProvider(http: ChannelHttp): UpstreamProvider {
  /**
   * A MiniMax answer's error, if it is one: a non-zero `base_resp.status_code` (whatever the HTTP
   * status), else a non-2xx status or a body that is not JSON. Null: the answer is a success.
   */
  function refusal(res: CallResult, phase: Phase): ReelayError | null {
    const said = baseResp(res.json);
    if (said && said.code !== 0) {
      const c = classifyCode(said.code);
      const message = said.message || codeWords(said.code);
      if (c.class === "content_policy")
        return errors.contentPolicy(http.channelId, String(said.code), message);
      return errors.upstreamRejected(
        http.channelId,
        { status: res.status, code: String(said.code), message },
        // At poll every refusal is passing (the task is still there); at submit only the channel's.
        { retryable: phase !== "submit" || c.channelFault, retryAfterS: res.retryAfterS },
      );
    }
    if (res.status < 200 || res.status > 299) return http.refusal(res, phase);
    if (res.json === undefined)
      return errors.upstreamRejected(
        http.channelId,
        { status: res.status, code: null, message: "the answer is not JSON" },
        { retryable: true },
      );
    return null;
  }

  async function query(upstreamId: string, signal: AbortSignal): Promise<CallResult> {
    return http.call("GET", `v1/query/video_generation?task_id=${encodeURIComponent(upstreamId)}`, {
      phase: "poll",
      signal,
    });
  }

  return {
    kind: "minimax",
    // MiniMax documents no idempotency key: a create whose answer was lost is not sent again.
    idempotent: false,
    async submit(request, ctx) {
      const images = imagesByRole(request, ctx);
      let body: ReturnType<typeof createBody>;
      try {
        body = createBody({
          model: ctx.upstreamModel,
          prompt: request.prompt,
          duration: request.duration,
          resolution: resolutionOf(request),
          aspectRatio: aspectRatioOf(request),
          watermark: request.watermark,
          firstFrame: await toMiniMax(images.firstFrame),
          lastFrame: await toMiniMax(images.lastFrame),
          references: images.references.length,
        });
      } catch (e) {
        if (!(e instanceof MiniMaxUnsupported)) throw e;
        throw unsupportedRequest(http.channelId, e.message);
      }
      const res = await http.call("POST", "v1/video_generation", {
        phase: "submit",
        // MiniMax first checks `callback_url` with a challenge, then posts status changes to it.
        json: ctx.callbackUrl ? { ...body, callback_url: ctx.callbackUrl } : body,
        signal: ctx.signal,
      });
      const refused = refusal(res, "submit");
      // A create answered 2xx without JSON may still have been taken: never sent elsewhere.
      if (refused) throw createRefusal(http.channelId, res, refused);
      const id = str(obj(res.json).task_id);
      if (!id)
        throw errors.upstreamOutcomeUnknown(
          http.channelId,
          `a ${res.status} answer without a task_id`,
          false,
        );
      const status: UpstreamStatus = {
        state: "queued",
        raw: null,
        known: true,
        progress: null,
        error: null,
        enhancedPrompt: null,
      };
      return { upstreamId: id, status };
    },
    async poll(upstreamId, signal) {
      const res = await query(upstreamId, signal);
      const said = baseResp(res.json);
      // The task's own failure (moderation, invalid input, or any code with status `Fail`) is read
      // as such; a channel-side code (credential, rate, MiniMax's own error) says nothing about the
      // task and is a passing poll failure, like any other refusal.
      const taskFailed =
        said !== null && said.code !== 0 && (endsTask(said.code) || str(obj(res.json).status) === "Fail");
      if (!taskFailed) {
        const refused = refusal(res, "poll");
        if (refused) throw refused;
      }
      const q = readQuery(res.json);
      const status: UpstreamStatus = {
        state: q.state,
        raw: q.raw,
        known: q.known,
        // MiniMax's query reports no progress figure.
        progress: null,
        error: q.error,
        enhancedPrompt: null,
      };
      return { status, retryAfterS: res.retryAfterS };
    },
    async fetchResult(upstreamId, workDir, signal) {
      // The query names the file; the file's record holds the (expiring) download link. Both are
      // asked again at each try, so a retried download gets a fresh link.
      const q = await query(upstreamId, signal);
      const qRefused = refusal(q, "poll");
      if (qRefused)
        throw errors.upstreamBadContent(http.channelId, `the task query failed: ${qRefused.message}`);
      const fileId = readQuery(q.json).fileId;
      if (!fileId)
        throw errors.upstreamBadContent(
          http.channelId,
          "MiniMax reports the task done but names no file_id",
          false,
        );
      const f = await http.call("GET", `v1/files/retrieve?file_id=${encodeURIComponent(fileId)}`, {
        phase: "poll",
        signal,
      });
      const fRefused = refusal(f, "poll");
      if (fRefused)
        throw errors.upstreamBadContent(
          http.channelId,
          `retrieving file ${fileId} failed: ${fRefused.message}`,
        );
      const url = str(obj(obj(f.json).file).download_url);
      if (!url) throw errors.upstreamBadContent(http.channelId, `file ${fileId} has no download_url`, false);
      const videoPath = join(workDir, "upstream.mp4");
      await http.download(url, videoPath, { expect: "video", signal });
      // MiniMax returns no thumbnail, and its file record does not say whether the AIGC watermark
      // (`aigc_watermark`, sent as the request asked) is on the video.
      return { videoPath, thumbnailPath: null, watermarked: null };
    },
    async cancel() {
      // MiniMax's video API has no cancel: the task runs out upstream; Reelay stops following it.
    },
    async verifyCallback(req) {
      // MiniMax does not sign its callbacks (the URL's token was the check). It first checks the
      // URL with `{"challenge": …}`, to be echoed; then posts `{task_id, status, file_id, base_resp}`.
      const j = callbackJson(req.body);
      if (!j) return { kind: "refused", reason: "the body is not a JSON object" };
      const challenge = str(j.challenge);
      if (challenge !== null) return { kind: "challenge", answer: { challenge } };
      return { kind: "task", upstreamId: str(j.task_id) };
    },
  };
}
