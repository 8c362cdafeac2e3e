/**
 * Veo on Vertex AI, as tables and pure functions: Reelay's request → the `predictLongRunning`
 * body, a `fetchPredictOperation` answer → Reelay's status, gs:// URIs → Cloud Storage paths.
 * Google's error envelope and its classes are the Gemini API's (shared with kind gemini).
 *
 * Sources:
 * - Vertex AI Veo model reference,
 *   https://cloud.google.com/vertex-ai/generative-ai/docs/model-reference/veo-video-generation
 *   (`POST …/publishers/google/models/{model}:predictLongRunning` with `instances[{prompt, image,
 *   lastFrame, referenceImages[{image, referenceType}]}]` and `parameters{aspectRatio, resolution,
 *   durationSeconds, negativePrompt, seed, generateAudio, sampleCount, storageUri,
 *   personGeneration}`; images `{bytesBase64Encoded | gcsUri, mimeType}`; poll
 *   `POST …:fetchPredictOperation {operationName}` → `{name, done, error?, response{videos[
 *   {bytesBase64Encoded | gcsUri, mimeType}], raiMediaFilteredCount, raiMediaFilteredReasons}}`)
 * - https://docs.cloud.google.com/vertex-ai/generative-ai/docs/video/generate-videos-from-text
 * - googleapis/js-genai `src/converters/_models_converters.ts` (Vertex branch: `seed`,
 *   `generateAudio`, `storageUri` are sent only to Vertex; `durationSeconds` a number)
 * - BerriAI/litellm `litellm/llms/vertex_ai/videos/transformation.py`, docs
 *   https://docs.litellm.ai/docs/providers/vertex_ai/videos (model ids veo-3.1-generate-preview,
 *   veo-3.1-fast-generate-preview; fetchPredictOperation; inline base64 results)
 * - QuantumNous/new-api `relay/channel/task/vertex/` (service-account JWT, same endpoints)
 */
import type { VideoRequest } from "../../../core/tasks/task.js";
import { aspectRatioOf, resolutionOf } from "../../../core/tasks/task.js";
import type { UpstreamErrorClass, UpstreamStatus } from "../../../core/upstream/ports.js";
import { classOf } from "../gemini/mapping.js";
import { obj, str } from "../upstream/status.js";

export { channelFault, classOf, googleError, isModeration, veoRoles } from "../gemini/mapping.js";

/** An image as Vertex's Veo takes it inline. */
export interface VeoImage {
  readonly bytesBase64Encoded: string;
  readonly mimeType: string;
}

export interface VeoImages {
  readonly firstFrame: VeoImage | null;
  readonly lastFrame: VeoImage | null;
  readonly references: readonly VeoImage[];
}

export interface VertexBody {
  readonly instances: readonly [
    {
      prompt: string;
      image?: VeoImage;
      lastFrame?: VeoImage;
      referenceImages?: { image: VeoImage; referenceType: "asset" }[];
    },
  ];
  readonly parameters: {
    aspectRatio: string;
    resolution: string;
    durationSeconds: number;
    sampleCount: 1;
    generateAudio: boolean;
    negativePrompt?: string;
    seed?: number;
    storageUri?: string;
  };
}

/** Where a channel's models live. */
export interface VertexPlace {
  readonly project: string;
  readonly location: string;
}

const seg = (s: string) => encodeURIComponent(s);

/** `v1/projects/{p}/locations/{l}/publishers/google/models/{model}:{verb}`. */
export const modelPath = (
  place: VertexPlace,
  model: string,
  verb: "predictLongRunning" | "fetchPredictOperation",
) =>
  `v1/projects/${seg(place.project)}/locations/${seg(place.location)}/publishers/google/models/${seg(model)}:${verb}`;

/** The model an operation name belongs to (`projects/…/models/{model}/operations/{id}`), checked. */
export function modelOfOperation(name: string): string {
  const m =
    /^projects\/[^/]+\/locations\/[^/]+\/publishers\/google\/models\/([A-Za-z0-9._-]+)\/operations\/[A-Za-z0-9._-]+$/.exec(
      name,
    );
  if (!m?.[1]) throw new Error(`not a Veo operation name: ${JSON.stringify(name.slice(0, 160))}`);
  return m[1];
}

/**
 * The create body. `sampleCount` is 1 (one task, one video). `generateAudio` is required by Veo 3
 * models on Vertex: the caller's `audio` when asked, else true (Veo 3.1 makes sound by default).
 * `seed` is sent when asked (Vertex takes it, 0–4294967295). Watermarking has no switch (SynthID).
 */
