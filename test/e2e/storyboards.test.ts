/**
 * Storyboards on the built-in local renderer: three shots made in order, each seam the previous
 * shot's last frame, joined into one MP4 whose length is the sum (less the crossfade's overlap);
 * one price charged once; a storyboard cancelled with its running shot; a restart that does not
 * redo a finished shot; and the 400s that name the field at fault.
 */
import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buffer } from "node:stream/consumers";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { resolveMediaTools } from "../../src/adapters/providers/local-renderer/media-tools.js";
import { errors } from "../../src/core/errors.js";
import { startTestApp, waitForTask } from "../helpers/app.js";
import { fundedKey } from "../helpers/credits.js";
import { FakeProvider } from "../helpers/fake-provider.js";
import { ffprobe } from "../helpers/ffprobe.js";
import { meanAbsDiff, meanRgb, pixels } from "../helpers/frames.js";

const run = promisify(execFile);
let dir: string;
let configFile: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "reelay-storyboards-"));
  configFile = join(dir, "reelay.json");
  await writeFile(
    configFile,
    JSON.stringify({
      pricing: { perSecond: { "clip-short": 2 } },
      // Short shots keep the test quick; the local renderer makes them like any sora-2 video.
      models: [{ name: "clip-short", extends: "sora-2", durations: [2, 3, 4] }],
    }),
  );
});
afterAll(() => rm(dir, { recursive: true, force: true }));

async function start(opts: Parameters<typeof startTestApp>[0] = {}) {
  const app = await startTestApp({ ...opts, env: { REELAY_CONFIG_FILE: configFile, ...opts.env } });
  return { app, ...(await fundedKey(app, 1000)) };
}

const THREE_SHOTS = {
  model: "clip-short",
  orientation: "landscape",
  size: "small",
  crossfade_s: 0.5,
  shots: [
    { prompt: "a lighthouse at dawn", duration: 3, caption: "Dawn" },
    { prompt: "gulls over grey water", duration: 2 },
    { prompt: "the lamp comes on", duration: 4, transition: "crossfade", caption: "Night" },
  ],
};

async function download(url: string, file: string): Promise<string> {
  const res = await fetch(url);
  expect(res.status).toBe(200);
  await writeFile(file, Buffer.from(await res.arrayBuffer()));
  return file;
}

/** The last frame of `video` as rgb24, read by the test's own ffmpeg. */
async function lastFrameRgb(video: string): Promise<Buffer> {
  const { ffmpegPath } = await resolveMediaTools({});
  const png = `${video}.last.png`;
  await run(ffmpegPath, ["-v", "error", "-y", "-sseof", "-1", "-i", video, "-update", "1", png]);
  return rgbOf(png);
}

async function rgbOf(image: string): Promise<Buffer> {
  const { ffmpegPath } = await resolveMediaTools({});
  const { stdout } = await run(
    ffmpegPath,
    ["-v", "error", "-i", image, "-frames:v", "1", "-f", "rawvideo", "-pix_fmt", "rgb24", "pipe:1"],
    { encoding: "buffer", maxBuffer: 64 * 1024 * 1024 },
  );
  return stdout;
}

type Shot = { index: number; task_id: string | null; status: string; progress: number };
const shotsOf = (t: Record<string, unknown>) => (t.storyboard as { shots: Shot[] }).shots;

