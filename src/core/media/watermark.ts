/**
 * The seed's watermark semantics, for any provider:
 * - `watermark: true` (default): prefer a clean video; if removal fails, deliver the marked one
 *   and say so (`has_watermark: true`).
 * - `watermark: false`: the video must be clean; removal errors are retried with backoff up to a
 *   limit, then the task fails with `watermark_removal_failed`.
 */
import { errors, isReelayError } from "../errors.js";
import type { VideoRequest } from "../tasks/task.js";
import type { GeneratedVideo, WatermarkRemover } from "./ports.js";

export interface WatermarkOutcome {
  readonly videoPath: string;
  readonly watermarked: boolean;
  /** Why a marked video was delivered, for the task's record. */
  readonly note: string | null;
}

export async function applyWatermarkPolicy(opts: {
  video: GeneratedVideo;
  request: VideoRequest;
  remover: WatermarkRemover;
  workDir: string;
  signal: AbortSignal;
  attempts: number;
  backoffMs: (attempt: number) => number;
  sleep: (ms: number, signal: AbortSignal) => Promise<void>;
}): Promise<WatermarkOutcome> {
  const { video, request } = opts;
  if (!video.watermarked) return { videoPath: video.videoPath, watermarked: false, note: null };
  // watermark: true tries once; watermark: false insists, up to the limit.
  const tries = request.watermark ? 1 : Math.max(1, opts.attempts);
  let last = "";
  for (let attempt = 1; attempt <= tries; attempt++) {
    try {
      const clean = await opts.remover.remove({
        videoPath: video.videoPath,
        region: video.watermarkRegion ?? null,
        workDir: opts.workDir,
        signal: opts.signal,
      });
      return { videoPath: clean, watermarked: false, note: null };
    } catch (e) {
      if (opts.signal.aborted) throw e;
      last = e instanceof Error ? e.message : String(e);
      const retryable = !isReelayError(e) || e.retryable;
      if (!retryable) break;
      if (attempt < tries) await opts.sleep(opts.backoffMs(attempt), opts.signal);
    }
  }
  if (request.watermark) {
    return {
      videoPath: video.videoPath,
      watermarked: true,
      note: `watermark removal failed; delivered with the mark: ${last}`,
    };
  }
  throw errors.watermarkRemovalFailed(tries, last);
}
