/**
 * One attempt of a task on the local provider (the ffmpeg renderer, or a test's fake): make the
 * video, apply the watermark policy, store the files. The worker runs it inside its render gate
 * and commits the result; nothing here touches the task's row.
 */

import { isReelayError } from "../errors.js";
import { backoffMs } from "../jobs/backoff.js";
import type { Telemetry } from "../ports.js";
import type { Task, TaskResult } from "../tasks/task.js";
import { abortableSleep } from "./attempt_inputs.js";
import type { BlobStore, GenerateContext, VideoProvider, WatermarkRemover } from "./ports.js";
import { applyWatermarkPolicy } from "./watermark.js";

export async function renderHere(
  deps: {
    provider: VideoProvider;
    telemetry: Telemetry;
    remover: WatermarkRemover;
    blobs: BlobStore;
    /** The key this attempt stores `file` under (named after it: see blob_keys.ts). */
    blobKey: (file: string) => string;
    settings: { watermarkAttempts: number; backoffBaseMs: number; backoffMaxMs: number };
  },
  task: Task,
  ctx: GenerateContext,
): Promise<{ result: TaskResult; enhancedPrompt: string; note: string | null }> {
  const { provider, blobs, settings } = deps;
  // Cancelled or deleted between the claim and here (inputs copied, a render slot awaited): the
  // provider is never called for a task that no longer runs.
  ctx.signal.throwIfAborted();
  const started = performance.now();
  const report = (outcome: string) =>
    deps.telemetry.providerCall({
      provider: provider.name,
      seconds: (performance.now() - started) / 1000,
      outcome,
    });
  let video: Awaited<ReturnType<VideoProvider["generate"]>>;
  try {
    video = await provider.generate(task.request, ctx);
    report("ok");
  } catch (e) {
    report(isReelayError(e) ? e.code : "exception");
    throw e;
  }
  const delivered = await applyWatermarkPolicy({
    video,
    request: task.request,
    remover: deps.remover,
    workDir: ctx.workDir,
    signal: ctx.signal,
    attempts: settings.watermarkAttempts,
    backoffMs: (n) => backoffMs(n, { baseMs: settings.backoffBaseMs, maxMs: settings.backoffMaxMs }),
    sleep: abortableSleep,
  });
  const videoKey = deps.blobKey("video.mp4");
  const thumbnailKey = deps.blobKey("thumbnail.jpg");
  const spritesheetKey = video.spritesheetPath ? deps.blobKey("spritesheet.jpg") : null;
  const [stored] = await Promise.all([
    blobs.put(videoKey, delivered.videoPath, "video/mp4"),
    blobs.put(thumbnailKey, video.thumbnailPath, "image/jpeg"),
    spritesheetKey && video.spritesheetPath
      ? blobs.put(spritesheetKey, video.spritesheetPath, "image/jpeg")
      : undefined,
  ]);
  return {
    result: {
      videoKey,
      thumbnailKey,
      spritesheetKey,
      width: video.width,
      height: video.height,
      durationS: video.durationS,
      bytes: stored.size,
      watermarked: delivered.watermarked,
    },
    enhancedPrompt: video.enhancedPrompt,
    note: delivered.note,
  };
}
