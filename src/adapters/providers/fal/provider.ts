/**
 * fal.ai's queue API (`https://queue.fal.run`), `Authorization: Key <key>`:
 * - submit  `POST /{endpoint id}` with the model's own JSON input (built from the catalogue's
 *   `inputs`, see mapping.ts) → `{request_id, status_url, response_url, cancel_url}`;
 * - status  `GET /{owner}/{app}/requests/{id}/status?logs=1` → `{status: IN_QUEUE | IN_PROGRESS |
 *   COMPLETED, queue_position?}`;
 * - result  `GET /{owner}/{app}/requests/{id}` → the model's output, `{video: {url, content_type,
 *   file_size}}`, or the request's error (a model error `{detail: [{loc, msg, type}]}`, 422 for
 *   invalid input or `content_policy_violation`; a request error `{detail, error_type}`);
 * - cancel  `PUT /{owner}/{app}/requests/{id}/cancel`.
 * A request that failed is still `COMPLETED` in the queue: on completion the result is read at
 * once to tell a video from a failure. The video is on fal's CDN (another origin: the download
 * passes the SSRF guard, without the key). fal documents no de-duplication of submits.
 *
 * Sources: https://docs.fal.ai/model-apis/model-endpoints/queue, https://fal.ai/docs/inference-api/
 * queue/cancel, https://docs.fal.ai/documentation/model-apis/errors and …/request-errors,
 * fal-ai/fal-js (`parseEndpointId`, `Key` auth); the models' fal pages (see
 * src/core/catalogue/builtin/fal.ts); more in mapping.ts.
 */
import { open } from "node:fs/promises";
import { join } from "node:path";
import type { ModelTable } from "../../../core/catalogue/models.js";
import { errors, type ReelayError } from "../../../core/errors.js";
import { IMAGE_MIME, isImageType, SNIFF_BYTES, sniffMedia } from "../../../core/media/media_types.js";
import { aspectRatioOf, hasFirstFrame, resolutionOf, type VideoRequest } from "../../../core/tasks/task.js";
import type { UpstreamProvider, UpstreamStatus } from "../../../core/upstream/ports.js";
import {
  cachedKeys,
  ed25519Keys,
  falSignatureValid,
  falSignedMessage,
  unsignedCallback,
} from "../upstream/callbacks.js";
import { unsupportedRequest } from "../upstream/create_answer.js";
import type { CallResult, ChannelHttp, Phase } from "../upstream/http.js";
import { type InputImage, imagesByRole } from "../upstream/images.js";
import { obj, str } from "../upstream/status.js";
import {
  buildInput,
  classifyError,
  DEFAULT_INPUTS,
  FalUnsupported,
  falAppId,
  isFalEnvelope,
  parseUpstreamId,
  queuePaths,
  readStatus,
  upstreamIdOf,
  videoUrlOf,
} from "./mapping.js";

/** The channel's key as fal takes it: `Authorization: Key <key>`, not Bearer. */
export const falAuthHeaders = (secret: string | null) => (): Record<string, string> =>
  secret ? { authorization: `Key ${secret}` } : {};

/** An uploaded image as the base64 data URI fal's file inputs take. */
async function asDataUri(path: string): Promise<string> {
  const f = await open(path, "r");
  try {
    const bytes = await f.readFile();
    const type = sniffMedia(bytes.subarray(0, SNIFF_BYTES));
    const mime = isImageType(type) ? IMAGE_MIME[type] : "image/jpeg";
    return `data:${mime};base64,${bytes.toString("base64")}`;
  } finally {
    await f.close();
  }
}

const validRequestId = (id: string): boolean => {
  try {
    parseUpstreamId(upstreamIdOf("fal-ai/app", id));
    return true;
  } catch {
    return false;
  }
};

const toFal = async (i: InputImage | null): Promise<string | null> =>
  i === null ? null : i.url !== null ? i.url : asDataUri(i.file);

/** Where fal publishes the public keys of its webhook signatures. */
export const FAL_JWKS_URL = "https://rest.alpha.fal.ai/.well-known/jwks.json";

/**
 * @param webhookKeys fetches fal's JWKS (for channels that take callbacks): its keys verify the
 *   webhooks fal posts to `fal_webhook`.
 */
