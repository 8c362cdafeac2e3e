/**
 * The local renderer's "studio" features with real ffmpeg, checked on the pixels of the output: the
 * visible mark (and its removal by delogo), crossfades between images, and character insets.
 */
import { spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createImageFetcher } from "../../src/adapters/net/safe-fetch.js";
import {
  characterInsetRegion,
  createLocalRenderer,
  type MediaTools,
  markRegion,
  resolveMediaTools,
} from "../../src/adapters/providers/local-renderer/index.js";
import { createDelogoRemover } from "../../src/adapters/watermark/delogo.js";
import type { GenerateContext, GeneratedVideo, Region } from "../../src/core/media/ports.js";
import type { CharacterRef, VideoRequest, VideoSource } from "../../src/core/tasks/task.js";
import { ffprobe } from "../helpers/ffprobe.js";
import { textToVideo } from "../helpers/video-request.js";

const W = 1280;
const H = 720;
const request = (over: Partial<VideoRequest>): VideoRequest =>
  textToVideo({
    model: "sora-2",
    family: "sora-2",
    prompt: "A lighthouse on a cliff at dusk",
    width: W,
    height: H,
    duration: 4,
    watermark: true,
    ...over,
  });
const ALICE: CharacterRef = { username: "alice", videoKey: "unused", startS: 0.5, endS: 2.5 };
/** The middle of the frame's upper half: clear of the caption, the mark and the insets. */
const UPPER_MIDDLE: Region = { x: W / 4, y: H / 3, width: W / 2, height: H / 6 };

