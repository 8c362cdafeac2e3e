/**
 * Alibaba Wan on DashScope / Model Studio (`https://dashscope.aliyuncs.com`, or the international
 * `https://dashscope-intl.aliyuncs.com`): `POST /api/v1/services/aigc/video-generation/video-synthesis`
 * with `X-DashScope-Async: enable` (the API refuses synchronous calls), then
 * `GET /api/v1/tasks/{task_id}` until the task ends; `output.video_url` is a signed link that
 * lives 24 hours, so the result is downloaded as soon as the task succeeds (the poller re-hosts
 * it). Cancel: `POST /api/v1/tasks/{task_id}/cancel`, which DashScope honours for queued
 * (PENDING) tasks only. Auth: `Authorization: Bearer <API key>` (the default channel scheme).
 *
 * Sources: see mapping.ts (Model Studio text-to-video, image-to-video, asynchronous task and
 * error-code references on alibabacloud.com; QuantumNous/new-api relay/channel/task/ali).
 */
import { join } from "node:path";
import { errors, type ReelayError } from "../../../core/errors.js";
import type { UpstreamProvider } from "../../../core/upstream/ports.js";
import type { CallResult, ChannelHttp, Phase } from "../upstream/http.js";
import { imagesByRole } from "../upstream/images.js";
import { obj, str } from "../upstream/status.js";
import { dataUrlOf } from "../upstream/unified-relay.js";
import {
  buildBody,
  classOf,
  DashScopeMappingError,
  isChannelFault,
  linkExpiredAt,
  readError,
  readTask,
} from "./mapping.js";

const CREATE = "api/v1/services/aigc/video-generation/video-synthesis";
const task = (id: string) => `api/v1/tasks/${encodeURIComponent(id)}`;

export function createDashScopeProvider(http: ChannelHttp): UpstreamProvider {
  /** A refusal in DashScope's envelope (`{request_id, code, message}`), classified by its code. */
  const refusal = (res: CallResult, phase: Phase): ReelayError => {
    const said = readError(res.json, res.text);
    const cls = classOf(said.code, res.status >= 200 && res.status < 300 ? null : res.status);
    if (cls === "content_policy") return errors.contentPolicy(http.channelId, said.code, said.message);
    // 504 at submit: the create may have been taken (http.refusal says so).
    if (phase === "submit" && res.status === 504) return http.refusal(res, phase);
    return errors.upstreamRejected(
      http.channelId,
      { status: res.status, code: said.code, message: said.message },
      { retryable: phase !== "submit" || isChannelFault(cls), retryAfterS: res.retryAfterS },
    );
  };

  const query = async (id: string, signal: AbortSignal) => {
    const res = await http.call("GET", task(id), { phase: "poll", signal });
    if (res.status !== 200) throw refusal(res, "poll");
    if (res.json === undefined)
      throw errors.upstreamRejected(
        http.channelId,
        { status: 200, code: null, message: "the task answer is not JSON" },
        { retryable: true },
      );
    // A 200 that carries an error envelope and no task.
    if (str(obj(res.json).code) && !str(obj(obj(res.json).output).task_status)) throw refusal(res, "poll");
    return { status: readTask(res.json), retryAfterS: res.retryAfterS };
  };

  return {
    kind: "dashscope",
    // DashScope documents no idempotency key: an unanswered create is never re-sent.
    idempotent: false,
    async submit(request, ctx) {
      const { firstFrame } = imagesByRole(request, ctx);
      // Links go as they are; uploads as the data URL the image-to-video reference documents.
      const frame = firstFrame ? (firstFrame.url ?? (await dataUrlOf(firstFrame.file))) : null;
      let body: ReturnType<typeof buildBody>;
      try {
        body = buildBody(request, ctx.upstreamModel, frame);
      } catch (e) {
        if (!(e instanceof DashScopeMappingError)) throw e;
        throw errors.upstreamRejected(
          http.channelId,
          { status: null, code: "InvalidParameter", message: `${e.param}: ${e.message}` },
          { retryable: false },
        );
      }
      const res = await http.call("POST", CREATE, {
        phase: "submit",
        json: body,
        headers: { "x-dashscope-async": "enable" },
        signal: ctx.signal,
      });
      if (res.status < 200 || res.status > 299) throw refusal(res, "submit");
      if (str(obj(res.json).code)) throw refusal(res, "submit");
      const id = str(obj(obj(res.json).output).task_id);
      if (!id)
        throw errors.upstreamOutcomeUnknown(
          http.channelId,
          `a ${res.status} answer without a task_id`,
          false,
        );
      const status = readTask(res.json);
      return { upstreamId: id, status: status.known ? status : { ...status, state: "queued" } };
    },
    poll: query,
    async fetchResult(upstreamId, workDir, signal) {
      // The link is signed and expires: read the task again for the current one.
      const { status } = await query(upstreamId, signal);
      if (!status.videoUrl)
        throw errors.upstreamBadContent(
          http.channelId,
          `the task is '${status.raw ?? "without status"}' and has no video_url`,
          status.state !== "expired",
        );
      const expired = linkExpiredAt(status.videoUrl, Date.now());
      if (expired)
        throw errors.upstreamBadContent(
          http.channelId,
          `the result link expired at ${expired} (DashScope keeps video_url for 24 hours)`,
          false,
        );
      const videoPath = join(workDir, "upstream.mp4");
      await http.download(status.videoUrl, videoPath, { expect: "video", signal });
      // DashScope's task answer does not say whether the video carries its watermark.
      return { videoPath, thumbnailPath: null, watermarked: null };
    },
    async cancel(upstreamId, signal) {
      // Only a PENDING task can be cancelled; a running one answers an error, which is fine
      // (best effort: Reelay stops following it either way).
      await http.call("POST", `${task(upstreamId)}/cancel`, { phase: "cancel", signal });
    },
  };
}
