/**
 * An upstream relay that speaks the unified format (the seed's API): `POST /v1/video/create`,
 * `GET /v1/video/query?id=`. Another Reelay is one, so Reelays chain. Images go as links, and
 * uploaded ones as data URLs; the task id is sent as `Idempotency-Key` (Reelay honours it).
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { errors } from "../../../core/errors.js";
import type { VideoRequest } from "../../../core/tasks/task.js";
import type { UpstreamProvider, UpstreamStatus } from "../../../core/upstream/ports.js";
import type { ChannelHttp } from "./http.js";
import { upstreamMessage } from "./http.js";
import { bool, normaliseProgress, normaliseStatus, obj, str } from "./status.js";

const MIME_BY_MAGIC: [string, (b: Buffer) => boolean][] = [
  ["image/png", (b) => b.subarray(0, 4).toString("latin1") === "\x89PNG"],
  ["image/jpeg", (b) => b[0] === 0xff && b[1] === 0xd8],
  ["image/webp", (b) => b.subarray(8, 12).toString("latin1") === "WEBP"],
  ["image/gif", (b) => b.subarray(0, 3).toString("latin1") === "GIF"],
];

export async function dataUrlOf(path: string): Promise<string> {
  const bytes = await readFile(path);
  const mime = MIME_BY_MAGIC.find(([, test]) => test(bytes))?.[0] ?? "application/octet-stream";
  return `data:${mime};base64,${bytes.toString("base64")}`;
}

/** The unified `size` for any request (the OpenAI API asks in pixels). */
const unifiedSize = (r: VideoRequest) =>
  r.size === "small" || r.size === "large" ? r.size : Math.min(r.width, r.height) >= 1080 ? "large" : "small";

/** Reads a unified query answer, whichever of the fields seen across relays it fills. */
export function readUnifiedStatus(
  json: unknown,
): UpstreamStatus & { videoUrl: string | null; thumbnailUrl: string | null; watermarked: boolean | null } {
  const top = obj(json);
  const body = top.data && typeof top.data === "object" && !("status" in top) ? obj(top.data) : top;
  const detail = obj(body.detail);
  const pending = obj(detail.pending_info);
  const s = normaliseStatus(body.status ?? detail.status);
  const videoUrl = str(body.video_url) ?? str(detail.url) ?? str(body.url);
  const failed = s.state === "failed" || s.state === "expired";
  const said = failed ? upstreamMessage(body, "") : null;
  const reason = str(pending.failure_reason) ?? str(body.fail_reason) ?? str(body.failure_reason);
  return {
    // Some relays say completed a moment before the link is there: keep polling until it is.
    state: s.state === "completed" && !videoUrl ? "running" : s.state,
    raw: s.raw,
    known: s.known,
    progress: normaliseProgress(body.progress, pending.progress_pct ?? body.progress_pct),
    error: said
      ? {
          code: said.code,
          message:
            said.message !== "no reason given"
              ? said.message
              : (reason ?? `the upstream reports status '${s.raw}'`),
        }
      : null,
    enhancedPrompt: str(body.enhanced_prompt),
    videoUrl,
    thumbnailUrl: str(body.thumbnail_url) ?? str(detail.thumbnail_url),
    watermarked: bool(detail.has_watermark) ?? bool(body.has_watermark),
  };
}

export function createUnifiedRelayProvider(http: ChannelHttp): UpstreamProvider {
  const query = async (id: string, signal: AbortSignal) => {
    const res = await http.call("GET", `v1/video/query?id=${encodeURIComponent(id)}`, {
      phase: "poll",
      signal,
    });
    if (res.status !== 200) throw http.refusal(res, "poll");
    if (res.json === undefined)
      throw errors.upstreamRejected(
        http.channelId,
        { status: 200, code: null, message: "the query answer is not JSON" },
        { retryable: true },
      );
    return { status: readUnifiedStatus(res.json), retryAfterS: res.retryAfterS };
  };
  return {
    kind: "unified",
    idempotent: true,
    async submit(request, ctx) {
      const uploaded = await Promise.all(ctx.imageFiles.map(dataUrlOf));
      const body = {
        images: [...request.images, ...uploaded],
        model: ctx.upstreamModel,
        orientation: request.orientation,
        prompt: request.prompt,
        size: unifiedSize(request),
        duration: request.duration,
        watermark: request.watermark,
        private: request.private,
      };
      const res = await http.call("POST", "v1/video/create", {
        phase: "submit",
        json: body,
        headers: { "idempotency-key": ctx.taskId },
        signal: ctx.signal,
        resendable: true,
      });
      if (res.status < 200 || res.status > 299) throw http.refusal(res, "submit", true);
      const id = str(obj(res.json).id) ?? str(obj(obj(res.json).data).id);
      if (!id)
        throw errors.upstreamOutcomeUnknown(http.channelId, `a ${res.status} answer without a task id`, true);
      const status = readUnifiedStatus(res.json);
      return { upstreamId: id, status: status.known ? status : { ...status, state: "queued" } };
    },
    poll: query,
    async fetchResult(upstreamId, workDir, signal) {
      // Links expire: ask for fresh ones right before downloading.
      const { status } = await query(upstreamId, signal);
      if (!status.videoUrl)
        throw errors.upstreamBadContent(http.channelId, "the completed task has no video_url");
      const videoPath = join(workDir, "upstream.mp4");
      await http.download(status.videoUrl, videoPath, { expect: "video", signal });
      let thumbnailPath: string | null = null;
      if (status.thumbnailUrl) {
        const p = join(workDir, "upstream-thumb");
        thumbnailPath = await http.download(status.thumbnailUrl, p, { expect: "image", signal }).then(
          () => p,
          () => null,
        );
      }
      return { videoPath, thumbnailPath, watermarked: status.watermarked };
    },
    async cancel(upstreamId, signal) {
      // A Reelay extension; a relay without it answers 404, which is fine.
      await http.call("POST", `v1/video/cancel?id=${encodeURIComponent(upstreamId)}`, {
        phase: "cancel",
        signal,
      });
    },
  };
}
