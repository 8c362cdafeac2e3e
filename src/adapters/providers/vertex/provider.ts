/**
 * Veo on Vertex AI (`kind: "vertex"`): `POST {baseUrl}/v1/projects/{p}/locations/{l}/publishers/
 * google/models/{model}:predictLongRunning` answers an operation `{name}`; `POST …:fetchPredictOperation
 * {operationName}` until `done`; the video comes back inline (`bytesBase64Encoded`) or, with the
 * channel's `storageUri`, as a `gcsUri` read from the Cloud Storage JSON API with the same token.
 * Auth: a service account's OAuth access token as Bearer (token.ts), renewed before each call.
 *
 * Sources (details in mapping.ts and token.ts): the Vertex AI Veo model reference
 * https://cloud.google.com/vertex-ai/generative-ai/docs/model-reference/veo-video-generation,
 * https://cloud.google.com/storage/docs/json_api/v1/objects/get (`alt=media`),
 * https://developers.google.com/identity/protocols/oauth2/service-account, googleapis/js-genai
 * `_models_converters.ts` (Vertex branch), BerriAI/litellm `litellm/llms/vertex_ai/videos/`,
 * QuantumNous/new-api `relay/channel/task/vertex/`. The Veo reference documents no cancel for
 * these operations: `cancel` is a no-op.
 */
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { request } from "undici";
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
  gcsMediaPath,
  googleError,
  modelOfOperation,
  modelPath,
  predictBody,
  readOperation,
  type VeoImage,
  type VertexPlace,
  veoRoles,
  videoOf,
} from "./mapping.js";
import type { TokenSource } from "./token.js";

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

export interface VertexOptions {
  readonly place: VertexPlace;
  readonly storageUri?: string;
  readonly tokens: TokenSource;
  /** The channel's API base (origin + prefix), for operation answers too large for `http.call`. */
  readonly baseUrl: string;
  readonly requestTimeoutMs: number;
  /** The largest video accepted; inline answers may be 4/3 of it (base64). */
  readonly maxDownloadBytes: number;
}

