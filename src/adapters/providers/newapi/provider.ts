/**
 * Another new-api instance as the upstream (chains of new-api relays are common), through the
 * relay's own video task API, Bearer `sk-…` token:
 * - create `POST /v1/video/generations` `{model, prompt, duration, width, height, size, seed?,
 *   image?, metadata?: {negative_prompt}}` → `{task_id, status}` (new-api's handlers also answer
 *   `{id, task_id, object: "video", status, …}`);
 * - query  `GET /v1/video/generations/{task_id}` → the task (documented bare, served wrapped as
 *   `{code: "success", data: {…}}`; both read, see mapping.ts);
 * - result the task's `url` / `result_url`, else new-api's proxy `GET /v1/videos/{task_id}/content`
 *   (token auth). A vendor's link expires (new-api keeps what its vendor gave): fetched at once,
 *   through `http.download` (magic bytes, size, SSRF guard off the channel's origin).
 * new-api has no cancel for video tasks and no idempotency key. The model id is sent as the channel
 * knows it: a list-form channel sends Reelay's name (a new-api relay knows its own names); renames
 * go through the channel's `models` map.
 *
 * Sources: docs.newapi.pro/en/docs/api/ai-model/videos/createvideogeneration and
 * get-video-generation; QuantumNous/new-api `dto/video.go`, `router/video-router.go`,
 * `relay/relay_task.go`, `model/task.go`, `relay/common/relay_info.go`, `controller/relay.go`.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { errors, isReelayError, type ReelayError } from "../../../core/errors.js";
import { IMAGE_MIME, isImageType, SNIFF_BYTES, sniffMedia } from "../../../core/media/media_types.js";
import type { UpstreamProvider, UpstreamStatus } from "../../../core/upstream/ports.js";
import { createRefusal, unsupportedRequest } from "../upstream/create_answer.js";
import type { CallResult, ChannelHttp, Phase } from "../upstream/http.js";
import { upstreamMessage } from "../upstream/http.js";
import { type InputImage, imagesByRole } from "../upstream/images.js";
import {
  channelFault,
  classify,
  createBody,
  createdId,
  errorInBody,
  NewApiUnsupported,
  readTask,
} from "./mapping.js";

/** An uploaded image as the Base64 data URL new-api's `image` takes. */
async function asDataUrl(path: string): Promise<string> {
  const bytes = await readFile(path);
  const type = sniffMedia(bytes.subarray(0, SNIFF_BYTES));
  const mime = isImageType(type) ? IMAGE_MIME[type] : "image/jpeg";
  return `data:${mime};base64,${bytes.toString("base64")}`;
}

const imageOf = async (i: InputImage | null): Promise<string | null> =>
  i === null ? null : i.url !== null ? i.url : asDataUrl(i.file);

