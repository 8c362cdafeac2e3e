import { existsSync } from "node:fs";
import { mkdtemp, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createImageFetcher, type ImageFetcher } from "../../src/adapters/net/safe-fetch.js";
import {
  captionFontSize,
  charsPerLine,
  wrapCaption,
} from "../../src/adapters/providers/local-renderer/caption.js";
import {
  backgroundColour,
  buildRenderArgs,
  esc,
  type RenderInputs,
  segmentFrames,
} from "../../src/adapters/providers/local-renderer/filtergraph.js";
import { createLocalRenderer } from "../../src/adapters/providers/local-renderer/index.js";
import {
  type MediaTools,
  resolveMediaTools,
} from "../../src/adapters/providers/local-renderer/media-tools.js";
import { isReelayError } from "../../src/core/errors.js";
import type { GenerateContext } from "../../src/core/media/ports.js";
import type { VideoRequest } from "../../src/core/tasks/task.js";
import { ffprobe } from "../helpers/ffprobe.js";
import { type ImageServer, startImageServer } from "../helpers/image-server.js";
import { textToVideo } from "../helpers/video-request.js";

const request = (over: Partial<VideoRequest>): VideoRequest =>
  textToVideo({
    model: "sora-2",
    family: "sora-2",
    prompt: "A lighthouse on a cliff at dusk, waves below, gulls circling in the warm evening light",
    duration: 10,
    ...over,
  });

