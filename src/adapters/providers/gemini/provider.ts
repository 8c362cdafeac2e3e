/**
 * Veo on the Gemini API (`kind: "gemini"`): `POST /v1beta/models/{model}:predictLongRunning`
 * answers a long-running operation `{name}`; `GET /v1beta/{name}` until `done`; the video is a
 * file on the API's host (`…/files/{id}:download?alt=media`), fetched with the key and kept
 * there 2 days. Auth is the `x-goog-api-key` header, never a Bearer token.
 *
 * Sources (details in mapping.ts): https://ai.google.dev/gemini-api/docs/video,
 * https://ai.google.dev/gemini-api/docs/troubleshooting, https://ai.google.dev/api/rest
 * (operations.cancel is documented only for tuned-model operations, not for Veo's
 * `models/*\/operations/*`), googleapis/js-genai `src/converters/_models_converters.ts`,
 * QuantumNous/new-api `relay/channel/task/gemini/`, BerriAI/litellm
 * `litellm/llms/gemini/videos/transformation.py`.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { errors, isReelayError, type ReelayError } from "../../../core/errors.js";
import { IMAGE_MIME, type ImageType, SNIFF_BYTES, sniffMedia } from "../../../core/media/media_types.js";
import type { VideoRequest } from "../../../core/tasks/task.js";
import type { SubmitContext, UpstreamProvider } from "../../../core/upstream/ports.js";
import type { ImageFetcher } from "../../net/safe-fetch.js";
import { type CallResult, type ChannelHttp, type Phase, upstreamMessage } from "../upstream/http.js";
import { type InputImage, imagesByRole } from "../upstream/images.js";
import { obj, str } from "../upstream/status.js";
import {
  channelFault,
  classOf,
  createPath,
  googleError,
  operationPath,
  predictBody,
  readOperation,
  type VeoImage,
  veoRoles,
  videoUriOf,
} from "./mapping.js";

/** Google's status name for an HTTP status, where the body does not say (a proxy's page). */
const STATUS_OF_HTTP: Record<number, string> = {
  400: "INVALID_ARGUMENT",
  401: "UNAUTHENTICATED",
  403: "PERMISSION_DENIED",
  404: "NOT_FOUND",
  429: "RESOURCE_EXHAUSTED",
  500: "INTERNAL",
  503: "UNAVAILABLE",
  504: "DEADLINE_EXCEEDED",
};

/** The channel's key as the Gemini API takes it. */
export const geminiAuthHeaders = (secret: string | null) => (): Record<string, string> =>
  secret ? { "x-goog-api-key": secret } : {};