describe("local renderer studio features (real ffmpeg)", () => {
  let tools: MediaTools;
  let scratch: string;
  const images: Record<"red" | "blue" | "lime" | "gradient", string> = {
    red: "",
    blue: "",
    lime: "",
    gradient: "",
  };
  /** A 3 s 640×360 clip of solid green (0,128,0) with sound: the character's video. */
  let greenClip: string;
  const dirs: string[] = [];
  const fetcher = createImageFetcher({ allowHosts: [], maxBytes: 1e6, timeoutMs: 1000, maxRedirects: 0 });

  beforeAll(async () => {
    tools = await resolveMediaTools({
      ffmpegPath: process.env.FFMPEG_PATH,
      ffprobePath: process.env.FFPROBE_PATH,
    });
    scratch = await mkdtemp(join(tmpdir(), "reelay-studio-"));
    for (const colour of ["red", "blue", "lime"] as const) {
      images[colour] = join(scratch, `${colour}.png`);
      await ffmpeg(["-f", "lavfi", "-i", `color=c=${colour}:s=640x480`, "-frames:v", "1", images[colour]]);
    }
    // A smooth picture (not a flat colour, which delogo would fill perfectly): a two-way gradient.
    images.gradient = join(scratch, "gradient.png");
    await ffmpeg([
      ...["-f", "lavfi", "-i", "nullsrc=s=640x480,geq=r='X/W*255':g='Y/H*255':b='128'"],
      ...["-frames:v", "1", images.gradient],
    ]);
    greenClip = join(scratch, "green.mp4");
    await ffmpeg([
      ...["-f", "lavfi", "-i", "color=c=green:s=640x360:r=25:d=3", "-f", "lavfi", "-i", "sine=d=3"],
      ...["-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p", "-c:a", "aac", greenClip],
    ]);
  });
  afterAll(async () => {
    await Promise.all([scratch, ...dirs].map((d) => rm(d, { recursive: true, force: true })));
  });

  async function context(files: Partial<GenerateContext["files"]> = {}) {
    const workDir = await mkdtemp(join(tmpdir(), "reelay-studio-job-"));
    dirs.push(workDir);
    const progress: number[] = [];
    const ctx: GenerateContext = {
      workDir,
      files: { imageFiles: [], sourceVideo: null, ...files },
      signal: new AbortController().signal,
      onProgress: (f) => progress.push(f),
    };
    return { ctx, progress };
  }

  /** Renders `req` and checks what every render must be: size, H.264 + AAC, exact length, progress. */
  async function render(
    req: VideoRequest,
    files: Partial<GenerateContext["files"]> = {},
    opts: { mark?: boolean; durationS?: number } = {},
  ): Promise<GeneratedVideo> {
    const { ctx, progress } = await context(files);
    const video = await createLocalRenderer({ tools, fetcher, mark: opts.mark ?? false }).generate(req, ctx);
    const probe = await ffprobe(video.videoPath);
    expect(probe.streams.find((s) => s.codecType === "video")).toMatchObject({
      codecName: "h264",
      width: req.width,
      height: req.height,
    });
    expect(probe.streams.find((s) => s.codecType === "audio")?.codecName).toBe("aac");
    expect(Math.abs(probe.durationS - (opts.durationS ?? req.duration))).toBeLessThanOrEqual(0.2);
    expect(progress.length).toBeGreaterThan(1);
    for (let i = 1; i < progress.length; i++)
      expect(progress[i]).toBeGreaterThanOrEqual(progress[i - 1] ?? 0);
    expect(progress.at(-1)).toBe(1);
    return video;
  }

  function ffmpeg(args: readonly string[]): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      const child = spawn(tools.ffmpegPath, ["-nostdin", "-v", "error", "-y", ...args], {
        stdio: ["ignore", "pipe", "pipe"],
      });
      const out: Buffer[] = [];
      let err = "";
      child.stdout.on("data", (c: Buffer) => out.push(c));
      child.stderr.on("data", (c: Buffer) => {
        err = (err + c.toString()).slice(-2000);
      });
      child.on("error", reject);
      child.on("close", (code) =>
        code === 0 ? resolve(Buffer.concat(out)) : reject(new Error(`ffmpeg exited ${code}: ${err}`)),
      );
    });
  }

  /** The pixels of `region` (whole frame when null) in the frame at `atS`, as gray or RGB bytes. */
  const pixels = (path: string, atS: number, region: Region | null, pixFmt: "gray" | "rgb24") =>
    ffmpeg([
      ...["-ss", String(atS), "-i", path, "-frames:v", "1"],
      ...(region === null ? [] : ["-vf", `crop=${region.width}:${region.height}:${region.x}:${region.y}`]),
      ...["-f", "rawvideo", "-pix_fmt", pixFmt, "-"],
    ]);

  const meanDifference = (a: Buffer, b: Buffer, skip: (i: number) => boolean = () => false): number => {
    expect(a.length).toBe(b.length);
    let [sum, count] = [0, 0];
    for (let i = 0; i < a.length; i++) {
      if (skip(i)) continue;
      sum += Math.abs((a[i] ?? 0) - (b[i] ?? 0));
      count++;
    }
    return sum / count;
  };

  /** Mean R, G, B of RGB bytes. */
  const meanColour = (rgb: Buffer): [number, number, number] => {
    const sums = [0, 0, 0];
    for (let i = 0; i < rgb.length; i++) sums[i % 3] = (sums[i % 3] ?? 0) + (rgb[i] ?? 0);
    const n = rgb.length / 3;
    return [(sums[0] ?? 0) / n, (sums[1] ?? 0) / n, (sums[2] ?? 0) / n];
  };

  it("draws a visible mark where it says, which delogo removes", async () => {
    const req = request({ imageKeys: ["uploads/gradient.png"] });
    const files = { imageFiles: [images.gradient] };
    const plain = await render(req, files);
    expect(plain).toMatchObject({ watermarked: false, watermarkRegion: null });
    const marked = await render(req, files, { mark: true });
    const region = markRegion(W, H);
    expect(marked).toMatchObject({ watermarked: true, watermarkRegion: region });

    const at = 2;
    const plainMark = await pixels(plain.videoPath, at, region, "gray");
    const markedMark = await pixels(marked.videoPath, at, region, "gray");
    // The white text with its dark border changes much of the box (measured 31).
    const markDiff = meanDifference(plainMark, markedMark);
    expect(markDiff).toBeGreaterThan(12);
    // Outside the box, the marked render is the same picture (measured 0.06).
    const inRegion = (i: number) => {
      const [x, y] = [i % W, Math.floor(i / W)];
      return x >= region.x && x < region.x + region.width && y >= region.y && y < region.y + region.height;
    };
    const plainFrame = await pixels(plain.videoPath, at, null, "gray");
    expect(
      meanDifference(plainFrame, await pixels(marked.videoPath, at, null, "gray"), inRegion),
    ).toBeLessThan(1);

    const workDir = await mkdtemp(join(tmpdir(), "reelay-studio-delogo-"));
    dirs.push(workDir);
    const clean = await createDelogoRemover({ ffmpegPath: tools.ffmpegPath }).remove({
      videoPath: marked.videoPath,
      region: marked.watermarkRegion ?? null,
      workDir,
      signal: new AbortController().signal,
    });
    // The mark is gone: the box is close to the unmarked render again (measured 0.5).
    const cleanDiff = meanDifference(plainMark, await pixels(clean, at, region, "gray"));
    expect(cleanDiff).toBeLessThan(4);
    expect(cleanDiff).toBeLessThan(markDiff / 6);
    // And the rest of the frame is untouched but for one more encode (measured 0.3).
    expect(meanDifference(plainFrame, await pixels(clean, at, null, "gray"), inRegion)).toBeLessThan(2);
    const probe = await ffprobe(clean);
    expect(probe.streams.find((s) => s.codecType === "audio")?.codecName).toBe("aac");
    expect(Math.abs(probe.durationS - 4)).toBeLessThanOrEqual(0.2);
  });

  it("crossfades between images: a blend at each join, each image alone between them", async () => {
    const imageFiles = [images.red, images.blue, images.lime];
    const req = request({ duration: 9, imageKeys: ["uploads/r.png", "uploads/b.png", "uploads/l.png"] });
    const video = await render(req, { imageFiles });
    const levelsAt = async (atS: number) =>
      meanColour(await pixels(video.videoPath, atS, UPPER_MIDDLE, "rgb24")).map((v) =>
        // The value itself when it fits none: the failure then shows it.
        v > 200 ? "high" : v < 40 ? "low" : v > 70 && v < 185 ? "half" : v.toFixed(0),
      );
    // Each image owns 3 s; in the middle of its share it is shown alone.
    expect(await levelsAt(1.5)).toEqual(["high", "low", "low"]);
    expect(await levelsAt(4.5)).toEqual(["low", "low", "high"]);
    expect(await levelsAt(7.5)).toEqual(["low", "high", "low"]);
    // The joins are centred on 3 s and 6 s: half of each image there.
    expect(await levelsAt(3)).toEqual(["half", "low", "half"]);
    expect(await levelsAt(6)).toEqual(["low", "half", "half"]);
  });

  /** Whether the mean colour of `region` at `atS` is clearly green. */
  const greenDominant = async (path: string, atS: number, region: Region) => {
    const [r, g, b] = meanColour(await pixels(path, atS, region, "rgb24"));
    return g > 90 && g > r + 50 && g > b + 50;
  };

  it("shows a character's clip as an inset in the top-left corner", async () => {
    const req = request({ imageKeys: ["uploads/r.png"] });
    const inset = characterInsetRegion(W, H, 0);
    const without = await render(req, { imageFiles: [images.red] });
    const video = await render(
      { ...req, characters: [ALICE] },
      { imageFiles: [images.red], characterVideos: [greenClip] },
    );
    for (const at of [0.5, 3.5]) {
      expect(await greenDominant(video.videoPath, at, inset)).toBe(true);
      expect(await greenDominant(without.videoPath, at, inset)).toBe(false);
    }
    // Only the inset: the rest of the picture is still the image.
    expect(await greenDominant(video.videoPath, 2, UPPER_MIDDLE)).toBe(false);
  });

  it.each(["remix", "extend"] as const)(
    "shows the character in the %s mode too, with the mark",
    async (kind) => {
      const { ctx } = await context({ imageFiles: [images.blue] });
      const sourceVideo = (
        await createLocalRenderer({ tools, fetcher }).generate(request({ duration: 2 }), ctx)
      ).videoPath;
      const source: VideoSource = { kind, taskId: null, videoKey: "videos/source.mp4", durationS: 2 };
      const req = request({ duration: 2, source, characters: [ALICE] });
      const video = await render(
        req,
        { sourceVideo, characterVideos: [greenClip] },
        { mark: true, durationS: kind === "extend" ? 4 : 2 },
      );
      expect(video.watermarked).toBe(true);
      // In the source's part and, for extend, in the new one too.
      expect(await greenDominant(video.videoPath, 1, characterInsetRegion(W, H, 0))).toBe(true);
      expect(
        await greenDominant(video.videoPath, kind === "extend" ? 3 : 1.9, characterInsetRegion(W, H, 0)),
      ).toBe(true);
      expect(await greenDominant(sourceVideo, 1, characterInsetRegion(W, H, 0))).toBe(false);
    },
  );

  it("fails, not retryable, when a character's video was not handed over", async () => {
    const { ctx } = await context();
    const failure = await createLocalRenderer({ tools, fetcher })
      .generate(request({ characters: [ALICE] }), ctx)
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(failure).toMatchObject({ code: "render_failed", retryable: false });
    expect(String((failure as Error).message)).toContain("@alice");
  });
});
