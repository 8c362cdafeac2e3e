/**
 * MiniMax (Hailuo) video generation: Reelay's request → the create body, the task query's status
 * words → Reelay's states, and MiniMax's `base_resp.status_code` table → Reelay's error classes.
 * Pure functions (unit-tested in test/unit/provider-minimax.test.ts).
 *
 * Sources (read 2026-12-03):
 * - https://platform.minimax.io/docs/api-reference/video-generation-t2v, -i2v, -fl2v (create),
 *   video-generation-query (query), video-generation-download (`/v1/files/retrieve`),
 *   https://platform.minimax.io/docs/api-reference/errorcode (error codes 1000–1024).
 * - MiniMax's code table as Baidu Qianfan republishes it (https://cloud.baidu.com/doc/qianfan-api/s/4mwbl4bz4):
 *   1026, 1027, 1033, 1042, 2013.
 * - QuantumNous/new-api `relay/channel/task/hailuo/{adaptor,constants,models}.go` (2049 invalid key;
 *   the `file_id` → `/v1/files/retrieve` → `download_url` step; Hailuo-02's resolutions 512P/768P/1080P).
 * - ComfyUI's MinimaxHailuoVideoNode docs (docs.comfy.org): 768P is 1366×768, 1080P is 1920×1080,
 *   1080P only at 6 s.
 */
import type { UpstreamErrorClass, UpstreamState } from "../../../core/upstream/ports.js";
import { obj, str } from "../upstream/status.js";

/** The create body (`POST /v1/video_generation`) as MiniMax documents it. */
export interface MiniMaxCreateBody {
  model: string;
  prompt: string;
  duration: number;
  resolution: "512P" | "768P" | "1080P";
  first_frame_image?: string;
  last_frame_image?: string;
  aigc_watermark: boolean;
}

/** A request MiniMax cannot make: refused before anything is sent (the field at fault named). */
export class MiniMaxUnsupported extends Error {}

/**
 * Reelay's resolution (`resolutionOf`) → MiniMax's word. MiniMax's Hailuo tiers are 512P, 768P and
 * 1080P; Reelay's `small` (720p) is served by 768P (1366×768), the tier a Hailuo model makes in
 * place of 720p, and `480p` by 512P.
 */
export function minimaxResolution(resolution: string): "512P" | "768P" | "1080P" {
  const p = Number.parseInt(resolution, 10);
  if (Number.isFinite(p) && p >= 1080) return "1080P";
  if (Number.isFinite(p) && p < 720 && p > 0) return "512P";
  return "768P";
}

/** An image as MiniMax takes it: a public link as it is, an upload as a data URL. */
export type MiniMaxImage = { url: string } | { dataUrl: string };

/**
 * The create body. Throws MiniMaxUnsupported for what MiniMax documents it cannot do: 1080P longer
 * than 6 s, text-to-video in any aspect but 16:9 (with a first frame the video takes the image's),
 * 512P without a first frame, a last frame without a first, first-and-last frames at 512P,
 * reference images (MiniMax's `subject_reference` is S2V-01's, not Hailuo's).
 */
export function createBody(r: {
  model: string;
  prompt: string;
  duration: number;
  resolution: string;
  aspectRatio: string;
  watermark: boolean;
  firstFrame: MiniMaxImage | null;
  lastFrame: MiniMaxImage | null;
  references: number;
}): MiniMaxCreateBody {
  const resolution = minimaxResolution(r.resolution);
  if (resolution === "1080P" && r.duration !== 6)
    throw new MiniMaxUnsupported(`duration: MiniMax makes 1080P videos of 6 s only (asked ${r.duration} s)`);
  if (r.references > 0)
    throw new MiniMaxUnsupported("reference_images: MiniMax's Hailuo models take no reference images");
  if (r.lastFrame && !r.firstFrame)
    throw new MiniMaxUnsupported("last_frame: MiniMax takes a last frame only together with a first frame");
  if (!r.firstFrame && r.aspectRatio !== "16:9")
    throw new MiniMaxUnsupported(
      `aspect_ratio: MiniMax makes text-to-video in 16:9 only (asked ${r.aspectRatio}); with a first frame the video takes the image's`,
    );
  if (resolution === "512P" && (!r.firstFrame || r.lastFrame))
    throw new MiniMaxUnsupported("resolution: MiniMax makes 512P only from a first frame alone");
  const image = (i: MiniMaxImage) => ("url" in i ? i.url : i.dataUrl);
  const body: MiniMaxCreateBody = {
    model: r.model,
    prompt: r.prompt,
    duration: r.duration,
    resolution,
    // MiniMax's own switch for its AIGC watermark (off by default): the caller's choice, said explicitly.
    aigc_watermark: r.watermark,
  };
  if (r.firstFrame) body.first_frame_image = image(r.firstFrame);
  if (r.lastFrame) body.last_frame_image = image(r.lastFrame);
  return body;
}