describe("local renderer (real ffmpeg)", () => {
  let tools: MediaTools;
  let server: ImageServer;
  let fetcher: ImageFetcher;
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
  });
  afterAll(async () => {
    await server.close();
    await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
  });

  /** A work dir (optionally with an awkward name) and a context that records progress. */
  async function context(signal = new AbortController().signal, name = "reelay-render-") {
    const workDir = await mkdtemp(join(tmpdir(), name));
    dirs.push(workDir);
    const progress: number[] = [];
    const ctx: GenerateContext = {
      workDir,
      files: { imageFiles: [], sourceVideo: null },
      signal,
      onProgress: (f) => progress.push(f),
    };
    return { ctx, progress };
  }

  async function expectPlayable(
    video: { videoPath: string; thumbnailPath: string },
    width: number,
    height: number,
  ) {
    const probe = await ffprobe(video.videoPath);
    expect(probe.streams.find((s) => s.codecType === "video")).toMatchObject({
      codecName: "h264",
      width,
      height,
    });
    expect(probe.streams.find((s) => s.codecType === "audio")?.codecName).toBe("aac");
    expect(Math.abs(probe.durationS - 10)).toBeLessThanOrEqual(0.2);
    const thumb = await ffprobe(video.thumbnailPath);
    expect(thumb.streams[0]).toMatchObject({ codecName: "mjpeg", width, height });
  }

  const expectMonotonicToOne = (progress: readonly number[]) => {
    expect(progress.length).toBeGreaterThan(1);
    for (let i = 1; i < progress.length; i++)
      expect(progress[i]).toBeGreaterThanOrEqual(progress[i - 1] ?? 0);
    expect(progress.at(-1)).toBe(1);
  };

  it("renders a landscape clip without images (work dir with filtergraph metacharacters)", async () => {
    const { ctx, progress } = await context(undefined, "reelay it's: [odd], dir;");
    const video = await createLocalRenderer({ tools, fetcher }).generate(request({}), ctx);
    expect(video).toMatchObject({ width: 1280, height: 720, watermarked: false });
    expect(video.enhancedPrompt).toBe(request({}).prompt);
    expect(Math.abs(video.durationS - 10)).toBeLessThanOrEqual(0.2);
    await expectPlayable(video, 1280, 720);
    expectMonotonicToOne(progress);
  });

  it("renders a portrait clip from two loopback images", async () => {
    const { ctx, progress } = await context();
    const images = [`${server.url}/a.png`, `${server.url}/b.png`];
    const req = request({ orientation: "portrait", width: 720, height: 1280, images });
    const video = await createLocalRenderer({ tools, fetcher }).generate(req, ctx);
    expect(video).toMatchObject({ width: 720, height: 1280, watermarked: false });
    await expectPlayable(video, 720, 1280);
    expectMonotonicToOne(progress);
  });

  it("kills ffmpeg and rejects with the abort reason when the signal aborts", async () => {
    const controller = new AbortController();
    const reason = new Error("cancelled by the user");
    const { ctx } = await context(controller.signal);
    // Abort on the first progress report from ffmpeg itself: the render is then running, and this
    // long a render (several seconds) is far from done after ffmpeg's first half-second report.
    const abortingCtx: GenerateContext = { ...ctx, onProgress: (f) => f > 0 && controller.abort(reason) };
    const long = request({ orientation: "portrait", size: "large", width: 1080, height: 1920, duration: 25 });
    await expect(createLocalRenderer({ tools, fetcher }).generate(long, abortingCtx)).rejects.toBe(reason);
    // +faststart writes the index last: a killed render leaves no readable video.
    await expect(ffprobe(join(ctx.workDir, "video.mp4"))).rejects.toThrow();
    expect(existsSync(join(ctx.workDir, "thumb.jpg"))).toBe(false);
  });

  it("does not start when the signal is already aborted", async () => {
    const reason = new Error("shutting down");
    const { ctx } = await context(AbortSignal.abort(reason));
    await expect(createLocalRenderer({ tools, fetcher }).generate(request({}), ctx)).rejects.toBe(reason);
    expect(existsSync(join(ctx.workDir, "video.mp4"))).toBe(false);
  });

  it("fails, not retryable, naming the image that cannot be decoded", async () => {
    const { ctx } = await context();
    const images = [`${server.url}/a.png`, `${server.url}/broken.png`];
    const failure = await createLocalRenderer({ tools, fetcher })
      .generate(request({ images }), ctx)
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(isReelayError(failure)).toBe(true);
    expect(failure).toMatchObject({ code: "image_fetch_failed", retryable: false, param: "images[1]" });
    expect(String((failure as Error).message)).toMatch(/could not be decoded as an image/);
  });

  it("refuses a linked file whose bytes are not an image, whatever its content type says", async () => {
    const { ctx } = await context();
    const images = [`${server.url}/a.png`, `${server.url}/notimage.png`];
    const failure = await createLocalRenderer({ tools, fetcher })
      .generate(request({ images }), ctx)
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(failure).toMatchObject({ code: "image_refused", retryable: false, param: "images[1]" });
    expect(String((failure as Error).message)).toMatch(/not a PNG, JPEG, WebP or GIF image/);
    expect(existsSync(join(ctx.workDir, "video.mp4"))).toBe(false);
  });
  it("refuses an image with more pixels than allowed, naming it", async () => {
    const { ctx } = await context();
    const renderer = createLocalRenderer({ tools, fetcher, maxImagePixels: 1_000_000 });
    const failure = await renderer.generate(request({ images: [`${server.url}/a.png`] }), ctx).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(failure).toMatchObject({ code: "image_fetch_failed", retryable: false, param: "images[0]" });
    expect(String((failure as Error).message)).toMatch(/larger than 1000000 pixels/);
  });
});

