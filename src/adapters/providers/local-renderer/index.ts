/**
 * The local provider: renders a video with ffmpeg on this machine. Without a source video, the images
 * (links downloaded through the SSRF-guarded fetcher, then uploaded files) are shown one after another
 * with a slow pan, or a colour background is drawn; the prompt is the caption; a quiet generated tone
 * is the soundtrack. With a source video (remix, edit, extend) the source's frames are the picture
 * (source-modes.ts). In every mode, the request's characters are shown as insets and, when the
 * renderer is built with `mark: true`, a visible "Reelay" mark is drawn (overlays.ts), all in the one
 * render command. Every video also gets a thumbnail and a spritesheet.
 */
import { writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { errors, type ReelayError } from "../../../core/errors.js";
import { ALLOWED_IMAGES_TEXT, ALLOWED_VIDEOS_TEXT } from "../../../core/media/media_types.js";
import type { GenerateContext, GeneratedVideo, VideoProvider } from "../../../core/media/ports.js";
import type { CharacterRef, VideoRequest, VideoSource } from "../../../core/tasks/task.js";
import type { ImageFetcher } from "../../net/safe-fetch.js";
import { captionBand, captionText } from "./caption.js";
import {
  describeExit,
  exitDetail,
  type FfmpegExit,
  monotonic,
  retryableRenderFailed,
  runFfmpeg,
  throwIfAborted,
} from "./ffmpeg-run.js";
import {
  buildDecodeCheckArgs,
  buildRenderArgs,
  buildThumbnailArgs,
  DEFAULT_FPS,
  DEFAULT_MAX_IMAGE_PIXELS,
} from "./filtergraph.js";
import { type ImageInput, imageInput, type VideoInput, videoInput } from "./media-input.js";
import { type MediaTools, probe } from "./media-tools.js";
import { type CharacterClip, MAX_CHARACTER_INSETS, markRegion, type Overlays } from "./overlays.js";
import { buildSourceRenderArgs, type SourceRenderInputs, sourceOutputDurationS } from "./source-modes.js";
import { buildSpritesheetArgs, spritesheetLayout } from "./spritesheet.js";

export { buildRenderArgs } from "./filtergraph.js";
export { type MediaTools, probe, resolveMediaTools } from "./media-tools.js";
export {
  type CharacterClip,
  characterInsetRegion,
  MAX_CHARACTER_INSETS,
  markRegion,
  type Overlays,
} from "./overlays.js";
export { type SlidePlan, slidePlan } from "./slides.js";
export { buildSourceRenderArgs, type SourceRenderInputs, sourceOutputDurationS } from "./source-modes.js";
export { buildSpritesheetArgs, type SpritesheetLayout, spritesheetLayout } from "./spritesheet.js";

/** Share of the progress bar the downloads stand for, when there are images to download. */
const DOWNLOAD_SHARE = 0.05;
/** Rendering reports at most this; 1 is reported once the thumbnail, spritesheet and probe are done. */
const RENDER_PROGRESS_CAP = 0.99;

export interface LocalRendererOptions {
  readonly tools: MediaTools;
  readonly fetcher: ImageFetcher;
  readonly fps?: number;
  /** Decoded pixels one image may have (default 50 M): guards against decompression bombs. */
  readonly maxImagePixels?: number;
  /**
   * Draw a visible "Reelay" mark on every video (default false). The result then says
   * `watermarked: true` and where the mark is (`markRegion`), for a remover such as delogo.
   */
  readonly mark?: boolean;
}

/** What every rendering mode shares for one call. */
interface Job {
  readonly request: VideoRequest;
  readonly ctx: GenerateContext;
  readonly captionPath: string | null;
  readonly videoPath: string;
  readonly overlays: Overlays;
  readonly report: (fraction: number) => void;
}

/** A VideoProvider named `local` that renders with the given ffmpeg; no state outside each call. */
export function createLocalRenderer(opts: LocalRendererOptions): VideoProvider {
  const fps = opts.fps ?? DEFAULT_FPS;
  const maxImagePixels = opts.maxImagePixels ?? DEFAULT_MAX_IMAGE_PIXELS;
  const mark = opts.mark ?? false;
  const { ffmpegPath, ffprobePath, fontPath } = opts.tools;
  return {
    name: "local",
    generate: (request, ctx) => generate(request, ctx),
  };

  async function generate(request: VideoRequest, ctx: GenerateContext): Promise<GeneratedVideo> {
    // ffmpeg must get absolute paths (a relative `name:…` could be read as a protocol).
    const workDir = resolve(ctx.workDir);
    throwIfAborted(ctx.signal);
    const characters = await characterClips(request, ctx);
    const caption = captionText(request.prompt, request.width, request.height);
    const captionPath = caption === "" ? null : join(workDir, "caption.txt");
    if (captionPath !== null) await writeFile(captionPath, caption, "utf8");
    const job: Job = {
      request,
      ctx,
      captionPath,
      videoPath: join(workDir, "video.mp4"),
      overlays: { mark, characters },
      report: monotonic(ctx.onProgress),
    };
    const durationS =
      request.source === null
        ? await renderStills(job, workDir)
        : await renderFromSource(job, request.source);
    return finish(job, workDir, durationS);
  }

  /** Images or a colour background; returns the output's length. */
  async function renderStills(job: Job, workDir: string): Promise<number> {
    const { request, ctx, report } = job;
    const imagePaths: string[] = [];
    for (const [index, url] of request.images.entries()) {
      const path = join(workDir, `image-${index}`);
      await opts.fetcher.fetchTo(url, path, { index, signal: ctx.signal });
      imagePaths.push(path);
      report((DOWNLOAD_SHARE * (index + 1)) / request.images.length);
    }
    // Uploaded images are already local: they follow the links, as `imageKeys` follow `images`.
    imagePaths.push(...ctx.files.imageFiles.map((p) => resolve(p)));
    // Sniffed again here, whatever was checked before: the type decides the demuxer ffmpeg is held to.
    const images: ImageInput[] = [];
    for (const [index, path] of imagePaths.entries()) {
      const image = await imageInput(path);
      if (image === null) throw errors.imageRefused(index, `the bytes are not ${ALLOWED_IMAGES_TEXT}`);
      images.push(image);
    }
    const args = buildRenderArgs({
      width: request.width,
      height: request.height,
      durationS: request.duration,
      prompt: request.prompt,
      images,
      captionPath: job.captionPath,
      fontPath,
      outputPath: job.videoPath,
      fps,
      maxImagePixels,
      overlays: job.overlays,
    });
    const start = request.images.length > 0 ? DOWNLOAD_SHARE : 0;
    const render = await runFfmpeg(ffmpegPath, args, ctx.signal, (outS) =>
      report(start + (RENDER_PROGRESS_CAP - start) * Math.min(1, outS / request.duration)),
    );
    if (render.code !== 0) throw await imageFailure(render, images, job);
    return request.duration;
  }

  /**
   * Remix, edit or extend `source`; returns the output's length. The source's frames are the picture:
   * images, linked or uploaded, are not used in these modes (nor downloaded).
   */
  async function renderFromSource(job: Job, source: VideoSource): Promise<number> {
    const { request, ctx } = job;
    if (ctx.files.sourceVideo === null) {
      throw errors.renderFailed(`the source video of this ${source.kind} was not provided to the renderer`, {
        retryable: false,
      });
    }
    const sourceFile = await videoInput(resolve(ctx.files.sourceVideo));
    if (sourceFile === null) {
      throw errors.renderFailed(`the source video is not ${ALLOWED_VIDEOS_TEXT}`, { retryable: false });
    }
    const info = await probe(ffprobePath, sourceFile).catch((e: unknown) => {
      // ffprobe that cannot start is this machine's trouble; ffprobe refusing the file is the file's.
      throw isSpawnError(e)
        ? errors.renderFailed("ffprobe could not be started", { retryable: true, cause: e })
        : sourceUndecodable(e);
    });
    throwIfAborted(ctx.signal);
    const video = info.streams.find((s) => s.codecType === "video");
    const sourceDurationS = video?.durationS ?? (info.durationS || source.durationS);
    if (video === undefined || !(sourceDurationS > 0)) throw sourceUndecodable();
    const inputs: SourceRenderInputs = {
      kind: source.kind,
      width: request.width,
      height: request.height,
      durationS: request.duration,
      source: sourceFile,
      sourceDurationS,
      sourceHasAudio: info.streams.some((s) => s.codecType === "audio"),
      prompt: request.prompt,
      captionPath: job.captionPath,
      // A finished task's video shows its prompt as a caption, at this very size (remix, edit and
      // extend keep the source's size): that band is covered, not drawn over.
      sourceCaptionBand:
        source.captionPrompt === undefined
          ? null
          : captionBand(source.captionPrompt, request.width, request.height),
      fontPath,
      outputPath: job.videoPath,
      fps,
      overlays: job.overlays,
    };
    const totalS = sourceOutputDurationS(inputs);
    const render = await runFfmpeg(ffmpegPath, buildSourceRenderArgs(inputs), ctx.signal, (outS) =>
      job.report(RENDER_PROGRESS_CAP * Math.min(1, outS / totalS)),
    );
    if (render.code !== 0) {
      const check = await runFfmpeg(ffmpegPath, buildDecodeCheckArgs(sourceFile), ctx.signal);
      if (check.code !== 0) throw sourceUndecodable();
      throw (await characterFailure(job)) ?? retryableRenderFailed(describeExit(render), exitDetail(render));
    }
    return totalS;
  }

  /** Thumbnail, spritesheet and probe only read the finished video: they run side by side. */
  async function finish(job: Job, workDir: string, durationS: number): Promise<GeneratedVideo> {
    const { request, ctx } = job;
    // This renderer's own output: an MP4 by construction.
    const video: VideoInput = { path: job.videoPath, type: "mp4" };
    const thumbnailPath = join(workDir, "thumb.jpg");
    const spritesheetPath = join(workDir, "spritesheet.jpg");
    const layout = spritesheetLayout(request.width, request.height, durationS);
    const [thumb, sheet, info] = await Promise.all([
      runFfmpeg(ffmpegPath, buildThumbnailArgs(video, thumbnailPath, Math.min(1, durationS / 2)), ctx.signal),
      runFfmpeg(ffmpegPath, buildSpritesheetArgs(video, spritesheetPath, layout, durationS), ctx.signal),
      probe(ffprobePath, video).catch((e: unknown) => {
        throw retryableRenderFailed("the rendered video could not be read back", e);
      }),
    ]);
    if (thumb.code !== 0) throw retryableRenderFailed(`thumbnail ${describeExit(thumb)}`, exitDetail(thumb));
    if (sheet.code !== 0)
      throw retryableRenderFailed(`spritesheet ${describeExit(sheet)}`, exitDetail(sheet));
    const stream = info.streams.find((s) => s.codecType === "video");
    if (stream?.width === undefined || stream.height === undefined) {
      throw retryableRenderFailed("the rendered video has no video stream");
    }
    job.report(1);
    return {
      videoPath: video.path,
      thumbnailPath,
      spritesheetPath,
      width: stream.width,
      height: stream.height,
      durationS: info.durationS,
      watermarked: mark,
      watermarkRegion: mark ? markRegion(stream.width, stream.height) : null,
      enhancedPrompt: request.prompt,
    };
  }

  /**
   * Explains a failed render. A broken input image is the user's to fix (not retryable, named by its
   * index among links then uploads): decoding each image alone finds it. So is a broken character video.
   * Anything else may be the machine's trouble: retryable.
   */
  async function imageFailure(render: FfmpegExit, images: readonly ImageInput[], job: Job) {
    for (const [index, image] of images.entries()) {
      const check = await runFfmpeg(ffmpegPath, buildDecodeCheckArgs(image, maxImagePixels), job.ctx.signal);
      if (check.code !== 0) {
        const tooBig = check.stderrTail.some((l) => l.includes("max pixel count"));
        const why = tooBig ? `is larger than ${maxImagePixels} pixels` : "could not be decoded as an image";
        return errors.imageFetchFailed(index, why, false);
      }
    }
    return (await characterFailure(job)) ?? retryableRenderFailed(describeExit(render), exitDetail(render));
  }

  /** The error for the first character video ffmpeg cannot decode, if any: a retry cannot mend it. */
  async function characterFailure(job: Job): Promise<ReelayError | undefined> {
    const refs = job.request.characters ?? [];
    for (const [index, clip] of (job.overlays.characters ?? []).entries()) {
      const check = await runFfmpeg(ffmpegPath, buildDecodeCheckArgs(clip.video), job.ctx.signal);
      if (check.code !== 0) {
        return errors.renderFailed(
          `the video of character @${refs[index]?.username ?? index} could not be decoded`,
          {
            retryable: false,
          },
        );
      }
    }
    return undefined;
  }
}

/**
 * The clips of the characters the renderer draws (the first MAX_CHARACTER_INSETS), each from the local
 * copy the worker made. A character without its copy is the worker's omission: retrying the same
 * hand-over cannot help.
 */
async function characterClips(request: VideoRequest, ctx: GenerateContext): Promise<CharacterClip[]> {
  const refs: readonly CharacterRef[] = (request.characters ?? []).slice(0, MAX_CHARACTER_INSETS);
  const files = ctx.files.characterVideos ?? [];
  const clips: CharacterClip[] = [];
  for (const [i, c] of refs.entries()) {
    const path = files[i];
    if (path === undefined) {
      throw errors.renderFailed(`the video of character @${c.username} was not provided to the renderer`, {
        retryable: false,
      });
    }
    const video = await videoInput(resolve(path));
    if (video === null) {
      throw errors.renderFailed(`the video of character @${c.username} is not ${ALLOWED_VIDEOS_TEXT}`, {
        retryable: false,
      });
    }
    clips.push({ video, startS: c.startS, endS: c.endS });
  }
  return clips;
}

/** The user's source is not a video ffmpeg can read: trying again cannot help. */
const sourceUndecodable = (cause?: unknown): ReelayError =>
  errors.renderFailed("the source video could not be decoded", { retryable: false, cause });

/** An error from spawn itself (ENOENT, EACCES…), as opposed to a tool that ran and said no. */
const isSpawnError = (e: unknown): boolean =>
  e instanceof Error && typeof (e as NodeJS.ErrnoException).code === "string";
