/**
 * A scripted VideoProvider for engine tests: each call takes the next outcome from the script
 * (success, a typed error, or waiting until aborted). Files it "renders" hold known bytes.
 */
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { ReelayError } from "../../src/core/errors.js";
import type { GenerateContext, GeneratedVideo, Region, VideoProvider } from "../../src/core/ports.js";
import type { VideoRequest } from "../../src/core/task.js";

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

  constructor(
    private readonly script: Outcome[] = [],
    private readonly fallback: Outcome = "ok",
  ) {}

  async generate(request: VideoRequest, ctx: GenerateContext): Promise<GeneratedVideo> {
    const outcome = this.script[this.calls] ?? this.fallback;
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
      await writeFile(videoPath, FAKE_VIDEO);
      await writeFile(thumbnailPath, Buffer.from("thumb"));
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