export function createNewApiProvider(http: ChannelHttp): UpstreamProvider {
  const taskPath = (id: string) => `v1/video/generations/${encodeURIComponent(id)}`;

  /** A new-api answer's error, if it is one (a non-2xx status, or a 2xx carrying an error). */
  function refusal(res: CallResult, phase: Phase): ReelayError | null {
    const ok = res.status >= 200 && res.status <= 299;
    const inBody = errorInBody(res.json);
    if (ok && !inBody) {
      if (res.json === undefined)
        return errors.upstreamRejected(
          http.channelId,
          { status: res.status, code: null, message: "the answer is not JSON" },
          { retryable: true },
        );
      return null;
    }
    const said = inBody ?? upstreamMessage(res.json, res.text);
    const c = classify(said, ok ? null : res.status);
    if (c === "content_policy")
      return errors.contentPolicy(http.channelId, said.code ?? "content_policy", said.message);
    if (!ok && phase === "submit" && res.status === 504) return http.refusal(res, phase);
    return errors.upstreamRejected(
      http.channelId,
      { status: res.status, code: said.code, message: said.message },
      { retryable: phase !== "submit" || channelFault(c), retryAfterS: res.retryAfterS },
    );
  }

  async function query(upstreamId: string, signal: AbortSignal): Promise<CallResult> {
    return http.call("GET", taskPath(upstreamId), { phase: "poll", signal });
  }

  return {
    kind: "newapi",
    // new-api documents no idempotency key for task creates (its own retries avoid re-sending them).
    idempotent: false,
    async submit(request, ctx) {
      const images = imagesByRole(request, ctx);
      let body: ReturnType<typeof createBody>;
      try {
        body = createBody({
          model: ctx.upstreamModel,
          prompt: request.prompt,
          duration: request.duration,
          width: request.width,
          height: request.height,
          ...(request.negativePrompt ? { negativePrompt: request.negativePrompt } : {}),
          ...(request.seed !== undefined ? { seed: request.seed } : {}),
          firstFrame: await imageOf(images.firstFrame),
          lastFrame: images.lastFrame !== null,
          references: images.references.length,
        });
      } catch (e) {
        if (!(e instanceof NewApiUnsupported)) throw e;
        throw unsupportedRequest(http.channelId, e.message);
      }
      const res = await http.call("POST", "v1/video/generations", {
        phase: "submit",
        json: body,
        signal: ctx.signal,
      });
      const refused = refusal(res, "submit");
      // A create answered 2xx without JSON may still have been taken: never sent elsewhere.
      if (refused) throw createRefusal(http.channelId, res, refused);
      const id = createdId(res.json);
      if (!id)
        throw errors.upstreamOutcomeUnknown(
          http.channelId,
          `a ${res.status} answer without a task_id`,
          false,
        );
      const t = readTask(res.json);
      const status: UpstreamStatus = {
        // A fresh task whose word is unknown (or says failed at once) is at least queued; the poll decides.
        state: t.known && (t.state === "queued" || t.state === "running") ? t.state : "queued",
        raw: t.raw,
        known: true,
        progress: null,
        error: null,
        enhancedPrompt: null,
      };
      return { upstreamId: id, status };
    },
    async poll(upstreamId, signal) {
      const res = await query(upstreamId, signal);
      const refused = refusal(res, "poll");
      // A refused query (credential, rate, a relay hiccup) says nothing about the task: passing.
      if (refused) throw refused;
      return { status: toStatus(readTask(res.json)), retryAfterS: res.retryAfterS };
    },
    async fetchResult(upstreamId, workDir, signal) {
      // Asked again at each try: the task's link as new-api holds it now, else its own proxy.
      const q = await query(upstreamId, signal);
      const refused = refusal(q, "poll");
      if (refused)
        throw errors.upstreamBadContent(http.channelId, `the task query failed: ${refused.message}`);
      const t = readTask(q.json);
      const url = t.url ?? `v1/videos/${encodeURIComponent(upstreamId)}/content`;
      const videoPath = join(workDir, "upstream.mp4");
      try {
        await http.download(url, videoPath, { expect: "video", signal });
      } catch (e) {
        if (!isReelayError(e) || e.code !== "upstream_bad_content") throw e;
        throw errors.upstreamBadContent(
          http.channelId,
          `new-api's result link for task ${upstreamId} did not give the video (it may have expired upstream): ${e.message.replace(/^Downloading the result from channel '[^']*' failed: /, "")}`,
          e.retryable,
        );
      }
      // new-api's task has no thumbnail and says nothing of a watermark.
      return { videoPath, thumbnailPath: null, watermarked: null };
    },
    async cancel() {
      // new-api has no cancel for video tasks: the task runs out upstream; Reelay stops following it.
    },
  };
}

function toStatus(t: ReturnType<typeof readTask>): UpstreamStatus {
  return {
    state: t.state,
    raw: t.raw,
    known: t.known,
    progress: t.progress,
    error: t.error,
    ...(t.seconds !== null && t.state === "completed" ? { usage: { seconds: t.seconds } } : {}),
    enhancedPrompt: null,
  };
}
