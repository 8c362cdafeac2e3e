/**
 * A scripted VideoProvider for engine tests: each call takes the next outcome from the script
 * (success, a typed error, or waiting until aborted). Files it "renders" hold known bytes, or,
 * with `realMedia`, a real MP4 and JPEG (so it can be held to the provider contract).
 */
import { execFile } from "node:child_process";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { resolveMediaTools } from "../../src/adapters/providers/local-renderer/media-tools.js";
import type { ReelayError } from "../../src/core/errors.js";
import type { GenerateContext, GeneratedVideo, Region, VideoProvider } from "../../src/core/media/ports.js";
import type { VideoRequest } from "../../src/core/tasks/task.js";

export type Outcome = "ok" | "hang" | { error: ReelayError } | { gate: Promise<void> };

/** 4 KiB of a known pattern: byte i is i mod 251. */
export const FAKE_VIDEO = Buffer.from(Array.from({ length: 4096 }, (_, i) => i % 251));

export class FakeProvider implements VideoProvider {
  readonly name = "fake";
  calls = 0;
  active = 0;
  maxActive = 0;
  readonly requests: VideoRequest[] = [];
  /** What the worker copied out of the blob store for each call. */
  readonly files: GenerateContext["files"][] = [];
  /** When set, videos come back this many seconds long instead of the asked duration. */
  deliverSeconds: number | null = null;
  /** When set, every video comes back marked, with the mark in this region. */
  markRegion: Region | null = null;
  /**
   * When true, the video is a real H.264 MP4 at the asked size and length (ffmpeg's colour
   * source) and the thumbnail a real JPEG: what the provider contract checks. Off by default:
   * most tests compare the known bytes of FAKE_VIDEO.
   */
  realMedia = false;
  /** Outcomes taken before the script's, first in first out (e.g. "hang" for the next call only). */
  readonly upcoming: Outcome[] = [];

  constructor(
    private readonly script: Outcome[] = [],
    private readonly fallback: Outcome = "ok",
  ) {}

  async generate(request: VideoRequest, ctx: GenerateContext): Promise<GeneratedVideo> {
    const outcome = this.upcoming.shift() ?? this.script[this.calls] ?? this.fallback;
    this.calls++;
    this.requests.push(request);
    this.active++;
    this.maxActive = Math.max(this.maxActive, this.active);
    try {
      ctx.onProgress(0.5);
      if (outcome === "hang" || (typeof outcome === "object" && "gate" in outcome)) {
        await new Promise<void>((resolve, reject) => {
          const onAbort = () => reject(ctx.signal.reason);
          if (ctx.signal.aborted) return onAbort();
          ctx.signal.addEventListener("abort", onAbort, { once: true });
          if (typeof outcome === "object") outcome.gate.then(resolve, reject);
        });
      } else if (typeof outcome === "object") {
        throw outcome.error;
      }
      const videoPath = join(ctx.workDir, "out.mp4");
      const thumbnailPath = join(ctx.workDir, "out.jpg");
      const spritesheetPath = join(ctx.workDir, "sprites.jpg");
      if (this.realMedia) await writeRealMedia(request, videoPath, thumbnailPath);
      else {
        await writeFile(videoPath, FAKE_VIDEO);
        await writeFile(thumbnailPath, Buffer.from("thumb"));
      }
      await writeFile(spritesheetPath, Buffer.from("sprites"));
      this.files.push(ctx.files);
      return {
        videoPath,
        thumbnailPath,
        spritesheetPath,
        width: request.width,
        height: request.height,
        durationS: this.deliverSeconds ?? request.duration,
        watermarked: this.markRegion !== null,
        watermarkRegion: this.markRegion,
        enhancedPrompt: `${request.prompt} (fake)`,
      };
    } finally {
      this.active--;
    }
  }
}

/** A plain-colour H.264 MP4 of the asked size and length, and a JPEG of the same size. */
async function writeRealMedia(
  request: VideoRequest,
  videoPath: string,
  thumbnailPath: string,
): Promise<void> {
  const { ffmpegPath } = await resolveMediaTools({
    ffmpegPath: process.env.FFMPEG_PATH,
    ffprobePath: process.env.FFPROBE_PATH,
  });
  const run = promisify(execFile);
  const colour = `color=c=navy:s=${request.width}x${request.height}:r=24`;
  const base = ["-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i", colour];
  const h264 = ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"];
  await run(ffmpegPath, [...base, "-t", String(request.duration), ...h264, videoPath]);
  await run(ffmpegPath, [...base, "-frames:v", "1", thumbnailPath]);
}

export const SEED_BODY = {
  images: [],
  model: "sora-2-pro",
  orientation: "portrait",
  prompt: "make animate",
  size: "large",
  duration: 15,
  watermark: false,
  private: true,
} as const;
