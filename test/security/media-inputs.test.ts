/**
 * Untrusted bytes never make ffmpeg read other files. An "image" or "video" that is an HLS playlist,
 * an ffconcat list or an SDP description (listing another owner's private video in the data dir) is
 * refused at create, by its bytes, whatever its content type and name say: 400 naming the field for
 * inline and uploaded bytes, `image_refused` for a fetched link. A polyglot that is a real PNG with a
 * playlist appended renders as the PNG: the victim's picture never reaches the output.
 */
import { execFile } from "node:child_process";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { resolveMediaTools } from "../../src/adapters/providers/local-renderer/media-tools.js";
import { startTestApp, type TestApp, waitForTask } from "../helpers/app.js";
import { meanRgb, pixels } from "../helpers/frames.js";
import { type ImageServer, makePng, startImageServer } from "../helpers/image-server.js";
import { dataUrl, TINY_PNG } from "../helpers/images.js";

const run = promisify(execFile);
let app: TestApp;
let key: string;
let images: ImageServer;
let dir: string;
/** Another owner's private video: pure green, in the data dir where blobs live. */
let victim: string;
let redPng: Buffer;

type ErrorBody = { error: { code: string; param: string | null; message: string } };

const hostile = () => {
  const hls = `#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:10\n#EXTINF:10.0,\n${victim}\n#EXT-X-ENDLIST\n`;
  return {
    hls,
    ffconcat: `ffconcat version 1.0\nfile '${victim}'\n`,
    sdp: "v=0\no=- 0 0 IN IP4 127.0.0.1\ns=x\nc=IN IP4 127.0.0.1\nt=0 0\nm=video 5004 RTP/AVP 96\na=rtpmap:96 H264/90000\n",
    txt: `just text naming ${victim}\n`,
    // A PNG signature, then the playlist: passes a signature check, fails a decode.
    pngThenPlaylist: Buffer.concat([TINY_PNG.subarray(0, 8), Buffer.from(hls)]),
    // An ISO-BMFF `ftyp` box, then the playlist.
    ftypThenPlaylist: Buffer.concat([
      Buffer.from([0, 0, 0, 0x18]),
      Buffer.from("ftypisom\0\0\x02\0isomiso2", "latin1"),
      Buffer.from(hls),
    ]),
  };
};

beforeAll(async () => {
  images = await startImageServer();
  dir = await mkdtemp(join(tmpdir(), "reelay-media-inputs-"));
  app = await startTestApp({ env: { REELAY_ALLOW_HOSTS: images.host } });
  key = await app.newKey("owner-b");
  const { ffmpegPath } = await resolveMediaTools({
    ffmpegPath: process.env.FFMPEG_PATH,
    ffprobePath: process.env.FFPROBE_PATH,
  });
  const victimDir = join(app.config.dataDir, "blobs", "tasks", "task_victim");
  await mkdir(victimDir, { recursive: true });
  victim = join(victimDir, "video.mp4");
  await run(ffmpegPath, [
    ...["-v", "error", "-y", "-f", "lavfi", "-i", "color=c=0x00ff00:s=320x240:r=30:d=10"],
    ...["-c:v", "libx264", "-pix_fmt", "yuv420p", victim],
  ]);
  redPng = await makePng(ffmpegPath, join(dir, "red.png"), "color=c=0xff0000:s=320x240");
}, 60_000);
afterAll(async () => {
  await app.close();
  await images.close();
  await rm(dir, { recursive: true, force: true });
});

async function post(path: string, body: FormData | object) {
  const res = await fetch(`${app.url}${path}`, {
    method: "POST",
    headers: {
      authorization: `Bearer ${key}`,
      ...(body instanceof FormData ? {} : { "content-type": "application/json" }),
    },
    body: body instanceof FormData ? body : JSON.stringify(body),
  });
  return { status: res.status, json: (await res.json()) as ErrorBody & Record<string, unknown> };
}

const unified = (imageList: string[]) =>
  post("/v1/video/create", {
    model: "sora-2",
    prompt: "hostile image",
    orientation: "landscape",
    size: "small",
    duration: 10,
    images: imageList,
  });

const HOSTILE_NAMES = ["hls", "ffconcat", "sdp", "txt", "pngThenPlaylist"] as const;