export function createVertexProvider(
  http: ChannelHttp,
  storage: ChannelHttp,
  fetcher: ImageFetcher,
  o: VertexOptions,
): UpstreamProvider {
  function refusal(res: CallResult, phase: Phase): ReelayError {
    const g = googleError(res.json);
    if (phase === "submit" && res.status === 504) return http.refusal(res, phase);
    const status = g.status ?? STATUS_OF_HTTP[res.status] ?? null;
    const cls = classOf(status, g.message, g.reason);
    if (phase === "submit" && cls === "content_policy")
      return errors.contentPolicy(http.channelId, status, g.message);
    const message = str(obj(obj(res.json).error).message)
      ? g.message
      : upstreamMessage(res.json, res.text).message;
    return errors.upstreamRejected(
      http.channelId,
      { status: res.status, code: status, message },
      { retryable: phase !== "submit" || channelFault(cls), retryAfterS: res.retryAfterS },
    );
  }

  async function veoImage(
    img: InputImage,
    request: VideoRequest,
    ctx: SubmitContext,
    n: number,
  ): Promise<VeoImage> {
    let path: string;
    if (img.url !== null) {
      // Vertex takes bytes or gs:// URIs, not web links: fetched here through the SSRF guard.
      path = join(ctx.workDir, `vertex-image-${n}`);
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

  /**
   * `fetchPredictOperation`, read with its own body limit: a done operation may carry the whole
   * video inline as base64, larger than `http.call` reads.
   */
  async function operation(name: string, signal: AbortSignal): Promise<CallResult> {
    let model: string;
    try {
      model = modelOfOperation(name);
    } catch (e) {
      throw errors.upstreamRejected(
        http.channelId,
        { status: null, code: null, message: (e as Error).message },
        {
          retryable: false,
        },
      );
    }
    await o.tokens.ensure(signal);
    const base = new URL(o.baseUrl.endsWith("/") ? o.baseUrl : `${o.baseUrl}/`);
    const limit = Math.ceil((o.maxDownloadBytes * 4) / 3) + 1024 * 1024;
    let res: CallResult;
    try {
      const r = await request(new URL(modelPath(o.place, model, "fetchPredictOperation"), base), {
        method: "POST",
        headers: { accept: "application/json", "content-type": "application/json", ...o.tokens.headers() },
        body: JSON.stringify({ operationName: name }),
        signal: AbortSignal.any([signal, AbortSignal.timeout(o.requestTimeoutMs)]),
      });
      const chunks: Buffer[] = [];
      let size = 0;
      for await (const c of r.body) {
        const b = c as Buffer;
        size += b.length;
        if (size > limit) {
          r.body.destroy();
          throw errors.upstreamBadContent(
            http.channelId,
            `the operation's answer is over ${limit} bytes`,
            false,
          );
        }
        chunks.push(b);
      }
      const text = Buffer.concat(chunks).toString("utf8");
      let json: unknown;
      try {
        json = text ? JSON.parse(text) : undefined;
      } catch {
        json = undefined;
      }
      res = { status: r.statusCode, retryAfterS: null, json, text: text.slice(0, 4096) };
    } catch (e) {
      if (isReelayError(e)) throw e;
      if (signal.aborted) throw signal.reason;
      throw errors.upstreamRejected(
        http.channelId,
        { status: null, code: null, message: (e as Error).message },
        {
          retryable: true,
        },
      );
    }
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
    kind: "vertex",
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
      const body = predictBody(request, { firstFrame, lastFrame, references }, o.storageUri);
      await o.tokens.ensure(ctx.signal);
      const res = await http.call("POST", modelPath(o.place, ctx.upstreamModel, "predictLongRunning"), {
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
        modelOfOperation(name);
      } catch (e) {
        throw errors.upstreamOutcomeUnknown(http.channelId, (e as Error).message, false);
      }
      return { upstreamId: name, status: { ...readOperation({}), state: "queued" } };
    },
    async poll(upstreamId, signal) {
      const res = await operation(upstreamId, signal);
      return { status: readOperation(res.json), retryAfterS: res.retryAfterS };
    },
    async fetchResult(upstreamId, workDir, signal) {
      const res = await operation(upstreamId, signal);
      const video = videoOf(res.json);
      if (!video)
        throw errors.upstreamBadContent(http.channelId, "the finished operation holds no video", false);
      const videoPath = join(workDir, "upstream.mp4");
      if ("base64" in video) {
        const bytes = Buffer.from(video.base64, "base64");
        if (bytes.length > o.maxDownloadBytes)
          throw errors.upstreamBadContent(
            http.channelId,
            `the video is over ${o.maxDownloadBytes} bytes`,
            false,
          );
        if (sniffMedia(bytes.subarray(0, SNIFF_BYTES)) !== "mp4")
          throw errors.upstreamBadContent(http.channelId, "the inline video is not an MP4", false);
        await writeFile(videoPath, bytes);
      } else {
        let path: string;
        try {
          path = gcsMediaPath(video.gcsUri);
        } catch (e) {
          throw errors.upstreamBadContent(http.channelId, (e as Error).message, false);
        }
        await o.tokens.ensure(signal);
        try {
          await storage.download(path, videoPath, { expect: "video", signal });
        } catch (e) {
          // An object deleted (a bucket lifecycle rule) or no longer readable will not come back.
          if (isReelayError(e) && /HTTP (403|404|410)\b/.test(e.message))
            throw errors.upstreamBadContent(
              http.channelId,
              `the video ${video.gcsUri} is gone or unreadable in Cloud Storage: ${e.message}`,
              false,
            );
          throw e;
        }
      }
      // Veo's videos carry Google's SynthID mark; the API has no visible-watermark switch.
      return { videoPath, thumbnailPath: null, watermarked: null };
    },
    async cancel() {
      // The Vertex AI Veo reference documents no cancel for predictLongRunning operations: the
      // operation runs out upstream and Reelay drops its result.
    },
  };
}
