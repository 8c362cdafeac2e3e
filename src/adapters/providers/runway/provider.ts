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
import type { UpstreamProvider, UpstreamStatus } from "../../../core/upstream/ports.js";
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

/** An uploaded image as the data URI Runway takes (`data:image/png;base64,…`). */
async function asDataUri(path: string): Promise<string> {
  const f = await open(path, "r");
  try {
    const bytes = await f.readFile();
    const type = sniffMedia(bytes.subarray(0, SNIFF_BYTES));
    // Reelay keeps only images it sniffed on upload; the content type is required in the URI.
    const mime = isImageType(type) ? IMAGE_MIME[type] : "image/jpeg";
    return `data:${mime};base64,${bytes.toString("base64")}`;
  } finally {
    await f.close();
  }
}

/** A link as it is (Runway fetches HTTPS links itself); an upload as a data URI. */
const imageValue = async (i: InputImage | null): Promise<string | null> =>
  i === null ? null : i.url !== null ? i.url : await asDataUri(i.file);

const statusOf = (t: RunwayTask): UpstreamStatus => {
  const { id: _id, videoUrl: _url, ...status } = t;
  return status;
};

export function createRunwayProvider(http: ChannelHttp): UpstreamProvider {
  const channel = http.channelId;

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
            firstFrame: await imageValue(images.firstFrame),
            lastFrame: await imageValue(images.lastFrame),
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
