/**
 * The local renderer's newer modes with real ffmpeg, read back with ffprobe: the spritesheet, uploaded
 * images, and videos made from a source video (remix, edit, extend).
 */
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createImageFetcher, type ImageFetcher } from "../../src/adapters/net/safe-fetch.js";
import { createLocalRenderer, spritesheetLayout } from "../../src/adapters/providers/local-renderer/index.js";
import {
  type MediaTools,
  resolveMediaTools,
} from "../../src/adapters/providers/local-renderer/media-tools.js";
import type { GenerateContext, GeneratedVideo } from "../../src/core/media/ports.js";
import type { VideoRequest, VideoSource } from "../../src/core/tasks/task.js";
import { ffprobe } from "../helpers/ffprobe.js";
import { type ImageServer, startImageServer } from "../helpers/image-server.js";
import { textToVideo } from "../helpers/video-request.js";

const request = (over: Partial<VideoRequest>): VideoRequest =>
  textToVideo({
    api: "openai",
    model: "sora-2",
    family: "sora-2",
    prompt: "A lighthouse on a cliff at dusk, waves below, gulls circling in the warm evening light",
    size: "1280x720",
    duration: 4,
    ...over,
  });

const source = (kind: VideoSource["kind"], durationS = 4): VideoSource => ({
  kind,
  taskId: null,
  videoKey: "videos/source.mp4",
  durationS,
});

const NEW_PROMPT = "The same coast at night under a green aurora, the lighthouse beam sweeping the sea";

