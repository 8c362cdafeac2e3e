/**
 * The watermark and character features end to end, judged by the pixels of the delivered video:
 * the local renderer marks, the pipeline removes (or, when removal fails, delivers the mark); a
 * character made from an upload shows in a new video that mentions it.
 */
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { characterInsetRegion, markRegion } from "../../src/adapters/providers/local-renderer/index.js";
import { resolveMediaTools } from "../../src/adapters/providers/local-renderer/media-tools.js";
import { errors } from "../../src/core/errors.js";
import { startTestApp, type TestApp, waitForTask } from "../helpers/app.js";
import { meanAbsDiff, meanRgb, pixels } from "../helpers/frames.js";

const run = promisify(execFile);
let dir: string;
let ffmpeg: string;
const apps: TestApp[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "reelay-frames-"));
  ffmpeg = (await resolveMediaTools({})).ffmpegPath;
});
afterAll(async () => {
  await Promise.all(apps.map((a) => a.close()));
  await rm(dir, { recursive: true, force: true });
});

async function render(app: TestApp, key: string, body: object, name: string) {
  const res = await app.request("/v1/video/create", {
    key,
    body: {
      model: "sora-2",
      orientation: "landscape",
      size: "small",
      duration: 10,
      prompt: "a quiet harbour at dawn",
      ...body,
    },
  });
  expect(res.status).toBe(200);
  const task = await waitForTask(app, key, ((await res.json()) as { id: string }).id, { timeoutMs: 150_000 });
  expect(task.status).toBe("completed");
  const file = join(dir, name);
  await writeFile(file, Buffer.from(await (await fetch(String(task.video_url))).arrayBuffer()));
  return { task, file };
}

describe("watermark, judged by pixels", () => {
  it("marked by the renderer: removed by delogo when it works, delivered marked when removal fails", async () => {
    const working = await startTestApp({ env: { REELAY_LOCAL_WATERMARK: "true" } });
    const failing = await startTestApp({
      env: { REELAY_LOCAL_WATERMARK: "true" },
      overrides: {
        remover: {
          name: "broken",
          remove: async () => Promise.reject(errors.watermarkRemover("service down", false)),
        },
      },
    });
    apps.push(working, failing);
    const clean = await render(working, await working.newKey(), {}, "clean.mp4");
    const marked = await render(failing, await failing.newKey(), {}, "marked.mp4");
    expect((clean.task.detail as { has_watermark: boolean }).has_watermark).toBe(false);
    expect((marked.task.detail as { has_watermark: boolean }).has_watermark).toBe(true);

    const region = markRegion(1280, 720);
    const outside = { x: 100, y: 100, width: 200, height: 100 };
    // The same prompt renders the same background: the mark is the difference, and only there.
    expect(
      meanAbsDiff(await pixels(clean.file, 5, region), await pixels(marked.file, 5, region)),
    ).toBeGreaterThan(12);
    expect(
      meanAbsDiff(await pixels(clean.file, 5, outside), await pixels(marked.file, 5, outside)),
    ).toBeLessThan(3);
  });
});

describe("characters, judged by pixels", () => {
  it("a character made from a task (a green picture) shows in the inset of a new task naming it", async () => {
    const app = await startTestApp();
    apps.push(app);
    const key = await app.newKey();
    const png = join(dir, "green.png");
    await run(ffmpeg, [
      "-v",
      "error",
      "-f",
      "lavfi",
      "-i",
      "color=c=0x00c000:s=1280x720",
      "-frames:v",
      "1",
      png,
    ]);
    const src = await app.request("/v1/videos", {
      key,
      body: {
        prompt: "green",
        size: "1280x720",
        seconds: "4",
        input_reference: { image_url: `data:image/png;base64,${(await readFile(png)).toString("base64")}` },
      },
    });
    const srcId = ((await src.json()) as { id: string }).id;
    expect((await waitForTask(app, key, srcId, { timeoutMs: 150_000 })).status).toBe("completed");
    const made = await app.request("/sora/v1/characters", {
      key,
      body: { from_task: srcId, timestamps: "1,3", name: "Leaf" },
    });
    expect(made.status).toBe(200);
    const { username } = (await made.json()) as { username: string };

    const withChar = await render(app, key, { prompt: `@${username} on a red carpet` }, "task-char.mp4");
    const [r, g, b] = meanRgb(await pixels(withChar.file, 5, characterInsetRegion(1280, 720, 0)));
    expect(g).toBeGreaterThan(100);
    expect(g).toBeGreaterThan((r ?? 0) + 40);
    expect(g).toBeGreaterThan((b ?? 0) + 40);
  });

  it("a character uploaded from a green clip shows green in the inset of a video that mentions it", async () => {
    const app = await startTestApp();
    apps.push(app);
    const key = await app.newKey();
    const clip = join(dir, "green.mp4");
    await run(ffmpeg, [
      "-v",
      "error",
      "-f",
      "lavfi",
      "-i",
      "color=c=0x00c000:s=320x240:d=4",
      "-c:v",
      "libx264",
      "-pix_fmt",
      "yuv420p",
      clip,
    ]);
    const form = new FormData();
    form.append("name", "Green");
    form.append("video", new Blob([await readFile(clip)], { type: "video/mp4" }), "green.mp4");
    const made = (await (
      await fetch(`${app.url}/v1/videos/characters`, {
        method: "POST",
        headers: { authorization: `Bearer ${key}` },
        body: form,
      })
    ).json()) as { username: string };

    const withChar = await render(app, key, { prompt: `@${made.username} waves from the pier` }, "with.mp4");
    const without = await render(app, key, { prompt: `someone waves from the pier` }, "without.mp4");
    const inset = characterInsetRegion(1280, 720, 0);
    const [r, g, b] = meanRgb(await pixels(withChar.file, 5, inset));
    expect(g).toBeGreaterThan(120);
    expect(g).toBeGreaterThan((r ?? 0) + 60);
    expect(g).toBeGreaterThan((b ?? 0) + 60);
    const [, g0] = meanRgb(await pixels(without.file, 5, inset));
    expect(Math.abs((g0 ?? 0) - (g ?? 0))).toBeGreaterThan(30);
  });
});