export function createGeminiProvider(http: ChannelHttp, fetcher: ImageFetcher): UpstreamProvider {
  /** A non-2xx answer as Reelay's error: Google's status name decides who is at fault. */
  function refusal(res: CallResult, phase: Phase): ReelayError {
    const g = googleError(res.json);
    // A gateway timeout at create: the operation may exist; http.refusal says so.
    if (phase === "submit" && res.status === 504) return http.refusal(res, phase);
    const status = g.status ?? STATUS_OF_HTTP[res.status] ?? null;
    const cls = classOf(status, g.message, g.reason);
    if (phase === "submit" && cls === "content_policy")
      return errors.contentPolicy(http.channelId, status, g.message);
    // Not Google's envelope (a proxy's page, say): whatever words the answer has.
    const message = str(obj(obj(res.json).error).message)
      ? g.message
      : upstreamMessage(res.json, res.text).message;
    return errors.upstreamRejected(
      http.channelId,
      { status: res.status, code: status, message },
      { retryable: phase !== "submit" || channelFault(cls), retryAfterS: res.retryAfterS },
    );
  }

  /** An input image as base64 and its type: links are fetched here (the API takes no URLs). */
  async function veoImage(
    img: InputImage,
    request: VideoRequest,
    ctx: SubmitContext,
    n: number,
  ): Promise<VeoImage> {
    let path: string;
    if (img.url !== null) {
      path = join(ctx.workDir, `gemini-image-${n}`);
      await fetcher.fetchTo(img.url, path, {
        index: Math.max(0, request.images.indexOf(img.url)),
        signal: ctx.signal,
      });
    } else path = img.file;
    const bytes = await readFile(path);
    const type = sniffMedia(bytes.subarray(0, SNIFF_BYTES));
    const mimeType = type && type in IMAGE_MIME ? IMAGE_MIME[type as ImageType] : null;
    if (!mimeType)
      throw errors.upstreamRejected(
        http.channelId,
        { status: null, code: null, message: "an input image is not a PNG, JPEG, WebP or GIF" },
        { retryable: false },
      );
    return { bytesBase64Encoded: bytes.toString("base64"), mimeType };
  }

  async function operation(name: string, signal: AbortSignal): Promise<CallResult> {
    const res = await http.call("GET", operationPath(name), { phase: "poll", signal });
    if (res.status !== 200) throw refusal(res, "poll");
    if (res.json === undefined || typeof res.json !== "object")
      throw errors.upstreamRejected(
        http.channelId,
        { status: 200, code: null, message: "the operation is not JSON" },
        { retryable: true },
      );
    return res;
  }

  return {
    kind: "gemini",
    // predictLongRunning has no request id: an unanswered create is never sent again.
    idempotent: false,
    async submit(request, ctx) {
      const byRole = veoRoles(imagesByRole(request, ctx), request.imageRoles !== undefined);
      let n = 0;
      const one = (img: InputImage | null) =>
        img ? veoImage(img, request, ctx, n++) : Promise.resolve(null);
      const firstFrame = await one(byRole.firstFrame);
      const lastFrame = await one(byRole.lastFrame);
      const references: VeoImage[] = [];
      for (const r of byRole.references) {
        const image = await one(r);
        if (image) references.push(image);
      }
      const body = predictBody(request, { firstFrame, lastFrame, references });
      const res = await http.call("POST", createPath(ctx.upstreamModel), {
        phase: "submit",
        json: body,
        signal: ctx.signal,
      });
      if (res.status < 200 || res.status > 299) throw refusal(res, "submit");
      const name = str(obj(res.json).name);
      if (!name)
        throw errors.upstreamOutcomeUnknown(
          http.channelId,
          `a ${res.status} answer without an operation name`,
          false,
        );
      try {
        operationPath(name);
      } catch (e) {
        throw errors.upstreamOutcomeUnknown(http.channelId, (e as Error).message, false);
      }
      const status = readOperation(res.json);
      return {
        upstreamId: name,
        status: status.state === "running" ? { ...status, state: "queued" } : status,
      };
    },
    async poll(upstreamId, signal) {
      const res = await operation(upstreamId, signal);
      return { status: readOperation(res.json), retryAfterS: res.retryAfterS };
    },
    async fetchResult(upstreamId, workDir, signal) {
      // The link is not kept between polls: read it from the operation again (it is on the API's host).
      const res = await operation(upstreamId, signal);
      const uri = videoUriOf(res.json);
      if (!uri)
        throw errors.upstreamBadContent(http.channelId, "the finished operation names no video file", false);
      const videoPath = join(workDir, "upstream.mp4");
      try {
        await http.download(uri, videoPath, { expect: "video", signal });
      } catch (e) {
        // A file the API no longer has (kept 2 days, then deleted) will not come back: say so, once.
        if (isReelayError(e) && /HTTP (403|404|410)\b/.test(e.message))
          throw errors.upstreamBadContent(
            http.channelId,
            `the video file is gone upstream (the Gemini API keeps generated videos for 2 days): ${e.message}`,
            false,
          );
        throw e;
      }
      // Veo's videos carry Google's SynthID mark; the API has no visible-watermark field.
      return { videoPath, thumbnailPath: null, watermarked: null };
    },
    async cancel() {
      // The Gemini API documents no cancel for Veo operations (operations.cancel exists only for
      // tuned models): the task runs out upstream and Reelay drops its result.
    },
  };
}