export function createFalProvider(
  http: ChannelHttp,
  models: ModelTable,
  webhookKeys?: (signal: AbortSignal) => Promise<unknown>,
): UpstreamProvider {
  const keys = webhookKeys ? cachedKeys(async (signal) => ed25519Keys(await webhookKeys(signal))) : null;
  /** A fal refusal as Reelay's error for `phase`. */
  function refusal(res: CallResult, phase: Phase): ReelayError {
    // A gateway's 504 to a submit may hide a request fal took (outcome unknown); bare 5xx pages too.
    if ((res.json === undefined && res.status >= 500) || (phase === "submit" && res.status === 504))
      return http.refusal(res, phase);
    const e = classifyError(res.status, res.json, res.text);
    if (e.class === "content_policy")
      return errors.contentPolicy(http.channelId, e.code ?? "content_policy_violation", e.message);
    return errors.upstreamRejected(
      http.channelId,
      { status: res.status, code: e.code, message: e.message },
      // At poll every refusal is passing (the request is still at fal); at submit only the channel's.
      { retryable: phase !== "submit" || e.channelFault, retryAfterS: res.retryAfterS },
    );
  }

  const ok = (res: CallResult) => res.status >= 200 && res.status <= 299;

  async function input(request: VideoRequest, ctx: Parameters<UpstreamProvider["submit"]>[1]) {
    const model = models.get(request.model);
    const images = imagesByRole(request, ctx);
    const firstFrame = await toFal(images.firstFrame);
    const lastFrame = await toFal(images.lastFrame);
    const references: string[] = [];
    for (const r of images.references) {
      const v = await toFal(r);
      if (v !== null) references.push(v);
    }
    return buildInput(
      {
        prompt: request.prompt,
        duration: request.duration,
        // From a first frame, a model that takes the image's aspect is not sent one.
        aspectRatio:
          model?.accepts?.aspectFromFirstFrame && hasFirstFrame(request) ? null : aspectRatioOf(request),
        resolution: resolutionOf(request),
        ...(request.negativePrompt === undefined ? {} : { negativePrompt: request.negativePrompt }),
        ...(request.seed === undefined ? {} : { seed: request.seed }),
        ...(request.audio === undefined ? {} : { audio: request.audio }),
        firstFrame,
        lastFrame,
        references,
      },
      model?.inputs ?? DEFAULT_INPUTS,
    );
  }

  /** The request's result answer: the output, or the request's stored error. */
  async function result(upstreamId: string, signal: AbortSignal): Promise<CallResult> {
    return http.call("GET", queuePaths(upstreamId).response, { phase: "poll", signal });
  }

  return {
    kind: "fal",
    // fal documents no idempotency key for queue submits: a create whose answer was lost is not re-sent.
    idempotent: false,
    async submit(request, ctx) {
      let body: Record<string, unknown>;
      try {
        falAppId(ctx.upstreamModel);
        body = await input(request, ctx);
      } catch (e) {
        if (!(e instanceof FalUnsupported)) throw e;
        throw unsupportedRequest(http.channelId, e.message);
      }
      const app = ctx.upstreamModel.replace(/^\/+/, "");
      // fal posts the result to `fal_webhook` when the request ends (signed: see verifyCallback).
      const path = ctx.callbackUrl ? `${app}?fal_webhook=${encodeURIComponent(ctx.callbackUrl)}` : app;
      const res = await http.call("POST", path, { phase: "submit", json: body, signal: ctx.signal });
      if (!ok(res)) throw refusal(res, "submit");
      const requestId = str(obj(res.json).request_id);
      if (!requestId || !validRequestId(requestId))
        throw errors.upstreamOutcomeUnknown(
          http.channelId,
          `a ${res.status} answer without a usable request_id`,
          false,
        );
      const status: UpstreamStatus = {
        state: "queued",
        raw: str(obj(res.json).status),
        known: true,
        progress: null,
        error: null,
        enhancedPrompt: null,
      };
      return { upstreamId: upstreamIdOf(ctx.upstreamModel, requestId), status };
    },
    async poll(upstreamId, signal) {
      const res = await http.call("GET", queuePaths(upstreamId).status, { phase: "poll", signal });
      if (!ok(res)) throw refusal(res, "poll");
      const q = readStatus(res.json);
      const base = { raw: q.raw, known: q.known, progress: null, enhancedPrompt: null };
      if (q.state !== "completed") {
        const status: UpstreamStatus = { ...base, state: q.state, error: null };
        return { status, retryAfterS: res.retryAfterS };
      }
      // COMPLETED covers failures too: the result answer tells.
      const r = await result(upstreamId, signal);
      if (ok(r)) {
        const status: UpstreamStatus = videoUrlOf(r.json)
          ? { ...base, state: "completed", progress: 100, error: null }
          : {
              ...base,
              state: "failed",
              error: {
                code: "no_video",
                message: "fal's result has no video.url",
                class: "result_unavailable",
              },
            };
        return { status, retryAfterS: r.retryAfterS };
      }
      // Without fal's error envelope the answer is a passing failure (a proxy's 502, say).
      if (!isFalEnvelope(r.json)) throw refusal(r, "poll");
      const e = classifyError(r.status, r.json, r.text);
      const status: UpstreamStatus = {
        ...base,
        state: "failed",
        error: { code: e.code, message: e.message, class: e.class },
      };
      return { status, retryAfterS: r.retryAfterS };
    },
    async fetchResult(upstreamId, workDir, signal) {
      // Read again at each try: a retried download starts from the result answer.
      const r = await result(upstreamId, signal);
      if (!ok(r))
        throw errors.upstreamBadContent(
          http.channelId,
          `fal's result answer failed: ${refusal(r, "poll").message}`,
        );
      const url = videoUrlOf(r.json);
      if (!url) throw errors.upstreamBadContent(http.channelId, "fal's result has no video.url", false);
      const videoPath = join(workDir, "upstream.mp4");
      await http.download(url, videoPath, { expect: "video", signal });
      // fal's video outputs carry no thumbnail and say nothing of a watermark.
      return { videoPath, thumbnailPath: null, watermarked: null };
    },
    async cancel(upstreamId, signal) {
      const res = await http.call("PUT", queuePaths(upstreamId).cancel, { phase: "cancel", signal });
      if (ok(res)) return;
      // Too late or gone: nothing left to stop.
      const said = str(obj(res.json).status);
      if (said === "ALREADY_COMPLETED" || said === "NOT_FOUND") return;
      throw refusal(res, "cancel");
    },
    async verifyCallback(req) {
      if (!keys) return { kind: "refused", reason: "this channel has no fal webhook keys" };
      const signed = falSignedMessage(req);
      if (typeof signed === "string") return { kind: "refused", reason: signed };
      let valid = falSignatureValid(signed, await keys.get(req.signal, req.now));
      if (!valid) {
        // fal may have rotated its keys since they were fetched.
        const fresh = keys.refresh(req.signal, req.now);
        if (fresh) valid = falSignatureValid(signed, await fresh);
      }
      if (!valid) return { kind: "refused", reason: "the webhook signature does not verify with fal's keys" };
      // The body (`request_id`, `status` OK|ERROR, `payload`) is not trusted: the poll reads the task.
      return unsignedCallback(req, () => null);
    },
  };
}