describe("resolveMediaTools", () => {
  it("names a missing binary", async () => {
    await expect(resolveMediaTools({ ffmpegPath: "/nonexistent/ffmpeg" })).rejects.toThrow(
      /ffmpeg.*\/nonexistent\/ffmpeg/,
    );
  });

  it("makes a binary installed without its execute bit executable", async () => {
    const dir = await mkdtemp(join(tmpdir(), "reelay-tools-"));
    try {
      const fake = join(dir, "ffprobe");
      await writeFile(fake, "#!/bin/sh\n", { mode: 0o644 });
      const tools = await resolveMediaTools({ ffprobePath: fake });
      expect(tools.ffprobePath).toBe(fake);
      expect((await stat(fake)).mode & 0o111).toBe(0o111);
      expect(existsSync(tools.fontPath)).toBe(true);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe("buildRenderArgs", () => {
  const inputs = (over: Partial<RenderInputs> = {}): RenderInputs => ({
    width: 1280,
    height: 720,
    durationS: 10,
    prompt: "a prompt",
    images: [],
    captionPath: "/work/caption.txt",
    fontPath: "/fonts/DejaVuSans-Bold.ttf",
    outputPath: "/work/video.mp4",
    ...over,
  });
  const graphOf = (args: string[]) => args[args.indexOf("-filter_complex") + 1] ?? "";
  const png = (path: string) => ({ path, type: "png" as const, orientation: 1 });

  it("encodes H.264 + AAC at the exact size, rate and duration, with progress on stdout", () => {
    const args = buildRenderArgs(inputs());
    const joined = args.join(" ");
    expect(joined).toContain("-c:v libx264 -preset veryfast -crf 23 -pix_fmt yuv420p -r 30");
    expect(joined).toContain("-c:a aac -b:a 128k -ar 48000 -ac 2");
    expect(joined).toContain("-t 10 -movflags +faststart -progress pipe:1 -nostats");
    expect(args.at(-1)).toBe("/work/video.mp4");
    expect(graphOf(args)).toContain("color=c=0x");
    expect(graphOf(args)).toContain("s=1280x720");
    expect(graphOf(args)).toContain("textfile=/work/caption.txt:expansion=none");
  });

  it("feeds each image once, scaled once, split evenly over the duration with a crossfade", () => {
    const args = buildRenderArgs(
      inputs({ images: [png("/work/image-0"), png("/work/image-1")], durationS: 15 }),
    );
    expect(args.filter((a) => a === "-i")).toHaveLength(2);
    expect(args).not.toContain("-loop");
    const graph = graphOf(args);
    // 225 frames each, plus half of the 18-frame crossfade centred on their boundary.
    expect(graph).toContain("loop=loop=234:size=1,trim=start_frame=1,");
    expect(graph).toContain("fade=t=in:s=0:n=18:alpha=1");
    // First body, the join, second body.
    expect(graph).toContain("[bb0][j1][bb1]concat=n=3:v=1:a=0");
    expect(graph).toContain("scale=1472:828:force_original_aspect_ratio=increase");
  });

  it("draws no caption without a caption file, and refuses relative paths", () => {
    expect(graphOf(buildRenderArgs(inputs({ captionPath: null })))).not.toContain("textfile");
    expect(() => buildRenderArgs(inputs({ images: [png("image-0")] }))).toThrow(/absolute/);
  });

  it("splits frames without losing any and picks a stable colour", () => {
    expect(segmentFrames(300, 2)).toEqual([150, 150]);
    expect(segmentFrames(450, 4)).toEqual([113, 113, 112, 112]);
    expect(backgroundColour(12345)).toMatch(/^0x[0-9a-f]{6}$/);
    expect(backgroundColour(12345)).toBe(backgroundColour(12345));
  });

  it("escapes filter option values at both parser levels", () => {
    expect(esc("/a:b/c,d[e]'f;g")).toBe("/a\\\\:b/c\\,d\\[e\\]\\\\\\'f\\;g");
  });
});

describe("caption", () => {
  it("sizes the font by the frame and fits lines to the width", () => {
    expect(captionFontSize(1280, 720)).toBe(30);
    expect(captionFontSize(720, 1280)).toBe(40);
    expect(charsPerLine(720, 40)).toBeGreaterThanOrEqual(20);
  });

  it("wraps at spaces, collapses whitespace and cuts over-long words", () => {
    expect(wrapCaption("  a  quick\tbrown\n\nfox ", 11)).toEqual(["a quick", "brown fox"]);
    expect(wrapCaption("abcdefghijklmnop", 6)).toEqual(["abcdef", "ghijkl", "mnop"]);
    expect(wrapCaption("", 10)).toEqual([]);
  });

  it("keeps at most six lines and ends a cut caption with an ellipsis", () => {
    const lines = wrapCaption("word ".repeat(1000), 12);
    expect(lines).toHaveLength(6);
    expect(lines.at(-1)?.endsWith("…")).toBe(true);
    for (const line of lines) expect(Array.from(line).length).toBeLessThanOrEqual(12);
  });
});
