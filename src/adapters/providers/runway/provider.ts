/**
 * Runway's API (`https://api.dev.runwayml.com`), `Authorization: Bearer <key>` plus the required
 * `X-Runway-Version` header (the channel's `runwayVersion`, by default 2024-11-06) on every call:
 * - create `POST /v1/text_to_video` or `POST /v1/image_to_video` (with a first frame) → `{id}`;
 * - query  `GET /v1/tasks/{id}` → `{id, createdAt, status, progress?, output?, failure?, failureCode?}`;
 *   the `output[]` links expire within 24–48 hours ("fetch the task again to get fresh URLs"):
 *   the task is read again right before each download, which goes through `http.download`;
 * - cancel `DELETE /v1/tasks/{id}`: cancels a pending, throttled or running task (deletes a
 *   finished one).
 * Errors are plain HTTP statuses with `{"error": "<explanation>"}`: 400 (an input; not to retry),
 * 401 (the key), 429 (rate or daily limit), 502/503/504 (Runway shedding load or overloaded).
 * Runway documents no idempotency key: a create whose answer was lost is not sent again.
 * Images: Runway fetches HTTPS links on a domain name itself; other links are fetched here through
 * the SSRF-guarded image fetcher and sent, like uploads, as data URIs (under Runway's 5 MB limit).
 *
 * Sources: runwayml/sdk-node (src/client.ts, src/resources/{text-to-video,image-to-video,tasks}.ts);
 * https://docs.dev.runwayml.com/errors/errors (HTTP errors and whether to retry),
 * https://docs.dev.runwayml.com/errors/task-failures/, https://docs.dev.runwayml.com/assets/inputs/;
 * see mapping.ts.
 */
import { open } from "node:fs/promises";
import { join } from "node:path";
import { errors } from "../../../core/errors.js";
import { IMAGE_MIME, isImageType, SNIFF_BYTES, sniffMedia } from "../../../core/media/media_types.js";
import type { VideoRequest } from "../../../core/tasks/task.js";
import type { SubmitContext, UpstreamProvider, UpstreamStatus } from "../../../core/upstream/ports.js";
import type { ImageFetcher } from "../../net/safe-fetch.js";
import type { ChannelHttp } from "../upstream/http.js";
import { type InputImage, imagesByRole } from "../upstream/images.js";
import {
  createBody,
  RUNWAY_VERSION,
  type RunwayTask,
  RunwayUnsupported,
  readTask,
  taskPath,
} from "./mapping.js";

/** The headers of every call: the key as a Bearer token and the API version Runway requires. */
export function runwayAuthHeaders(
  secret: string | null,
  version: string = RUNWAY_VERSION,
): () => Record<string, string> {
  return () => ({
    ...(secret ? { authorization: `Bearer ${secret}` } : {}),
    "x-runway-version": version,
  });
}

/** Runway's limit on a data URI: "under 5MB (1024 × 1024 × 5 bytes)" encoded. */
const MAX_DATA_URI = 5 * 1024 * 1024;

/** An image file as the data URI Runway takes (`data:image/png;base64,…`). */
async function asDataUri(path: string): Promise<string> {
  const f = await open(path, "r");
  try {
    const bytes = await f.readFile();
    const type = sniffMedia(bytes.subarray(0, SNIFF_BYTES));
    // Reelay keeps only images it sniffed (upload or guarded fetch); the content type is required.
    const mime = isImageType(type) ? IMAGE_MIME[type] : "image/jpeg";
    return `data:${mime};base64,${bytes.toString("base64")}`;
  } finally {
    await f.close();
  }
}

/**
 * Whether Runway can fetch a link itself: it takes HTTPS links on a domain name only (not an IP
 * address, no other scheme, at most 2048 characters).
 */