describe("storyboards on the local renderer", () => {
  let s: Awaited<ReturnType<typeof start>>;
  beforeAll(async () => {
    s = await start();
  });
  afterAll(() => s.app.close());

  it("three shots make one MP4 whose length is the sum less the crossfade, each seam the previous shot's last frame", async () => {
    const quote = await s.app.request("/v1/video/storyboards", {
      key: s.key,
      body: { ...THREE_SHOTS, dry_run: true },
    });
    expect(quote.status).toBe(200);
    // 2 credits a second × (3 + 2 + 4) s.
    expect(await quote.json()).toMatchObject({
      object: "storyboard.quote",
      price: 18,
      balance: 1000,
      covered: true,
    });
    expect(await s.balance()).toBe(1000);

    const res = await s.app.request("/v1/video/storyboards", { key: s.key, body: THREE_SHOTS });
    const created = (await res.json()) as { id: string };
    expect(res.status, JSON.stringify(created)).toBe(200);
    expect(created.id).toMatch(/^storyboard:task_/);
    expect(await s.balance()).toBe(982);

    const seen = new Set<number>();
    const done = await waitForTask(s.app, s.key, created.id, {
      until: (t) => {
        seen.add(Number(t.progress));
        return ["completed", "failed", "cancelled"].includes(String(t.status));
      },
    });
    expect(done.status, JSON.stringify(done)).toBe("completed");
    expect([...seen].some((p) => p > 0 && p < 100)).toBe(true);
    expect(done.duration).toBe(8.5);
    const shots = shotsOf(done);
    expect(shots.map((x) => x.status)).toEqual(["completed", "completed", "completed"]);
    // Charged once, for the storyboard; its shots cost nothing of their own.
    expect(await s.balance()).toBe(982);
    // Another owner sees neither the storyboard nor its shots; the OpenAI view shows the film too.
    const stranger = await s.app.newKey(`stranger-${Date.now()}`);
    for (const id of [created.id, ...shotsOf(done).map((x) => String(x.task_id))]) {
      const res = await s.app.request(`/v1/video/query?id=${encodeURIComponent(id)}`, { key: stranger });
      expect(res.status).toBe(404);
    }
    const openAi = await s.app.request(`/v1/videos/${encodeURIComponent(created.id)}`, { key: s.key });
    expect(await openAi.json()).toMatchObject({ id: created.id, status: "completed", model: "storyboard" });
    const remix = await s.app.request("/v1/video/remix", {
      key: s.key,
      body: { id: created.id, prompt: "again" },
    });
    expect(remix.status).toBe(400);
    expect(((await remix.json()) as { error: { param: string } }).error.param).toBe("id");

    const film = await download(String(done.video_url), join(dir, "film.mp4"));
    const info = await ffprobe(film);
    expect(Math.abs(info.durationS - 8.5)).toBeLessThan(0.1);
    expect(info.streams.find((x) => x.codecType === "video")).toMatchObject({ width: 1280, height: 720 });
    expect(info.streams.some((x) => x.codecType === "audio")).toBe(true);
    const { ffprobePath } = await resolveMediaTools({});
    const fps = await run(ffprobePath, [
      ...[
        "-v",
        "error",
        "-select_streams",
        "v:0",
        "-show_entries",
        "stream=r_frame_rate",
        "-of",
        "csv=p=0",
        film,
      ],
    ]);
    expect(fps.stdout.trim()).toBe("30/1");

    // Each shot is an ordinary task of the same owner; shots 1 and 2 started from the previous
    // shot's last frame (no images of their own, and the model takes a first frame).
    const files: string[] = [];
    for (const shot of shots) {
      const child = await waitForTask(s.app, s.key, String(shot.task_id));
      expect(child.status).toBe("completed");
      files.push(await download(String(child.video_url), join(dir, `shot-${shot.index}.mp4`)));
    }
    for (const k of [1, 2]) {
      const task = await s.app.container.services.engine.peek(String(shots[k]?.task_id));
      const [frameKey, ...more] = task?.request.imageKeys ?? [];
      expect(more).toEqual([]);
      const png = join(dir, `seam-${k}.png`);
      await writeFile(png, await buffer(await s.app.container.services.blobs.read(String(frameKey))));
      const sent = await rgbOf(png);
      expect(meanAbsDiff(sent, await lastFrameRgb(String(files[k - 1])))).toBeLessThan(1);
      // And the shot's own video opens on that picture: the top band of its first frame matches.
      const band = { x: 0, y: 0, width: 1280, height: 200 };
      const opened = meanRgb(await pixels(String(files[k]), 0, band));
      const ended = meanRgb(await pixels(String(files[k - 1]), (k === 1 ? 3 : 2) - 0.05, band));
      expect(Math.max(...opened.map((v, i) => Math.abs(v - (ended[i] ?? 0))))).toBeLessThan(25);
    }
  });

  it("refuses a bad storyboard with a 400 naming the field, and stores nothing", async () => {
    const before = await s.balance();
    const cases: [object, string][] = [
      [{ ...THREE_SHOTS, shots: Array.from({ length: 11 }, () => ({ prompt: "x", duration: 2 })) }, "shots"],
      [{ ...THREE_SHOTS, shots: [] }, "shots"],
      [
        { ...THREE_SHOTS, shots: [...THREE_SHOTS.shots.slice(0, 2), { prompt: "late", duration: 7 }] },
        "shots[2].duration",
      ],
      [{ ...THREE_SHOTS, shots: [{ prompt: "x", duration: "3" }] }, "shots[0].duration"],
      [{ ...THREE_SHOTS, shots: [{ prompt: "x", duration: 3, colour: "red" }] }, "shots[0].colour"],
      [{ ...THREE_SHOTS, shots: [{ prompt: " ", duration: 3 }] }, "shots[0].prompt"],
      [{ ...THREE_SHOTS, shots: [{ prompt: "x", duration: 3, model: "nope" }] }, "shots[0].model"],
      [{ ...THREE_SHOTS, model: undefined }, "shots[0].model"],
      [{ ...THREE_SHOTS, shots: [{ prompt: "x", duration: 3, transition: "wipe" }] }, "shots[0].transition"],
      [{ ...THREE_SHOTS, crossfade_s: 3 }, "crossfade_s"],
      [{ ...THREE_SHOTS, crossfade_s: 2 }, "crossfade_s"],
      [{ ...THREE_SHOTS, audio: "loud" }, "audio"],
      [{ ...THREE_SHOTS, size: "large" }, "size"],
      [
        { ...THREE_SHOTS, shots: [{ prompt: "x", duration: 3, images: ["ftp://example.com/a.png"] }] },
        "shots[0].images[0]",
      ],
    ];
    for (const [body, param] of cases) {
      const res = await s.app.request("/v1/video/storyboards", { key: s.key, body });
      const json = (await res.json()) as { error: { param: string; code: string } };
      expect(res.status, `${param}: ${JSON.stringify(json)}`).toBe(400);
      expect(json.error.param, JSON.stringify(json)).toBe(param);
    }
    expect(await s.balance()).toBe(before);
    const list = await s.app.request("/v1/video/list?limit=100", { key: s.key });
    const ids = ((await list.json()) as { data: { id: string }[] }).data.map((t) => t.id);
    expect(ids.filter((id) => id.startsWith("storyboard:"))).toHaveLength(1);
  });
});