export function predictBody(request: VideoRequest, images: VeoImages, storageUri?: string): VertexBody {
  const instance: VertexBody["instances"][0] = { prompt: request.prompt };
  if (images.firstFrame) instance.image = images.firstFrame;
  if (images.lastFrame) instance.lastFrame = images.lastFrame;
  if (images.references.length > 0)
    instance.referenceImages = images.references.map((image) => ({ image, referenceType: "asset" }));
  const parameters: VertexBody["parameters"] = {
    aspectRatio: aspectRatioOf(request),
    resolution: resolutionOf(request),
    durationSeconds: request.duration,
    sampleCount: 1,
    generateAudio: request.audio ?? true,
  };
  if (request.negativePrompt) parameters.negativePrompt = request.negativePrompt;
  if (request.seed !== undefined) parameters.seed = request.seed;
  if (storageUri) parameters.storageUri = storageUri;
  return { instances: [instance], parameters };
}

/** The first video of a done operation: inline bytes or a gs:// URI. */
export type VeoVideo = { readonly base64: string } | { readonly gcsUri: string };

export function videoOf(json: unknown): VeoVideo | null {
  const videos = obj(obj(json).response).videos;
  if (!Array.isArray(videos)) return null;
  for (const v of videos) {
    const b = str(obj(v).bytesBase64Encoded);
    if (b) return { base64: b };
    const g = str(obj(v).gcsUri);
    if (g) return { gcsUri: g };
  }
  return null;
}

/** `gs://bucket/a/b.mp4` → the JSON API's media path `storage/v1/b/bucket/o/a%2Fb.mp4?alt=media`. */
export function gcsMediaPath(uri: string): string {
  const m = /^gs:\/\/([a-z0-9][a-z0-9._-]{1,220}[a-z0-9])\/(.+)$/.exec(uri);
  if (!m?.[1] || !m[2]) throw new Error(`not a gs:// object URI: ${JSON.stringify(uri.slice(0, 160))}`);
  return `storage/v1/b/${encodeURIComponent(m[1])}/o/${encodeURIComponent(m[2])}?alt=media`;
}

/** google.rpc.Code numbers (an operation's `error.code`) and their names. */
const RPC_CODES: Record<number, string> = {
  1: "CANCELLED",
  2: "UNKNOWN",
  3: "INVALID_ARGUMENT",
  4: "DEADLINE_EXCEEDED",
  5: "NOT_FOUND",
  7: "PERMISSION_DENIED",
  8: "RESOURCE_EXHAUSTED",
  9: "FAILED_PRECONDITION",
  13: "INTERNAL",
  14: "UNAVAILABLE",
  16: "UNAUTHENTICATED",
};

const running = (raw: string | null, known: boolean): UpstreamStatus => ({
  state: "running",
  raw,
  known,
  progress: null,
  error: null,
  enhancedPrompt: null,
});

const failed = (code: string | null, message: string, cls: UpstreamErrorClass): UpstreamStatus => ({
  state: "failed",
  raw: "done",
  known: true,
  progress: null,
  error: { code, message, class: cls },
  enhancedPrompt: null,
});

/**
 * A `fetchPredictOperation` answer as Reelay's status. `done` absent or false: running. Done with
 * `error`: failed with Google's code (a cancelled operation is code 1). Done with a video:
 * completed. Done without one and `raiMediaFilteredCount` > 0: refused by the RAI filters
 * (content policy). Any other `done`: unknown, still running.
 */
export function readOperation(json: unknown): UpstreamStatus {
  const op = obj(json);
  if (op.done === undefined || op.done === false)
    return running(op.done === false ? "done=false" : null, true);
  if (op.done !== true) return running(`done=${JSON.stringify(op.done).slice(0, 40)}`, false);
  if (op.error !== undefined) {
    const error = obj(op.error);
    const code = typeof error.code === "number" ? error.code : null;
    const name = code !== null ? (RPC_CODES[code] ?? String(code)) : str(error.status);
    const message = str(error.message) ?? "the operation failed without a reason";
    return failed(name, message, classOf(name, message));
  }
  if (videoOf(op)) return { ...running("done", true), state: "completed", progress: 100 };
  const answer = obj(op.response);
  const filtered = typeof answer.raiMediaFilteredCount === "number" ? answer.raiMediaFilteredCount : 0;
  const reasons = Array.isArray(answer.raiMediaFilteredReasons)
    ? answer.raiMediaFilteredReasons.filter((r): r is string => typeof r === "string")
    : [];
  if (filtered > 0 || reasons.length > 0)
    return failed(
      "RAI_MEDIA_FILTERED",
      reasons.join(" ") || "the video was filtered by Google's Responsible AI filters",
      "content_policy",
    );
  return failed(null, "the operation finished without a video", "upstream_internal");
}
