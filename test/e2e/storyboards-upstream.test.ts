/**
 * Storyboards on an upstream provider (the Seedance emulator, whose model takes a first frame):
 * the emulator receives the previous shot's last frame as the next shot's `first_frame` image
 * (and a shot's own image where it gives one); a shot that fails for good fails the storyboard,
 * refunds it, and the shots after it are never sent.
 */
import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, expect, it } from "vitest";
import { resolveMediaTools } from "../../src/adapters/providers/local-renderer/media-tools.js";
import { DEFAULT_MODELS } from "../../src/core/catalogue/models.js";
import { type SeedanceEmulator, startSeedance } from "../emulators/seedance.js";
import { waitForTask } from "../helpers/app.js";
import { type ChannelApp, channel, secretEnv, startWithChannels } from "../helpers/channels.js";
import { fundedKey } from "../helpers/credits.js";
import { ffprobe } from "../helpers/ffprobe.js";
import { meanAbsDiff } from "../helpers/frames.js";
import { dataUrl, TINY_PNG } from "../helpers/images.js";
import { closedAfterEach } from "../helpers/provider-e2e.js";

const SECRET = "ark-key-storyboard-0123456789";
const MODEL = "seedance-1.0-pro";
const run = promisify(execFile);
const running = closedAfterEach();
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "reelay-storyboard-up-"));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

async function setup(): Promise<{
  e: SeedanceEmulator;
  s: ChannelApp;
  key: string;
  balance(): Promise<number>;
}> {
  const e = await startSeedance({ secret: SECRET });
  e.core.defaultBehaviour = { runMs: 300 };
  running.push(e);
  const local = {
    id: "local",
    kind: "local",
    models: DEFAULT_MODELS.filter((m) => !m.upstream).map((m) => m.name),
  };
  const s = await startWithChannels(
    {
      channels: [channel("ark", "seedance", e.url, { models: [MODEL] }), local],
      pricing: { perSecond: { [MODEL]: 5 } },
    },
    { env: secretEnv("ark", SECRET) },
  );
  running.push(s);
  return { e, s, ...(await fundedKey(s, 500)) };
}

const STORYBOARD = {
  model: MODEL,
  orientation: "landscape",
  size: "small",
  audio: "silent",
  shots: [
    { prompt: "a paper boat sets off", duration: 2 },
    { prompt: "the boat drifts under a bridge", duration: 3 },
    { prompt: "a new boat, folded from a map", duration: 2, images: [dataUrl(TINY_PNG)] },
  ],
};

type Content = { type: string; role?: string; image_url?: { url: string } };
const imagesSent = (body: Record<string, unknown>) =>
  ((body.content as Content[]) ?? []).filter((c) => c.type === "image_url");

async function rgbOf(args: string[]): Promise<Buffer> {
  const { ffmpegPath } = await resolveMediaTools({});
  const { stdout } = await run(
    ffmpegPath,
    ["-v", "error", ...args, "-frames:v", "1", "-f", "rawvideo", "-pix_fmt", "rgb24", "pipe:1"],
    { encoding: "buffer", maxBuffer: 64 * 1024 * 1024 },
  );
  return stdout;
}

it("each shot after the first is sent with the previous shot's last frame as its first frame", async () => {
  const { e, s, key, balance } = await setup();
  const res = await s.request("/v1/video/storyboards", { key, body: STORYBOARD });
  const { id } = (await res.json()) as { id: string };
  expect(res.status).toBe(200);
  expect(await balance()).toBe(500 - 5 * 7);
  const done = await waitForTask(s, key, id);
  expect(done.status, JSON.stringify(done)).toBe("completed");
  expect(await balance()).toBe(500 - 5 * 7);
  expect(done.duration).toBe(7);

  const film = join(dir, "film.mp4");
  await writeFile(film, Buffer.from(await (await fetch(String(done.video_url))).arrayBuffer()));
  const info = await ffprobe(film);
  expect(Math.abs(info.durationS - 7)).toBeLessThan(0.1);
  expect(info.streams.find((x) => x.codecType === "video")).toMatchObject({ width: 1280, height: 720 });
  expect(info.streams.some((x) => x.codecType === "audio")).toBe(true);

  expect(e.bodies).toHaveLength(3);
  expect(imagesSent(e.bodies[0] ?? {})).toEqual([]);
  const [seam, ...others] = imagesSent(e.bodies[1] ?? {});
  expect(others).toEqual([]);
  expect(seam?.role).toBe("first_frame");
  // The image sent is shot 0's last frame, pixel for pixel.
  const shots = (done.storyboard as { shots: { task_id: string }[] }).shots;
  const shot0 = await waitForTask(s, key, String(shots[0]?.task_id));
  const shot0File = join(dir, "shot0.mp4");
  await writeFile(shot0File, Buffer.from(await (await fetch(String(shot0.video_url))).arrayBuffer()));
  const sentPng = join(dir, "sent.png");
  await writeFile(
    sentPng,
    Buffer.from(String(seam?.image_url?.url).replace(/^data:image\/png;base64,/, ""), "base64"),
  );
  const sent = await rgbOf(["-i", sentPng]);
  const last = await rgbOf(["-sseof", "-0.2", "-i", shot0File, "-vf", "reverse"]);
  // The frame at the shot's own size (Ark makes 720p 16:9 as 1248×704), not the tiny image of shot 2.
  expect(sent.length).toBe(last.length);
  expect(sent.length).toBeGreaterThan(1000 * 3);
  expect(meanAbsDiff(sent, last)).toBeLessThan(2);
  // Shot 2 gave an image of its own: that one is its first frame, not the seam.
  const own = imagesSent(e.bodies[2] ?? {});
  expect(own.map((c) => c.image_url?.url)).toEqual([dataUrl(TINY_PNG)]);
});

it("a shot that fails for good fails the storyboard, refunds it, and the next shot is never sent", async () => {
  const { e, s, key, balance } = await setup();
  e.core.nextTask({ runMs: 300 });
  e.core.nextTask({
    outcome: "fail",
    runMs: 300,
    failCode: "OutputVideoSensitiveContentDetected",
    failMessage: "The output video may contain sensitive information.",
  });
  const res = await s.request("/v1/video/storyboards", { key, body: STORYBOARD });
  const { id } = (await res.json()) as { id: string };
  const done = await waitForTask(s, key, id);
  expect(done.status, JSON.stringify(done)).toBe("failed");
  expect((done.error as { code: string }).code).toBe("content_policy");
  expect((done.storyboard as { shots: { status: string }[] }).shots.map((x) => x.status)).toEqual([
    "completed",
    "failed",
    "waiting",
  ]);
  expect(e.bodies).toHaveLength(2);
  expect(await balance()).toBe(500);
});
