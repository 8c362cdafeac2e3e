/**
 * Kling AI's own API (api-singapore.klingai.com): `POST /v1/videos/text2video` or
 * `/v1/videos/image2video`, then `GET /v1/videos/<endpoint>/{task_id}` until `succeed` or `failed`,
 * the video at `data.task_result.videos[0].url` (kept by Kling for 30 days; Reelay re-hosts it at
 * once). Every answer is `{code, message, request_id, data}`; a non-zero `code` is Kling's reason
 * (mapping.ts classifies it). Credentials: an API key as `Bearer`, or access key + secret key as a
 * short-lived HS256 JWT (jwt.ts), chosen by the channel's configuration (wiring).
 *
 * Kling documents no cancel endpoint: `cancel` is a no-op (the task runs on there, Reelay stops
 * following it). Creates carry Reelay's task id as `external_task_id`, by which Kling lets a task be
 * queried: before creating, the adapter asks whether that id already exists, so a create whose
 * answer was lost is recognised instead of made twice (`idempotent`).
 *
 * Sources: Kling AI API reference (app.klingai.com/global/dev/document-api: General Information,
 * Text to Video, Image to Video), QuantumNous/new-api relay/channel/task/kling/adaptor.go.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { errors, type ReelayError } from "../../../core/errors.js";
import type { UpstreamProvider, UpstreamStatus } from "../../../core/upstream/ports.js";
import { unsignedCallback } from "../upstream/callbacks.js";
import type { CallResult, ChannelHttp, Phase } from "../upstream/http.js";
import { type InputImage, imagesByRole } from "../upstream/images.js";
import {
  buildCreateBody,
  classOfCode,
  decodeUpstreamId,
  encodeUpstreamId,
  type KlingEndpoint,
  type KlingTask,
  klingError,
  readKlingTask,
  taskPath,
} from "./mapping.js";

/** A link as it is; an uploaded file as raw base64, without a `data:` prefix (as Kling asks). */
const imageValue = async (img: InputImage | null): Promise<string | null> =>
  img === null ? null : img.url !== null ? img.url : (await readFile(img.file)).toString("base64");

const statusOf = (t: KlingTask): UpstreamStatus => {
  const { taskId: _id, videoUrl: _url, ...status } = t;
  return status;
};

export function createKlingProvider(http: ChannelHttp): UpstreamProvider {
  const channel = http.channelId;

  /** The error for an answer that is not a success: Kling's code when it gave one, else HTTP's. */
  function refusal(res: CallResult, phase: Phase): ReelayError {
    const said = klingError(res.json);
    const cls = said.code === null ? null : classOfCode(said.code);
    if (cls === null) return http.refusal(res, phase);
    const code = String(said.code);
    if (phase === "submit" && cls === "content_policy")
      return errors.contentPolicy(channel, code, said.message);
    return errors.upstreamRejected(
      channel,
      { status: res.status, code, message: said.message },
      {
        // At submit, the request's own faults are final; the channel's go elsewhere. Polls retry.
        retryable: phase !== "submit" || (cls !== "invalid_request" && cls !== "content_policy"),
        retryAfterS: res.retryAfterS,
      },
    );
  }

  const ok = (res: CallResult) => res.status === 200 && klingError(res.json).code === 0;

  async function query(upstreamId: string, signal: AbortSignal) {
    const { endpoint, taskId } = decodeUpstreamId(upstreamId);
    const res = await http.call("GET", taskPath(endpoint, taskId), { phase: "poll", signal });
    if (!ok(res)) {
      if (res.json === undefined && res.status === 200)
        throw errors.upstreamRejected(
          channel,
          { status: 200, code: null, message: "the query answer is not JSON" },
          { retryable: true },
        );
      throw refusal(res, "poll");
    }
    return { task: readKlingTask(res.json), retryAfterS: res.retryAfterS };
  }

  /**
   * The task an earlier create with this `external_task_id` made, if Kling has one. A "no such
   * task" answer (1201–1203, 404) means none; the channel's faults (credential, quota, 5xx) throw.
   */
  async function existing(endpoint: KlingEndpoint, taskId: string, signal: AbortSignal) {
    // Read as a poll: a lookup that got no answer created nothing, so another channel may take
    // the task (a create's lost answer is another matter, see submit).
    const res = await http.call("GET", taskPath(endpoint, taskId), { phase: "poll", signal });
    if (ok(res)) {
      const t = readKlingTask(res.json);
      return t.taskId ? t : null;
    }
    const said = klingError(res.json);
    const cls = said.code === null ? null : classOfCode(said.code);
    if (cls === "invalid_request" || (cls === null && (res.status === 404 || res.status === 400)))
      return null;
    throw refusal(res, "submit");
  }

  return {
    kind: "kling",
    idempotent: true,
    async submit(request, ctx) {
      const images = imagesByRole(request, ctx);
      const { endpoint, body } = buildCreateBody(request, {
        model: ctx.upstreamModel,
        taskId: ctx.taskId,
        firstFrame: await imageValue(images.firstFrame),
        lastFrame: await imageValue(images.lastFrame),
      });
      const found = await existing(endpoint, ctx.taskId, ctx.signal);
      if (found?.taskId)
        return { upstreamId: encodeUpstreamId(endpoint, found.taskId), status: statusOf(found) };
      const res = await http.call("POST", `v1/videos/${endpoint}`, {
        phase: "submit",
        // Kling posts the task to `callback_url` when its status changes (its "Callback Protocol").
        json: ctx.callbackUrl ? { ...body, callback_url: ctx.callbackUrl } : body,
        signal: ctx.signal,
        resendable: true,
      });
      if (!ok(res)) {
        // An earlier create with this external_task_id may have landed after the lookup (its
        // answer lost, this one refused as a duplicate): look once more before calling it refused.
        const said = klingError(res.json);
        if (said.code !== null && classOfCode(said.code) === "invalid_request") {
          const late = await existing(endpoint, ctx.taskId, ctx.signal);
          if (late?.taskId)
            return { upstreamId: encodeUpstreamId(endpoint, late.taskId), status: statusOf(late) };
        }
        throw refusal(res, "submit");
      }
      const task = readKlingTask(res.json);
      if (!task.taskId)
        throw errors.upstreamOutcomeUnknown(channel, `a ${res.status} answer without data.task_id`, true);
      const status = statusOf(task);
      return {
        upstreamId: encodeUpstreamId(endpoint, task.taskId),
        status: status.known ? status : { ...status, state: "queued" },
      };
    },
    async poll(upstreamId, signal) {
      const { task, retryAfterS } = await query(upstreamId, signal);
      return { status: statusOf(task), retryAfterS };
    },
    async fetchResult(upstreamId, workDir, signal) {
      // Ask for the task again right before downloading: the freshest link it has.
      const { task } = await query(upstreamId, signal);
      if (!task.videoUrl) throw errors.upstreamBadContent(channel, "the finished task has no video url");
      const videoPath = join(workDir, "upstream.mp4");
      await http.download(task.videoUrl, videoPath, { expect: "video", signal });
      // Kling's result is not watermarked unless `watermark_info` asked for an extra copy; it does
      // not say so on the task, hence null.
      return { videoPath, thumbnailPath: null, watermarked: null };
    },
    async cancel() {
      // Kling's API has no cancel endpoint (its reference lists create and query only): nothing to send.
    },
    async verifyCallback(req) {
      // Kling does not sign its callbacks: the URL's token was the check. The body is the task
      // (`task_id`, `task_status`, …), whose id Reelay keeps with its endpoint: not compared.
      return unsignedCallback(req, () => null);
    },
  };
}
