/**
 * What the renderer makes of what users send, through the HTTP API: a phone photo stored sideways with
 * EXIF Orientation 6 comes out upright, judged by the delivered video's pixels; a remix shows its own
 * caption only, not the source's beside it; a render that fails tells the user so without ffmpeg's
 * stderr (which names the data dir and the work dir).
 */
import { execFile } from "node:child_process";
import { chmod, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { captionBand } from "../../src/adapters/providers/local-renderer/caption.js";
import { resolveMediaTools } from "../../src/adapters/providers/local-renderer/media-tools.js";
import { startTestApp, type TestApp, waitForTask } from "../helpers/app.js";
import { meanRgb, pixels } from "../helpers/frames.js";
import { dataUrl } from "../helpers/images.js";

const run = promisify(execFile);
let dir: string;
const apps: TestApp[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "reelay-render-inputs-"));
});
afterAll(async () => {
  await Promise.all(apps.map((a) => a.close()));
  await rm(dir, { recursive: true, force: true });
});

/** `jpeg` with an EXIF APP1 segment (big-endian TIFF, IFD0 holding only Orientation) after its SOI. */
function withOrientation(jpeg: Buffer, orientation: number): Buffer {
  const tiff = Buffer.alloc(8 + 2 + 12 + 4);
  tiff.write("MM", 0, "latin1");
  tiff.writeUInt16BE(42, 2);
  tiff.writeUInt32BE(8, 4);
  tiff.writeUInt16BE(1, 8);
  tiff.writeUInt16BE(0x0112, 10); // Orientation
  tiff.writeUInt16BE(3, 12); // SHORT
  tiff.writeUInt32BE(1, 14);
  tiff.writeUInt16BE(orientation, 18);
  const body = Buffer.concat([Buffer.from("Exif\0\0", "latin1"), tiff]);
  const header = Buffer.from([0xff, 0xe1, 0, 0]);
  header.writeUInt16BE(body.length + 2, 2);
  return Buffer.concat([jpeg.subarray(0, 2), header, body, jpeg.subarray(2)]);
}

describe("EXIF orientation", () => {
  it("a JPEG stored sideways with Orientation 6 is shown upright", async () => {
    const app = await startTestApp();
    apps.push(app);
    const key = await app.newKey();
    const { ffmpegPath } = await resolveMediaTools({
      ffmpegPath: process.env.FFMPEG_PATH,
      ffprobePath: process.env.FFPROBE_PATH,
    });
    // Stored 320×160, red left and blue right; upright (turned 90° clockwise) it is red above blue.
    const stored = join(dir, "sideways.jpg");
    await run(ffmpegPath, [
      ...["-v", "error", "-y", "-filter_complex"],
      "color=c=0xff0000:s=160x160[a];color=c=0x0000ff:s=160x160[b];[a][b]hstack",
      ...["-frames:v", "1", "-q:v", "2", stored],
    ]);
    const photo = withOrientation(await readFile(stored), 6);
    const res = await app.request("/v1/video/create", {
      key,
      body: {
        model: "sora-2",
        orientation: "portrait",
        size: "small",
        duration: 10,
        prompt: "upright",
        images: [dataUrl(photo, "image/jpeg")],
      },
    });
    expect(res.status).toBe(200);
    const task = await waitForTask(app, key, ((await res.json()) as { id: string }).id, {
      timeoutMs: 150_000,
    });
    expect(task.status).toBe("completed");
    const file = join(dir, "upright.mp4");
    await writeFile(file, Buffer.from(await (await fetch(String(task.video_url))).arrayBuffer()));
    // 720×1280: the top of the frame is red, the lower middle blue, across the middle columns.
    const [topR, , topB] = meanRgb(await pixels(file, 5, { x: 200, y: 100, width: 320, height: 200 }));
    const [lowR, , lowB] = meanRgb(await pixels(file, 5, { x: 200, y: 800, width: 320, height: 150 }));
    expect(topR).toBeGreaterThan(150);
    expect(topB).toBeLessThan(80);
    expect(lowB).toBeGreaterThan(150);
    expect(lowR).toBeLessThan(80);
  });
});