/** MiniMax's `base_resp`: `status_code` 0 is success, whatever the HTTP status says. */
export function baseResp(json: unknown): { code: number; message: string } | null {
  const b = obj(obj(json).base_resp);
  if (typeof b.status_code !== "number") return null;
  return { code: b.status_code, message: str(b.status_msg) ?? "" };
}

/** What a `base_resp.status_code` means for Reelay. */
export interface MiniMaxCodeClass {
  readonly class: UpstreamErrorClass;
  /** The channel's fault (credential, balance, rate, MiniMax's own failure): fail over and cool down. */
  readonly channelFault: boolean;
}

const CODES: Record<number, MiniMaxCodeClass & { words: string }> = {
  1000: { class: "upstream_internal", channelFault: true, words: "unknown error" },
  1001: { class: "timeout", channelFault: true, words: "request timeout" },
  1002: { class: "overloaded", channelFault: true, words: "rate limit" },
  1004: { class: "auth", channelFault: true, words: "not authorized" },
  1008: { class: "quota", channelFault: true, words: "insufficient balance" },
  1024: { class: "upstream_internal", channelFault: true, words: "internal error" },
  1026: { class: "content_policy", channelFault: false, words: "input sensitive content" },
  1027: { class: "content_policy", channelFault: false, words: "output sensitive content" },
  1033: { class: "upstream_internal", channelFault: true, words: "system error" },
  1042: { class: "invalid_request", channelFault: false, words: "illegal characters over 10%" },
  2013: { class: "invalid_request", channelFault: false, words: "invalid parameters" },
  2049: { class: "auth", channelFault: true, words: "invalid api key" },
};

/**
 * The class of a non-zero `status_code`. A code MiniMax's tables do not list is taken as the
 * request's (not retried elsewhere, the channel not cooled): an unknown reason is no evidence
 * against the channel.
 */
export function classifyCode(code: number): MiniMaxCodeClass {
  const known = CODES[code];
  return known
    ? { class: known.class, channelFault: known.channelFault }
    : { class: "invalid_request", channelFault: false };
}

/**
 * Whether a non-zero code reported by the task query is the task's own end (moderation, invalid
 * input) rather than a passing refusal of the query: only codes MiniMax lists as the request's.
 * An unlisted code on a query (its status not `Fail`) is read as passing: polls never fail a task
 * on a reason they cannot place.
 */
export const endsTask = (code: number): boolean => {
  const known = CODES[code];
  return known !== undefined && !known.channelFault;
};

/** MiniMax's words for a code, for messages where `status_msg` is empty. */
export const codeWords = (code: number): string => CODES[code]?.words ?? "error";

/** The task query's status words (`Preparing`, `Queueing`, `Processing`, `Success`, `Fail`). */
const STATES: Record<string, UpstreamState> = {
  Preparing: "queued",
  Queueing: "queued",
  Processing: "running",
  Success: "completed",
  Fail: "failed",
};

export interface MiniMaxQuery {
  readonly state: UpstreamState;
  readonly raw: string | null;
  readonly known: boolean;
  readonly fileId: string | null;
  readonly error: { code: string | null; message: string; class: UpstreamErrorClass } | null;
}

/**
 * A query answer (`GET /v1/query/video_generation`) whose `base_resp` is 0 or names the task's
 * own failure. An unknown or missing status word is still running (`known: false`).
 */
export function readQuery(json: unknown): MiniMaxQuery {
  const v = obj(json);
  const raw = str(v.status);
  const state = raw ? STATES[raw] : undefined;
  const fileId = typeof v.file_id === "number" ? String(v.file_id) : str(v.file_id);
  const said = baseResp(json);
  const failedCode = said && said.code !== 0 ? said : null;
  if (state === "failed" || (failedCode && endsTask(failedCode.code))) {
    return {
      state: "failed",
      raw,
      known: true,
      fileId,
      error: failedCode
        ? {
            code: String(failedCode.code),
            message: failedCode.message || codeWords(failedCode.code),
            class: classifyCode(failedCode.code).class,
          }
        : { code: null, message: `MiniMax reports status '${raw}'`, class: "upstream_internal" },
    };
  }
  return state
    ? { state, raw, known: true, fileId, error: null }
    : { state: "running", raw, known: false, fileId, error: null };
}
