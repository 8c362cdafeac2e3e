/**
 * An upstream with OpenAI's Videos API shape (`POST /v1/videos` multipart as the official client
 * sends it, `GET /v1/videos/{id}`, `GET /v1/videos/{id}/content`): new-api and similar relays serve
 * it. The first reference image goes as `input_reference`; a link is fetched here first, through
 * the same SSRF guard as every image link.
 */
import { openAsBlob } from "node:fs";
import { join } from "node:path";
import { FormData } from "undici";
import { errors } from "../../../core/errors.js";
import type { UpstreamProvider, UpstreamStatus } from "../../../core/upstream/ports.js";
import type { ImageFetcher } from "../../net/safe-fetch.js";
import type { CallResult, ChannelHttp } from "./http.js";
import { upstreamMessage } from "./http.js";
import { normaliseProgress, normaliseStatus, obj, str } from "./status.js";

export function readOpenAiVideo(json: unknown): UpstreamStatus {
  const v = obj(json);
  const s = normaliseStatus(v.status);
  const failed = s.state === "failed" || s.state === "expired";
  const said = failed ? upstreamMessage(v, "") : null;
  return {
    state: s.state,
    raw: s.raw,
    known: s.known,
    progress: normaliseProgress(v.progress, undefined),
    error: said
      ? {
          code: said.code,
          message:
            said.message !== "no reason given" ? said.message : `the upstream reports status '${s.raw}'`,
        }
      : null,
    enhancedPrompt: null,
  };
}

export function createOpenAiVideosProvider(http: ChannelHttp, fetcher: ImageFetcher): UpstreamProvider {
  const path = (id: string) => `v1/videos/${encodeURIComponent(id)}`;
  /** A create's (or remix's) answer: the new video's id and state, or why it is not one. */
  const accepted = (res: CallResult) => {
    if (res.status < 200 || res.status > 299) throw http.refusal(res, "submit");
    const id = str(obj(res.json).id);
    if (!id)
      throw errors.upstreamOutcomeUnknown(http.channelId, `a ${res.status} answer without a video id`, false);
    const status = readOpenAiVideo(res.json);
    // A status it did not recognise on a fresh video: it is at least queued.
    return { upstreamId: id, status: status.known ? status : { ...status, state: "queued" as const } };
  };
  return {
    kind: "openai",
    // OpenAI's Videos API documents no idempotency key: an unanswered create is not re-sent.
    idempotent: false,
    async submit(request, ctx) {
      const form = new FormData();
      form.set("prompt", request.prompt);
      form.set("model", ctx.upstreamModel);
      form.set("seconds", String(request.duration));
      form.set("size", `${request.width}x${request.height}`);
      let image = ctx.imageFiles[0] ?? null;
      const link = request.images[0];
      if (link !== undefined) {
        image = join(ctx.workDir, "input_reference");
        await fetcher.fetchTo(link, image, { index: 0, signal: ctx.signal });
      }
      if (image) form.set("input_reference", await openAsBlob(image), "input_reference");
      const res = await http.call("POST", "v1/videos", {
        phase: "submit",
        form,
        headers: { "idempotency-key": ctx.taskId },
        signal: ctx.signal,
      });
      return accepted(res);
    },
    async remix(sourceUpstreamId, request, ctx) {
      const res = await http.call("POST", `${path(sourceUpstreamId)}/remix`, {
        phase: "submit",
        json: { prompt: request.prompt },
        headers: { "idempotency-key": ctx.taskId },
        signal: ctx.signal,
      });
      return accepted(res);
    },
    async poll(upstreamId, signal) {
      const res = await http.call("GET", path(upstreamId), { phase: "poll", signal });
      if (res.status !== 200) throw http.refusal(res, "poll");
      if (res.json === undefined)
        throw errors.upstreamRejected(
          http.channelId,
          { status: 200, code: null, message: "the answer is not JSON" },
          { retryable: true },
        );
      return { status: readOpenAiVideo(res.json), retryAfterS: res.retryAfterS };
    },
    async fetchResult(upstreamId, workDir, signal) {
      const videoPath = join(workDir, "upstream.mp4");
      await http.download(`${path(upstreamId)}/content`, videoPath, { expect: "video", signal });
      const thumb = join(workDir, "upstream-thumb");
      const thumbnailPath = await http
        .download(`${path(upstreamId)}/content?variant=thumbnail`, thumb, { expect: "image", signal })
        .then(
          () => thumb,
          () => null,
        );
      // OpenAI's Video object has no watermark field.
      return { videoPath, thumbnailPath, watermarked: null };
    },
    async cancel(upstreamId, signal) {
      // OpenAI's API has no cancel; deleting the video is how its clients stop one.
      await http.call("DELETE", path(upstreamId), { phase: "cancel", signal });
    },
  };
}