/** Downloads a finished unified task's video into the test dir. */
async function download(task: Record<string, unknown>, name: string): Promise<string> {
  const file = join(dir, name);
  await writeFile(file, Buffer.from(await (await fetch(String(task.video_url))).arrayBuffer()));
  return file;
}

/** Pixels brighter than 200 in every channel: caption text (white), never the dark backgrounds. */
const whitePixels = (rgb: Buffer): number => {
  let n = 0;
  for (let i = 0; i + 2 < rgb.length; i += 3) {
    if ((rgb[i] ?? 0) > 200 && (rgb[i + 1] ?? 0) > 200 && (rgb[i + 2] ?? 0) > 200) n++;
  }
  return n;
};

describe("remix captions", () => {
  it("a remix replaces the source's caption instead of drawing over it", async () => {
    const app = await startTestApp();
    apps.push(app);
    const key = await app.newKey();
    // Three caption lines at 1280×720; the remix's prompt makes one.
    const long =
      "A long caption about a lighthouse on a cliff at dusk, waves crashing below and gulls circling " +
      "in the warm evening light while a small boat heads home";
    const res = await app.request("/v1/video/create", {
      key,
      body: { model: "sora-2", orientation: "landscape", size: "small", duration: 10, prompt: long },
    });
    const source = await waitForTask(app, key, ((await res.json()) as { id: string }).id, {
      timeoutMs: 150_000,
    });
    expect(source.status).toBe("completed");
    const remixRes = await app.request("/v1/video/remix", {
      key,
      body: { id: source.id, prompt: "Night falls" },
    });
    expect(remixRes.status).toBe(200);
    const remix = await waitForTask(app, key, ((await remixRes.json()) as { id: string }).id, {
      timeoutMs: 150_000,
    });
    expect(remix.status).toBe("completed");
    const oldBand = captionBand(long, 1280, 720);
    const newBand = captionBand("Night falls", 1280, 720);
    if (!oldBand || !newBand) throw new Error("both prompts make captions");
    // The rows of the source's first caption lines, above anything the new caption draws.
    const rows = { x: 0, y: oldBand.y, width: 1280, height: newBand.y - oldBand.y };
    expect(rows.height).toBeGreaterThan(40);
    const sourceFile = await download(source, "source.mp4");
    const remixFile = await download(remix, "remix.mp4");
    expect(whitePixels(await pixels(sourceFile, 5, rows))).toBeGreaterThan(500);
    expect(whitePixels(await pixels(remixFile, 5, rows))).toBe(0);
    // The new caption is there, below.
    const newRows = { x: 0, y: newBand.y, width: 1280, height: newBand.height };
    expect(whitePixels(await pixels(remixFile, 5, newRows))).toBeGreaterThan(100);
  });
});

describe("render errors shown to users", () => {
  it("carry no ffmpeg stderr: no data dir, work dir or tmp path", async () => {
    // An ffmpeg that fails the way a real one does: naming its input and output files on stderr.
    const fake = join(dir, "failing-ffmpeg");
    await writeFile(fake, '#!/bin/sh\necho "$@: No space left on device" >&2\nexit 1\n');
    await chmod(fake, 0o755);
    const app = await startTestApp({
      env: { FFMPEG_PATH: fake },
      engine: { maxAttempts: 1, backoffBaseMs: 10, backoffMaxMs: 10 },
    });
    apps.push(app);
    const key = await app.newKey();
    const res = await app.request("/v1/video/create", {
      key,
      body: { model: "sora-2", orientation: "landscape", size: "small", duration: 10, prompt: "fails" },
    });
    const { id } = (await res.json()) as { id: string };
    const task = await waitForTask(app, key, id);
    expect(task.status).toBe("failed");
    const shown = [
      JSON.stringify(task),
      await (await app.request(`/v1/videos/${encodeURIComponent(id)}`, { key })).text(),
    ];
    for (const text of shown) {
      expect(text).toContain("ffmpeg exited with code 1");
      expect(text).not.toContain(app.config.dataDir);
      expect(text).not.toContain(tmpdir());
      expect(text).not.toContain("No space left");
    }
  });
});
