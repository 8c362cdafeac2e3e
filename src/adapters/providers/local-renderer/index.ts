/**
 * The local provider: renders a video with ffmpeg on this machine. Images (if any) are downloaded
 * through the SSRF-guarded fetcher, shown one after another with a slow pan, or a colour background is
 * drawn; the prompt is the caption; a quiet generated tone is the soundtrack.
 */
import { spawn } from "node:child_process";
import { writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { errors, type ReelayError } from "../../../core/errors.js";
import type { GenerateContext, GeneratedVideo, VideoProvider } from "../../../core/ports.js";
import type { VideoRequest } from "../../../core/task.js";
import type { ImageFetcher } from "../../net/safe-fetch.js";
import { captionText } from "./caption.js";
import {
  buildDecodeCheckArgs,
  buildRenderArgs,
  buildThumbnailArgs,
  DEFAULT_FPS,
  DEFAULT_MAX_IMAGE_PIXELS,
} from "./filtergraph.js";
import { type MediaTools, probe } from "./media-tools.js";

export { buildRenderArgs } from "./filtergraph.js";
export { type MediaTools, probe, resolveMediaTools } from "./media-tools.js";

/** Share of the progress bar the downloads stand for, when there are images. */
const DOWNLOAD_SHARE = 0.05;
/** Rendering reports at most this; 1 is reported once the thumbnail and probe are done too. */
const RENDER_PROGRESS_CAP = 0.99;
const STDERR_TAIL_CHARS = 8192;
const STDERR_TAIL_LINES = 5;

export interface LocalRendererOptions {
  readonly tools: MediaTools;
  readonly fetcher: ImageFetcher;
  readonly fps?: number;
  /** Decoded pixels one image may have (default 50 M): guards against decompression bombs. */
  readonly maxImagePixels?: number;
}

/** A VideoProvider named `local` that renders with the given ffmpeg; no state outside each call. */
export function createLocalRenderer(opts: LocalRendererOptions): VideoProvider {
  const fps = opts.fps ?? DEFAULT_FPS;
  const maxImagePixels = opts.maxImagePixels ?? DEFAULT_MAX_IMAGE_PIXELS;
  return {
    name: "local",
    generate: (request, ctx) => generate(request, ctx),
  };

  async function generate(request: VideoRequest, ctx: GenerateContext): Promise<GeneratedVideo> {
    const { signal } = ctx;
    // ffmpeg must get absolute paths (a relative `name:…` could be read as a protocol).
    const workDir = resolve(ctx.workDir);
    const report = monotonic(ctx.onProgress);
    throwIfAborted(signal);

    const imagePaths: string[] = [];
    for (const [index, url] of request.images.entries()) {
      const path = join(workDir, `image-${index}`);
      await opts.fetcher.fetchTo(url, path, { index, signal });
      imagePaths.push(path);
      report((DOWNLOAD_SHARE * (index + 1)) / request.images.length);
    }

    const caption = captionText(request.prompt, request.width, request.height);
    const captionPath = caption === "" ? null : join(workDir, "caption.txt");
    if (captionPath !== null) await writeFile(captionPath, caption, "utf8");

    const videoPath = join(workDir, "video.mp4");
    const args = buildRenderArgs({
      width: request.width,
      height: request.height,
      durationS: request.duration,
      prompt: request.prompt,
      imagePaths,
      captionPath,
      fontPath: opts.tools.fontPath,
      outputPath: videoPath,
      fps,
      maxImagePixels,
    });
    const start = imagePaths.length > 0 ? DOWNLOAD_SHARE : 0;
    const render = await runFfmpeg(opts.tools.ffmpegPath, args, signal, (outS) =>
      report(start + (RENDER_PROGRESS_CAP - start) * Math.min(1, outS / request.duration)),
    );
    if (render.code !== 0) throw await renderFailure(render, imagePaths, signal);

    // The thumbnail and the probe both only read the finished video: run them side by side.
    const thumbnailPath = join(workDir, "thumb.jpg");
    const thumbArgs = buildThumbnailArgs(videoPath, thumbnailPath, Math.min(1, request.duration / 2));
    const [thumb, info] = await Promise.all([
      runFfmpeg(opts.tools.ffmpegPath, thumbArgs, signal),
      probe(opts.tools.ffprobePath, videoPath).catch((e: unknown) => {
        throw retryableRenderFailed(`the rendered video could not be read back: ${String(e)}`);
      }),
    ]);
    if (thumb.code !== 0) throw retryableRenderFailed(`thumbnail ${describeExit(thumb)}`);
    const video = info.streams.find((s) => s.codecType === "video");
    if (video?.width === undefined || video.height === undefined) {
      throw retryableRenderFailed("the rendered video has no video stream");
    }
    report(1);
    return {
      videoPath,
      thumbnailPath,
      width: video.width,
      height: video.height,
      durationS: info.durationS,
      watermarked: false,
      enhancedPrompt: request.prompt,
    };
  }

  /**
   * Explains a failed render. A broken input image is the user's to fix (not retryable, named by its
   * index): decoding each image alone finds it. Anything else may be the machine's trouble: retryable.
   */
  async function renderFailure(render: FfmpegExit, imagePaths: readonly string[], signal: AbortSignal) {
    for (const [index, path] of imagePaths.entries()) {
      const check = await runFfmpeg(
        opts.tools.ffmpegPath,
        buildDecodeCheckArgs(path, maxImagePixels),
        signal,
      );
      if (check.code !== 0) {
        const tooBig = check.stderrTail.some((l) => l.includes("max pixel count"));
        const why = tooBig ? `is larger than ${maxImagePixels} pixels` : "could not be decoded as an image";
        return errors.imageFetchFailed(index, why, false);
      }
    }
    return retryableRenderFailed(describeExit(render));
  }
}

interface FfmpegExit {
  /** Exit code; null when killed by a signal. */
  readonly code: number | null;
  readonly killedBy: NodeJS.Signals | null;
  readonly stderrTail: readonly string[];
}

/**
 * Runs ffmpeg without a shell. Keeps only the end of stderr; calls `onOutTimeS` with each
 * `out_time_us` of `-progress pipe:1`. SIGKILLs ffmpeg when `signal` aborts and then throws its reason.
 */
function runFfmpeg(
  ffmpegPath: string,
  args: readonly string[],
  signal: AbortSignal,
  onOutTimeS?: (seconds: number) => void,
): Promise<FfmpegExit> {
  throwIfAborted(signal);
  return new Promise<FfmpegExit>((resolve, reject) => {
    const child = spawn(ffmpegPath, args, { stdio: ["ignore", "pipe", "pipe"] });
    const kill = () => child.kill("SIGKILL");
    signal.addEventListener("abort", kill, { once: true });
    let stderr = "";
    let pending = "";
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
      stderr = (stderr + chunk).slice(-STDERR_TAIL_CHARS);
    });
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
      // -progress writes short key=value lines; keep only the unfinished one between chunks.
      const lines = (pending + chunk).split("\n");
      pending = (lines.pop() ?? "").slice(-256);
      for (const line of lines) {
        const m = /^out_time_us=(\d+)/.exec(line);
        if (m?.[1] !== undefined && onOutTimeS) onOutTimeS(Number(m[1]) / 1e6);
      }
    });
    child.on("error", (e) => {
      signal.removeEventListener("abort", kill);
      reject(errors.renderFailed(`ffmpeg could not be started (${ffmpegPath}): ${e.message}`, { cause: e }));
    });
    child.on("close", (code, killedBy) => {
      signal.removeEventListener("abort", kill);
      if (signal.aborted) {
        reject(abortReason(signal));
        return;
      }
      const stderrTail = stderr.trimEnd().split("\n").slice(-STDERR_TAIL_LINES);
      resolve({ code, killedBy, stderrTail });
    });
  });
}

const describeExit = (exit: FfmpegExit): string =>
  `ffmpeg ${exit.code === null ? `was killed by ${exit.killedBy ?? "a signal"}` : `exited with code ${exit.code}`}: ${exit.stderrTail.join(" | ")}`;

/** A render that failed for no reason we can name may succeed again. */
const retryableRenderFailed = (message: string): ReelayError =>
  errors.renderFailed(message, { retryable: true });

const abortReason = (signal: AbortSignal): Error =>
  signal.reason instanceof Error ? signal.reason : new Error("The render was aborted");

function throwIfAborted(signal: AbortSignal): void {
  if (signal.aborted) throw abortReason(signal);
}

/** Progress never goes backwards, whatever order the sources report in. */
function monotonic(onProgress: (fraction: number) => void): (fraction: number) => void {
  let last = -1;
  return (fraction) => {
    const f = Math.min(1, Math.max(0, fraction));
    if (f > last) {
      last = f;
      onProgress(f);
    }
  };
}