describe("local renderer modes (real ffmpeg)", () => {
  let tools: MediaTools;
  let server: ImageServer;
  let fetcher: ImageFetcher;
  let scratch: string;
  /** A 4 s 1280×720 clip with sound, rendered once by the renderer itself. */
  let sourceVideo: string;
  /** A 2 s 640×360 clip without sound, made with a bare ffmpeg. */
  let silentSource: string;
  const dirs: string[] = [];

  beforeAll(async () => {
    tools = await resolveMediaTools({
      ffmpegPath: process.env.FFMPEG_PATH,
      ffprobePath: process.env.FFPROBE_PATH,
    });
    server = await startImageServer();
    fetcher = createImageFetcher({
      allowHosts: [server.host],
      maxBytes: 8e6,
      timeoutMs: 10_000,
      maxRedirects: 3,
    });
    scratch = await mkdtemp(join(tmpdir(), "reelay-modes-"));
    const { ctx } = await context();
    const made = await renderer().generate(request({ images: [`${server.url}/a.png`] }), ctx);
    sourceVideo = made.videoPath;
    silentSource = join(scratch, "silent.mp4");
    await ffmpeg([
      ...["-f", "lavfi", "-i", "testsrc=size=640x360:rate=25", "-t", "2"],
      ...["-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p", silentSource],
    ]);
  });
  afterAll(async () => {
    await server.close();
    await Promise.all([scratch, ...dirs].map((d) => rm(d, { recursive: true, force: true })));
  });

  const renderer = () => createLocalRenderer({ tools, fetcher });

  async function context(
    files: Partial<GenerateContext["files"]> = {},
    signal = new AbortController().signal,
  ): Promise<{ ctx: GenerateContext; progress: number[] }> {
    const workDir = await mkdtemp(join(tmpdir(), "reelay-mode-"));
    dirs.push(workDir);
    const progress: number[] = [];
    const ctx: GenerateContext = {
      workDir,
      files: { imageFiles: [], sourceVideo: null, ...files },
      signal,
      onProgress: (f) => progress.push(f),
    };
    return { ctx, progress };
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

  /** A 32×18 RGB thumbnail of the frame at `atS`: enough to tell two pictures apart. */
  const frameAt = (path: string, atS: number) =>
    ffmpeg([
      "-ss",
      String(atS),
      "-i",
      path,
      "-frames:v",
      "1",
      "-s",
      "32x18",
      "-f",
      "rawvideo",
      "-pix_fmt",
      "rgb24",
      "-",
    ]);

  const meanDifference = (a: Buffer, b: Buffer): number => {
    expect(a.length).toBe(b.length);
    let sum = 0;
    for (let i = 0; i < a.length; i++) sum += Math.abs((a[i] ?? 0) - (b[i] ?? 0));
    return sum / a.length;
  };

  async function expectVideo(video: GeneratedVideo, width: number, height: number, durationS: number) {
    expect(video).toMatchObject({ width, height, watermarked: false });
    const probe = await ffprobe(video.videoPath);
    expect(probe.streams.find((s) => s.codecType === "video")).toMatchObject({
      codecName: "h264",
      width,
      height,
    });
    expect(probe.streams.find((s) => s.codecType === "audio")?.codecName).toBe("aac");
    expect(Math.abs(probe.durationS - durationS)).toBeLessThanOrEqual(0.2);
    expect(Math.abs(video.durationS - durationS)).toBeLessThanOrEqual(0.2);
    const thumb = await ffprobe(video.thumbnailPath);
    expect(thumb.streams[0]).toMatchObject({ codecName: "mjpeg", width, height });
  }

  /** The spritesheet is one JPEG image whose size is the layout's grid of tiles. */
  async function expectSpritesheet(video: GeneratedVideo, columns: number, rows: number) {
    expect(video.spritesheetPath).not.toBeNull();
    const path = video.spritesheetPath ?? "";
    const layout = spritesheetLayout(video.width, video.height, video.durationS);
    expect(layout).toMatchObject({ columns, rows });
    const probe = await ffprobe(path);
    expect(probe.streams).toHaveLength(1);
    expect(probe.streams[0]).toMatchObject({
      codecName: "mjpeg",
      width: columns * layout.tileWidth,
      height: rows * layout.tileHeight,
    });
    const bytes = await readFile(path);
    expect(bytes.subarray(0, 3).toString("hex")).toBe("ffd8ff");
    expect(bytes.indexOf(Buffer.from("ffd8ff", "hex"), 1)).toBe(-1);
  }

  const expectMonotonicToOne = (progress: readonly number[]) => {
    expect(progress.length).toBeGreaterThan(1);
    for (let i = 1; i < progress.length; i++)
      expect(progress[i]).toBeGreaterThanOrEqual(progress[i - 1] ?? 0);
    expect(progress.at(-1)).toBe(1);
  };

  const failureOf = (p: Promise<unknown>): Promise<unknown> =>
    p.then(
      () => undefined,
      (e: unknown) => e,
    );

  it("renders 4 s at 1024×1792 with a 2×2 spritesheet", async () => {
    const { ctx, progress } = await context();
    const req = request({ orientation: "portrait", size: "1024x1792", width: 1024, height: 1792 });
    const video = await renderer().generate(req, ctx);
    await expectVideo(video, 1024, 1792, 4);
    await expectSpritesheet(video, 2, 2);
    expect(video.spritesheetPath).toBe(join(ctx.workDir, "spritesheet.jpg"));
    expectMonotonicToOne(progress);
  });

  it("uses uploaded images after the linked ones", async () => {
    const upload = join(scratch, "upload.png");
    await ffmpeg(["-f", "lavfi", "-i", "mandelbrot=size=640x480", "-frames:v", "1", upload]);
    const { ctx } = await context({ imageFiles: [upload] });
    const req = request({ images: [`${server.url}/b.png`], imageKeys: ["uploads/upload.png"] });
    const video = await renderer().generate(req, ctx);
    await expectVideo(video, 1280, 720, 4);
    // The second half of the clip is the uploaded picture, not the linked one.
    const linked = await frameAt(video.videoPath, 0.5);
    const uploaded = await frameAt(video.videoPath, 3.5);
    expect(meanDifference(linked, uploaded)).toBeGreaterThan(20);
  });

  it("fails, not retryable, naming an uploaded image that cannot be decoded by its place after the links", async () => {
    // A PNG by its signature, then no picture: the renderer's decode check finds it.
    const broken = join(scratch, "broken.png");
    await writeFile(broken, `\x89PNG\r\n\x1a\n${"not a picture at all ".repeat(50)}`, "latin1");
    const { ctx } = await context({ imageFiles: [broken] });
    const req = request({ images: [`${server.url}/a.png`], imageKeys: ["uploads/broken.png"] });
    const failure = await failureOf(renderer().generate(req, ctx));
    expect(failure).toMatchObject({ code: "image_fetch_failed", retryable: false, param: "images[1]" });
    expect(String((failure as Error).message)).toMatch(/could not be decoded as an image/);
    // Not an image by its bytes at all: refused before ffmpeg sees it.
    const text = join(scratch, "text.png");
    await writeFile(text, "#EXTM3U\n/etc/hostname\n");
    const refused = await failureOf(renderer().generate(req, (await context({ imageFiles: [text] })).ctx));
    expect(refused).toMatchObject({ code: "image_refused", retryable: false, param: "images[1]" });
  });

  it("remixes a shorter source into a longer clip of the asked size, visibly different", async () => {
    const { ctx, progress } = await context({ sourceVideo });
    const req = request({ prompt: NEW_PROMPT, duration: 6, source: source("remix") });
    const video = await renderer().generate(req, ctx);
    await expectVideo(video, 1280, 720, 6);
    await expectSpritesheet(video, 3, 3);
    expect(video.enhancedPrompt).toBe(NEW_PROMPT);
    expect(meanDifference(await frameAt(sourceVideo, 1), await frameAt(video.videoPath, 1))).toBeGreaterThan(
      10,
    );
    expectMonotonicToOne(progress);
  });

  it("edits a source into another size and duration", async () => {
    const { ctx, progress } = await context({ sourceVideo });
    const req = request({
      prompt: NEW_PROMPT,
      orientation: "portrait",
      size: "720x1280",
      width: 720,
      height: 1280,
      source: source("edit"),
    });
    const video = await renderer().generate(req, ctx);
    await expectVideo(video, 720, 1280, 4);
    // Cropped from the middle, retouched and captioned anew: not the source's middle third as it was.
    const sourceMiddle = await ffmpeg([
      ...["-ss", "1", "-i", sourceVideo, "-frames:v", "1", "-vf", "crop=405:720,scale=18:32"],
      ...["-f", "rawvideo", "-pix_fmt", "rgb24", "-"],
    ]);
    const edited = await ffmpeg([
      ...["-ss", "1", "-i", video.videoPath, "-frames:v", "1", "-vf", "scale=18:32"],
      ...["-f", "rawvideo", "-pix_fmt", "rgb24", "-"],
    ]);
    expect(meanDifference(sourceMiddle, edited)).toBeGreaterThan(3);
    expectMonotonicToOne(progress);
  });

  it("extends a 4 s source by 4 s: 8 s, same size, the source first", async () => {
    const { ctx, progress } = await context({ sourceVideo });
    const req = request({ prompt: NEW_PROMPT, duration: 4, source: source("extend") });
    const video = await renderer().generate(req, ctx);
    await expectVideo(video, 1280, 720, 8);
    await expectSpritesheet(video, 4, 4);
    // The first half is the source itself, re-encoded.
    expect(meanDifference(await frameAt(sourceVideo, 1), await frameAt(video.videoPath, 1))).toBeLessThan(8);
    expectMonotonicToOne(progress);
  });

  it("extends a source without sound, giving the result a sound track", async () => {
    const { ctx } = await context({ sourceVideo: silentSource });
    const req = request({ prompt: NEW_PROMPT, duration: 4, source: source("extend", 2) });
    await expectVideo(await renderer().generate(req, ctx), 1280, 720, 6);
  });

  it("kills ffmpeg and rejects with the abort reason when a source render is aborted", async () => {
    const controller = new AbortController();
    const reason = new Error("cancelled by the user");
    const { ctx } = await context({ sourceVideo }, controller.signal);
    const abortingCtx: GenerateContext = { ...ctx, onProgress: (f) => f > 0 && controller.abort(reason) };
    const long = request({
      orientation: "portrait",
      width: 1080,
      height: 1920,
      duration: 25,
      source: source("extend"),
    });
    await expect(renderer().generate(long, abortingCtx)).rejects.toBe(reason);
    await expect(ffprobe(join(ctx.workDir, "video.mp4"))).rejects.toThrow();
    expect(existsSync(join(ctx.workDir, "spritesheet.jpg"))).toBe(false);
  });

  it("fails, not retryable, when the source cannot be decoded", async () => {
    const garbage = join(scratch, "garbage.mp4");
    await writeFile(garbage, Buffer.alloc(64 * 1024, 0x42));
    // An ISO-BMFF `ftyp` box, then nothing an MP4 demuxer can read.
    const broken = join(scratch, "broken.mp4");
    const ftyp = Buffer.from([0, 0, 0, 0x18, ...Buffer.from("ftypisom\0\0\x02\0isomiso2", "latin1")]);
    await writeFile(broken, Buffer.concat([ftyp, Buffer.alloc(64 * 1024, 0x42)]));
    const cases = [
      { file: garbage, kind: "remix", message: "the source video is not an MP4, MOV or WebM video" },
      { file: broken, kind: "remix", message: "the source video could not be decoded" },
      { file: broken, kind: "extend", message: "the source video could not be decoded" },
    ] as const;
    for (const { file, kind, message } of cases) {
      const { ctx } = await context({ sourceVideo: file });
      const failure = await failureOf(renderer().generate(request({ source: source(kind) }), ctx));
      expect(failure).toMatchObject({ code: "render_failed", retryable: false, message });
      expect(existsSync(join(ctx.workDir, "video.mp4"))).toBe(false);
    }
  });

  it("fails, not retryable, when the worker handed over no source file", async () => {
    const { ctx } = await context();
    const failure = await failureOf(renderer().generate(request({ source: source("edit") }), ctx));
    expect(failure).toMatchObject({ code: "render_failed", retryable: false });
  });
});
