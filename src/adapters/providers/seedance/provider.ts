/**
 * Seedance on Volcengine Ark / BytePlus ModelArk (one API; the channel's `baseUrl` picks
 * `https://ark.cn-beijing.volces.com` or `https://ark.ap-southeast.bytepluses.com`):
 * `POST /api/v3/contents/generations/tasks` → `{id}`, `GET …/tasks/{id}` (status, `content.video_url`
 * valid 24 h, `usage`), `DELETE …/tasks/{id}` (cancels a queued task). Auth: `Authorization: Bearer
 * <ARK API key>`. Images go in `content` by role, as links or `data:image/<fmt>;base64,` URLs.
 *
 * Sources: https://docs.byteplus.com/en/docs/ModelArk/1520757 (Video Generation API),
 * https://docs.byteplus.com/api/docs/ModelArk/1366799 (tutorial),
 * https://docs.byteplus.com/en/docs/ModelArk/1299023 (error codes), Volcengine Ark's Chinese edition
 * of the same pages; QuantumNous/new-api relay/channel/task/doubao/adaptor.go; BerriAI/litellm
 * litellm/llms/bytedance/videos/transformation.py. Details in mapping.ts.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { errors, type ReelayError } from "../../../core/errors.js";
import { sniffMedia } from "../../../core/media/media_types.js";
import type { UpstreamProvider } from "../../../core/upstream/ports.js";
import { unsignedCallback } from "../upstream/callbacks.js";
import type { CallResult, ChannelHttp } from "../upstream/http.js";
import { imagesByRole } from "../upstream/images.js";
import { obj, str } from "../upstream/status.js";
import {
  arkError,
  createBody,
  errorClassOf,
  imageUrls,
  readTask,
  SeedanceRequestError,
  TASKS_PATH,
  taskPath,
  videoUrlOf,
} from "./mapping.js";

/** An uploaded image as the data URL Ark documents (`data:image/png;base64,…`, format in lower case). */
async function dataUrlOf(file: string): Promise<string> {
  const bytes = await readFile(file);
  const type = sniffMedia(bytes.subarray(0, 16)) ?? "png";
  return `data:image/${type};base64,${bytes.toString("base64")}`;
}

export function createSeedanceProvider(http: ChannelHttp): UpstreamProvider {
  /** A refused create (or a 200 that carries an error), classified by Ark's code. */
  function submitRefusal(res: CallResult): ReelayError {
    const said = arkError(res.json);
    const cls = errorClassOf(said?.code ?? null, res.status);
    if (cls === "content_policy")
      return errors.contentPolicy(http.channelId, said?.code ?? null, said?.message ?? "refused");
    if (res.status >= 200 && res.status < 300) {
      return errors.upstreamRejected(
        http.channelId,
        { status: res.status, code: said?.code ?? null, message: said?.message ?? "no task id" },
        { retryable: cls !== "invalid_request", retryAfterS: res.retryAfterS },
      );
    }
    if (cls === "invalid_request")
      return errors.upstreamRejected(
        http.channelId,
        { status: res.status, code: said?.code ?? null, message: said?.message ?? res.text.slice(0, 300) },
        { retryable: false },
      );
    if (cls === "auth" || cls === "quota" || cls === "overloaded" || cls === "upstream_internal") {
      // A 504 may have taken the task: the generic refusal says so.
      if (res.status === 504) return http.refusal(res, "submit");
      return errors.upstreamRejected(
        http.channelId,
        { status: res.status, code: said?.code ?? null, message: said?.message ?? res.text.slice(0, 300) },
        { retryable: true, retryAfterS: res.retryAfterS },
      );
    }
    return http.refusal(res, "submit");
  }

  async function query(upstreamId: string, signal: AbortSignal): Promise<CallResult> {
    const res = await http.call("GET", taskPath(upstreamId), { phase: "poll", signal });
    if (res.status !== 200) throw http.refusal(res, "poll");
    if (res.json === undefined || typeof res.json !== "object")
      throw errors.upstreamRejected(
        http.channelId,
        { status: 200, code: null, message: "the answer is not JSON" },
        { retryable: true },
      );
    return res;
  }

  return {
    kind: "seedance",
    // Ark documents no idempotency key on creates: an unanswered create is not sent again.
    idempotent: false,
    async submit(request, ctx) {
      let body: ReturnType<typeof createBody>;
      try {
        body = createBody(request, ctx.upstreamModel, await imageUrls(imagesByRole(request, ctx), dataUrlOf));
      } catch (e) {
        if (!(e instanceof SeedanceRequestError)) throw e;
        throw errors.upstreamRejected(
          http.channelId,
          { status: null, code: "InvalidParameter", message: e.message },
          { retryable: false },
        );
      }
      // Ark posts the task to `callback_url` as its status changes.
      const json = ctx.callbackUrl ? { ...body, callback_url: ctx.callbackUrl } : body;
      const res = await http.call("POST", TASKS_PATH, { phase: "submit", json, signal: ctx.signal });
      const id = res.status >= 200 && res.status < 300 ? str(obj(res.json).id) : null;
      if (id === null) {
        if (res.status >= 200 && res.status < 300 && arkError(res.json) === null)
          throw errors.upstreamOutcomeUnknown(
            http.channelId,
            `a ${res.status} answer without a task id`,
            false,
          );
        throw submitRefusal(res);
      }
      // Ark answers the create with the id only: the task is queued.
      return {
        upstreamId: id,
        status: {
          state: "queued",
          raw: null,
          known: true,
          progress: null,
          error: null,
          enhancedPrompt: null,
        },
      };
    },
    async poll(upstreamId, signal) {
      const res = await query(upstreamId, signal);
      return { status: readTask(res.json), retryAfterS: res.retryAfterS };
    },
    async fetchResult(upstreamId, workDir, signal) {
      // The link is only in the task: read it now (it is signed and lives 24 hours).
      const res = await query(upstreamId, signal);
      const url = videoUrlOf(res.json);
      if (url === null)
        throw errors.upstreamBadContent(http.channelId, "the succeeded task has no content.video_url", false);
      const videoPath = join(workDir, "upstream.mp4");
      await http.download(url, videoPath, { expect: "video", signal });
      // Ark's task has no thumbnail (the optional last frame is a PNG of the end, not a poster);
      // `watermark` is what Reelay asked for, so the video carries one exactly when asked.
      return { videoPath, thumbnailPath: null, watermarked: null };
    },
    async cancel(upstreamId, signal) {
      // Ark cancels queued tasks only; a running task's DELETE is refused (logged by the poller).
      const res = await http.call("DELETE", taskPath(upstreamId), { phase: "cancel", signal });
      if (res.status < 200 || res.status > 299) throw http.refusal(res, "cancel");
    },
    async verifyCallback(req) {
      // Ark does not sign its callbacks: the URL's token was the check. The body is the task (`id`).
      return unsignedCallback(req, (task) => str(task.id));
    },
  };
}
