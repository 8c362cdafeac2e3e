/**
 * Replicate's predictions API, at `https://api.replicate.com`, Bearer token:
 * - create  `POST /v1/models/{owner}/{name}/predictions {input}` (an official model named
 *   `owner/name`) or `POST /v1/predictions {version, input}` (a version: `owner/name:<64-hex>` or the
 *   bare id) → the prediction `{id, status: "starting", urls: {get, cancel}, …}` (201);
 * - poll    `GET /v1/predictions/{id}` → `{status: starting|processing|succeeded|failed|canceled,
 *   output (a URL or a list of URLs), error, logs, metrics: {predict_time}}`;
 * - cancel  `POST /v1/predictions/{id}/cancel`.
 * Each model names its own inputs: the catalogue's `inputs` map (`ModelCapability.inputs`) says
 * which of Reelay's values go under which field, with fixed inputs. Output files live on
 * `replicate.delivery` and are deleted about an hour after the prediction ends: fetched at once
 * (through `http.download`: off the channel's origin, so the SSRF guard applies and no credential
 * is sent). Replicate documents no idempotency key: an unanswered create is not re-sent.
 *
 * Sources: https://replicate.com/docs/reference/http, https://replicate.com/docs/topics/predictions
 * (create-a-prediction, input-files, data retention: "output files … deleted after an hour"),
 * https://replicate.com/changelog/2025-08-05-run-all-models-with-the-same-api-endpoint; see mapping.ts.
 */
import { open } from "node:fs/promises";
import { join } from "node:path";
import type { ModelCapability, ModelInputs } from "../../../core/catalogue/capability.js";
import { errors, type ReelayError } from "../../../core/errors.js";
import { IMAGE_MIME, isImageType, SNIFF_BYTES, sniffMedia } from "../../../core/media/media_types.js";
import { aspectRatioOf, resolutionOf } from "../../../core/tasks/task.js";
import type { UpstreamProvider, UpstreamStatus } from "../../../core/upstream/ports.js";
import { cachedKeys, standardWebhookCallback } from "../upstream/callbacks.js";
import type { CallResult, ChannelHttp, Phase } from "../upstream/http.js";
import { type InputImage, imagesByRole } from "../upstream/images.js";
import { obj, str } from "../upstream/status.js";
import {
  buildInput,
  classifyRefusal,
  createCall,
  createTarget,
  DEFAULT_INPUTS,
  problem,
  ReplicateUnsupported,
  readPrediction,
  resolutionFor,
} from "./mapping.js";