describe("storyboards: cancel and restart", () => {
  it("cancelling the storyboard cancels its running shot and refunds it", async () => {
    const provider = new FakeProvider([], "hang");
    const s = await start({ overrides: { provider } });
    try {
      const res = await s.app.request("/v1/video/storyboards", { key: s.key, body: THREE_SHOTS });
      const { id } = (await res.json()) as { id: string };
      const running = await waitForTask(s.app, s.key, id, {
        until: (t) => shotsOf(t)[0]?.status === "processing",
      });
      const shot0 = String(shotsOf(running)[0]?.task_id);
      expect(await s.balance()).toBe(982);
      const cancel = await s.app.request(`/v1/video/cancel?id=${encodeURIComponent(id)}`, {
        key: s.key,
        method: "POST",
      });
      expect(cancel.status).toBe(200);
      const child = await waitForTask(s.app, s.key, shot0);
      expect(child.status).toBe("cancelled");
      const after = await waitForTask(s.app, s.key, id);
      expect(after.status).toBe("cancelled");
      expect(shotsOf(after).map((x) => x.status)).toEqual(["cancelled", "waiting", "waiting"]);
      expect(await s.balance()).toBe(1000);
      expect(provider.calls).toBe(1);
    } finally {
      await s.app.close();
    }
  });

  it("a shot that fails once is retried like any task; the storyboard completes, its other shots made once", async () => {
    const provider = new FakeProvider([
      "ok",
      { error: errors.renderFailed("a passing fault", { retryable: true }) },
    ]);
    provider.realMedia = true;
    const s = await start({ overrides: { provider }, engine: { backoffBaseMs: 10, backoffMaxMs: 20 } });
    try {
      const res = await s.app.request("/v1/video/storyboards", { key: s.key, body: THREE_SHOTS });
      const { id } = (await res.json()) as { id: string };
      const done = await waitForTask(s.app, s.key, id);
      expect(done.status, JSON.stringify(done)).toBe("completed");
      expect(provider.requests.map((r) => r.shotOf?.index)).toEqual([0, 1, 1, 2]);
      const shot1 = await waitForTask(s.app, s.key, String(shotsOf(done)[1]?.task_id));
      expect((shot1.detail as { pending_info: { attempts: number } }).pending_info.attempts).toBe(2);
      expect(await s.balance()).toBe(982);
    } finally {
      await s.app.close();
    }
  });

  it("a restart carries on from the next shot: a finished shot is never made again", async () => {
    const dataDir = await mkdtemp(join(tmpdir(), "reelay-storyboard-restart-"));
    const first = new FakeProvider(["ok"], "hang");
    first.realMedia = true;
    const s1 = await start({ dataDir, overrides: { provider: first } });
    const res = await s1.app.request("/v1/video/storyboards", { key: s1.key, body: THREE_SHOTS });
    const { id } = (await res.json()) as { id: string };
    const mid = await waitForTask(s1.app, s1.key, id, {
      until: (t) => shotsOf(t)[1]?.status === "processing",
    });
    const shot0 = shotsOf(mid)[0]?.task_id;
    await s1.app.close({ keepData: true });

    const second = new FakeProvider();
    second.realMedia = true;
    const s2 = await startTestApp({
      dataDir,
      env: { REELAY_CONFIG_FILE: configFile },
      overrides: { provider: second },
    });
    try {
      const done = await waitForTask(s2, s1.key, id);
      expect(done.status, JSON.stringify(done)).toBe("completed");
      expect(shotsOf(done)[0]?.task_id).toBe(shot0);
      // Shot 1 again (it was cut off) and shot 2; shot 0 was never made twice.
      expect(first.calls).toBe(2);
      expect(second.calls).toBe(2);
      expect(second.requests.map((r) => r.shotOf?.index)).toEqual([1, 2]);
      expect(done.duration).toBe(8.5);
    } finally {
      await s2.close();
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