describe("inline images (data URLs) on POST /v1/video/create", () => {
  it.each(HOSTILE_NAMES.flatMap((name) => ["image/png", "image/jpeg"].map((type) => [name, type])))(
    "%s sent as %s → 400 naming the image",
    async (name, type) => {
      const bytes = hostile()[name as (typeof HOSTILE_NAMES)[number]];
      const first = await unified([dataUrl(bytes, type)]);
      expect(first.status).toBe(400);
      expect(first.json.error.param).toBe("images[0]");
      expect(first.json.error.message).toContain("PNG, JPEG, WebP or GIF");
      const second = await unified([dataUrl(TINY_PNG), dataUrl(bytes, type)]);
      expect(second.status).toBe(400);
      expect(second.json.error.param).toBe("images[1]");
    },
  );
});

describe("uploads on POST /v1/videos", () => {
  it.each(
    HOSTILE_NAMES.flatMap((name) =>
      [
        ["x.m3u8", "image/png"],
        ["x.png", "image/png"],
        ["x.jpg", "image/jpeg"],
      ].map(([file, type]) => [name, file, type]),
    ),
  )("%s uploaded as %s (%s) → 400 naming input_reference", async (name, file, type) => {
    const f = new FormData();
    f.append("prompt", "hostile upload");
    f.append(
      "input_reference",
      new Blob([hostile()[name as (typeof HOSTILE_NAMES)[number]]], { type: String(type) }),
      String(file),
    );
    const { status, json } = await post("/v1/videos", f);
    expect(status).toBe(400);
    expect(json.error.param).toBe("input_reference");
  });

  it("a playlist as input_reference[image_url] data URL → 400 naming it", async () => {
    const { status, json } = await post("/v1/videos", {
      prompt: "hostile data URL",
      input_reference: { image_url: dataUrl(hostile().hls) },
    });
    expect(status).toBe(400);
    expect(json.error.param).toBe("input_reference[image_url]");
  });
});

describe("uploaded source videos", () => {
  const VIDEO_CASES = ["hls", "ffconcat", "sdp", "txt", "ftypThenPlaylist"] as const;

  it.each(VIDEO_CASES)(
    "%s uploaded as x.mp4 (video/mp4) to /v1/videos/edits → 400 naming video",
    async (name) => {
      const f = new FormData();
      f.append("prompt", "hostile source");
      f.append("video", new Blob([hostile()[name]], { type: "video/mp4" }), "x.mp4");
      const { status, json } = await post("/v1/videos/edits", f);
      expect(status).toBe(400);
      expect(json.error.param).toBe("video");
    },
  );

  it("a playlist uploaded to /v1/videos/characters → 400 naming video", async () => {
    const f = new FormData();
    f.append("name", "hostile");
    f.append("video", new Blob([hostile().hls], { type: "video/mp4" }), "x.mp4");
    const { status, json } = await post("/v1/videos/characters", f);
    expect(status).toBe(400);
    expect(json.error.param).toBe("video");
  });
});

describe("fetched image links", () => {
  it("a link serving a playlist as image/png fails the task with image_refused", async () => {
    images.serve("/playlist.png", "image/png", hostile().hls);
    const { status, json } = await unified([`${images.url}/playlist.png`]);
    expect(status).toBe(200);
    const task = await waitForTask(app, key, String(json.id));
    expect(task.status).toBe("failed");
    expect(task.error).toMatchObject({
      code: "image_refused",
      message: expect.stringMatching(/^images\[0\]: /),
    });
  });
});

describe("a real PNG with a playlist appended", () => {
  it("is accepted and renders as the PNG: the victim's green never shows", async () => {
    const polyglot = Buffer.concat([redPng, Buffer.from(`\n${hostile().hls}`)]);
    const { status, json } = await unified([dataUrl(polyglot)]);
    expect(status).toBe(200);
    const task = await waitForTask(app, key, String(json.id), { timeoutMs: 150_000 });
    expect(task.status).toBe("completed");
    const file = join(dir, "polyglot.mp4");
    await writeFile(file, Buffer.from(await (await fetch(String(task.video_url))).arrayBuffer()));
    // Above the caption: the picture is the red PNG, panned.
    const [r, g] = meanRgb(await pixels(file, 5, { x: 320, y: 100, width: 640, height: 200 }));
    expect(r).toBeGreaterThan(150);
    expect(g).toBeLessThan(80);
  });
});