/** An uploaded image as a data URL (Replicate takes file inputs as URLs or data URLs). */
async function asDataUrl(path: string): Promise<string> {
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

const asInput = async (i: InputImage | null): Promise<string | null> =>
  i === null ? null : i.url !== null ? i.url : asDataUrl(i.file);

/**
 * @param modelOf the catalogue entry of a Reelay model name (for its `inputs` map); Replicate's
 *   models each name their inputs, so the adapter needs it beside the upstream id.
 */
export function createReplicateProvider(
  http: ChannelHttp,
  modelOf: (name: string) => ModelCapability | undefined,
): UpstreamProvider {
  /** A refused call as Reelay's error: moderation, the channel's fault (retryable), or the request's. */
  function refusal(res: CallResult, phase: Phase): ReelayError {
    const p = problem(res.json);
    const message = p.detail ?? p.title ?? (res.text.trim().slice(0, 300) || `HTTP ${res.status}`);
    const cls = classifyRefusal(res.status, message);
    if (cls === "content_policy") return errors.contentPolicy(http.channelId, String(res.status), message);
    if (cls !== "invalid_request") return http.refusal(res, phase);
    return errors.upstreamRejected(
      http.channelId,
      { status: res.status, code: p.title, message },
      // A 4xx at poll says nothing final about the task (it is still there): passing.
      { retryable: phase !== "submit", retryAfterS: res.retryAfterS },
    );
  }

  /** The account's webhook signing secret: `GET /v1/webhooks/default/secret` → `{key: "whsec_…"}`. */
  const webhookSecret = cachedKeys(async (signal) => {
    const res = await http.call("GET", "v1/webhooks/default/secret", { phase: "poll", signal });
    const key = str(obj(res.json).key);
    if (res.status !== 200 || !key?.startsWith("whsec_")) throw refusal(res, "poll");
    return key;
  });

  async function get(upstreamId: string, signal: AbortSignal): Promise<CallResult> {
    const res = await http.call("GET", `v1/predictions/${encodeURIComponent(upstreamId)}`, {
      phase: "poll",
      signal,
    });
    if (res.status < 200 || res.status > 299) throw refusal(res, "poll");
    if (res.json === undefined || typeof res.json !== "object" || res.json === null)
      throw errors.upstreamRejected(
        http.channelId,
        { status: res.status, code: null, message: "the prediction is not JSON" },
        { retryable: true },
      );
    return res;
  }

  const unsupported = (message: string) =>
    errors.upstreamRejected(
      http.channelId,
      { status: null, code: "unsupported", message },
      { retryable: false },
    );

  return {
    kind: "replicate",
    // Replicate documents no idempotency key: a create whose answer was lost is not sent again.
    idempotent: false,
    async submit(request, ctx) {
      const target = createTarget(ctx.upstreamModel);
      if (!target)
        throw unsupported(
          `'${ctx.upstreamModel}' is not a Replicate model (owner/name) or version (owner/name:<version id>)`,
        );
      const model = modelOf(request.model);
      const inputs: ModelInputs = model?.inputs ?? DEFAULT_INPUTS;
      const images = imagesByRole(request, ctx);
      let input: Record<string, unknown>;
      try {
        input = buildInput(inputs, {
          prompt: request.prompt,
          duration: request.duration,
          aspectRatio: aspectRatioOf(request),
          resolution: resolutionFor(
            request.resolution,
            request,
            model?.accepts?.resolutions,
            resolutionOf(request),
          ),
          negativePrompt: request.negativePrompt,
          seed: request.seed,
          audio: request.audio,
          firstFrame: await asInput(images.firstFrame),
          lastFrame: await asInput(images.lastFrame),
          references: await Promise.all(images.references.map(async (r) => (await asInput(r)) ?? "")).then(
            (l) => l.filter((u) => u !== ""),
          ),
        });
      } catch (e) {
        if (e instanceof ReplicateUnsupported) throw unsupported(e.message);
        throw e;
      }
      const call = createCall(target, input);
      const res = await http.call("POST", call.path, {
        phase: "submit",
        // Replicate posts the prediction to `webhook` when it starts and when it ends (signed).
        json: ctx.callbackUrl
          ? { ...call.body, webhook: ctx.callbackUrl, webhook_events_filter: ["start", "completed"] }
          : call.body,
        signal: ctx.signal,
      });
      if (res.status < 200 || res.status > 299) throw refusal(res, "submit");
      const id = str(obj(res.json).id);
      if (!id)
        throw errors.upstreamOutcomeUnknown(
          http.channelId,
          `a ${res.status} answer without a prediction id`,
          false,
        );
      const p = readPrediction(res.json);
      const status: UpstreamStatus = {
        state: p.known ? p.state : "queued",
        raw: p.raw,
        known: true,
        progress: null,
        error: p.error,
        enhancedPrompt: null,
      };
      return { upstreamId: id, status };
    },
    async poll(upstreamId, signal) {
      const res = await get(upstreamId, signal);
      const p = readPrediction(res.json);
      // A prediction that succeeded but whose files are gone (or never named) cannot be delivered.
      const lost = p.state === "completed" && (p.dataRemoved || p.outputUrl === null);
      const status: UpstreamStatus = {
        state: lost ? "failed" : p.state,
        raw: p.raw,
        known: p.known,
        // Replicate reports no progress figure (only free-text `logs`).
        progress: null,
        error: lost
          ? {
              code: "data_removed",
              message: p.dataRemoved
                ? "Replicate has removed the prediction's output files"
                : "the prediction succeeded without an output file",
              class: "result_unavailable",
            }
          : p.error,
        ...(p.usage ? { usage: p.usage } : {}),
        enhancedPrompt: null,
      };
      return { status, retryAfterS: res.retryAfterS };
    },
    async fetchResult(upstreamId, workDir, signal) {
      // The prediction is read again at each try: its output link is where the file is now.
      const p = readPrediction((await get(upstreamId, signal)).json);
      if (p.dataRemoved || p.outputUrl === null)
        throw errors.upstreamBadContent(
          http.channelId,
          p.dataRemoved
            ? "Replicate has removed the prediction's output files (kept about an hour)"
            : "the prediction names no output file",
          false,
        );
      const videoPath = join(workDir, "upstream.mp4");
      await http.download(p.outputUrl, videoPath, { expect: "video", signal });
      // Replicate's predictions carry no thumbnail and say nothing of watermarks.
      return { videoPath, thumbnailPath: null, watermarked: null };
    },
    async cancel(upstreamId, signal) {
      const res = await http.call("POST", `v1/predictions/${encodeURIComponent(upstreamId)}/cancel`, {
        phase: "cancel",
        signal,
      });
      // A prediction that already ended cannot be canceled: nothing left to stop.
      if (res.status < 200 || res.status > 299) throw refusal(res, "cancel");
    },
    async verifyCallback(req) {
      // Signed per Standard Webhooks with the account's secret, fetched from Replicate's API.
      const check = (secret: string) => standardWebhookCallback(secret, req, (p) => str(p.id));
      let verdict = check(await webhookSecret.get(req.signal, req.now));
      const fresh = verdict.kind === "refused" ? webhookSecret.refresh(req.signal, req.now) : null;
      if (fresh) verdict = check(await fresh);
      return verdict;
    },
  };
}