export function runwayCanFetch(url: string): boolean {
  try {
    const u = new URL(url);
    return u.protocol === "https:" && !/^[\d.]+$|^\[/.test(u.hostname) && url.length <= 2048;
  } catch {
    return false;
  }
}

const statusOf = (t: RunwayTask): UpstreamStatus => {
  const { id: _id, videoUrl: _url, ...status } = t;
  return status;
};

export function createRunwayProvider(http: ChannelHttp, fetcher: ImageFetcher): UpstreamProvider {
  const channel = http.channelId;

  /**
   * An input image as Runway takes it: a link it can fetch as it is; any other link fetched here
   * (SSRF-guarded) and sent, like an upload, as a data URI.
   */
  async function imageValue(
    img: InputImage | null,
    role: string,
    request: VideoRequest,
    ctx: SubmitContext,
  ): Promise<string | null> {
    if (img === null) return null;
    if (img.url !== null && runwayCanFetch(img.url)) return img.url;
    let path = img.file;
    if (img.url !== null) {
      path = join(ctx.workDir, `runway-${role}`);
      await fetcher.fetchTo(img.url, path, {
        index: Math.max(0, request.images.indexOf(img.url)),
        signal: ctx.signal,
      });
    }
    if (path === null) return null;
    const uri = await asDataUri(path);
    if (uri.length >= MAX_DATA_URI)
      throw errors.upstreamRejected(
        channel,
        {
          status: null,
          code: "unsupported",
          message: `${role}: the image is too large for Runway's data URI limit (5 MB encoded); give an HTTPS link instead`,
        },
        { retryable: false },
      );
    return uri;
  }

  async function query(upstreamId: string, signal: AbortSignal) {
    const res = await http.call("GET", taskPath(upstreamId), { phase: "poll", signal });
    if (res.status < 200 || res.status > 299) throw http.refusal(res, "poll");
    if (res.json === undefined)
      throw errors.upstreamRejected(
        channel,
        { status: res.status, code: null, message: "the task answer is not JSON" },
        { retryable: true },
      );
    return { task: readTask(res.json), retryAfterS: res.retryAfterS };
  }

  return {
    kind: "runway",
    // Runway documents no idempotency key.
    idempotent: false,
    async submit(request, ctx) {
      const images = imagesByRole(request, ctx);
      let create: ReturnType<typeof createBody>;
      try {
        create = createBody(request, {
          model: ctx.upstreamModel,
          images: {
            firstFrame: await imageValue(images.firstFrame, "first_frame", request, ctx),
            lastFrame: await imageValue(images.lastFrame, "last_frame", request, ctx),
            references: images.references.length,
          },
        });
      } catch (e) {
        if (!(e instanceof RunwayUnsupported)) throw e;
        throw errors.upstreamRejected(
          channel,
          { status: null, code: "unsupported", message: e.message },
          { retryable: false },
        );
      }
      const res = await http.call("POST", `v1/${create.endpoint}`, {
        phase: "submit",
        json: create.body,
        signal: ctx.signal,
      });
      // 400: the request's (final); 401, 429, 5xx: the channel's (fail over, cool down).
      if (res.status < 200 || res.status > 299) throw http.refusal(res, "submit");
      const id = readTask(res.json).id;
      if (!id)
        // Taken or not, nobody can tell: never sent elsewhere.
        throw errors.upstreamOutcomeUnknown(channel, `a ${res.status} answer without an id`, false);
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
      const { task, retryAfterS } = await query(upstreamId, signal);
      return { status: statusOf(task), retryAfterS };
    },
    async fetchResult(upstreamId, workDir, signal) {
      // The task again right before the download: its freshest links (they expire in 24–48 h).
      const { task } = await query(upstreamId, signal);
      if (!task.videoUrl)
        throw errors.upstreamBadContent(channel, "Runway reports the task done but its output has no link");
      const videoPath = join(workDir, "upstream.mp4");
      await http.download(task.videoUrl, videoPath, { expect: "video", signal });
      // Runway's API outputs carry no watermark switch and the task does not say: unknown.
      return { videoPath, thumbnailPath: null, watermarked: null };
    },
    async cancel(upstreamId, signal) {
      const res = await http.call("DELETE", taskPath(upstreamId), { phase: "cancel", signal });
      // 404: already gone (deleted or never kept): nothing left to stop.
      if ((res.status < 200 || res.status > 299) && res.status !== 404) throw http.refusal(res, "cancel");
    },
  };
}
