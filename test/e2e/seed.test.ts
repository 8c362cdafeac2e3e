/**
 * The seed's example, verbatim, against the real app and the real local renderer: create, poll,
 * download, and ffprobe the MP4.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { startTestApp, type TestApp } from "../helpers/app.js";
import { ffprobe } from "../helpers/ffprobe.js";
import { pollUntil } from "../helpers/wait.js";

// Exactly the seed document's request body, as text.
const SEED_REQUEST = `{
  "images": [],
  "model": "sora-2-pro",
  "orientation": "portrait",
  "prompt": "make animate",
  "size": "large",
  "duration": 15,
  "watermark": false,
  "private": true
}`;

let app: TestApp;
let key: string;
let scratch: string;

beforeAll(async () => {
  app = await startTestApp();
  key = await app.newKey();
  scratch = await mkdtemp(join(tmpdir(), "reelay-seed-"));
});
afterAll(async () => {
  await app.close();
  await rm(scratch, { recursive: true, force: true });
});

it("the seed's example body makes a real 1080×1920, 15 s H.264 MP4", async () => {
  const res = await app.request("/v1/video/create", {
    key,
    body: SEED_REQUEST,
    headers: { "content-type": "application/json", accept: "application/json" },
  });
  expect(res.status).toBe(200);
  expect(res.headers.get("content-type")).toMatch(/^application\/json/);
  const created = (await res.json()) as Record<string, unknown>;
  expect(Object.keys(created).sort()).toEqual(["id", "status", "status_update_time"]);
  expect(created.id).toMatch(/^sora-2:task_[0-9a-hjkmnp-tv-z]{26}$/);
  expect(created.status).toBe("pending");
  expect(created.status_update_time).toEqual(expect.any(Number));
  expect(Math.abs(Number(created.status_update_time) - Date.now())).toBeLessThan(60_000);

  const seen = new Set<string>();
  const progress: number[] = [];
  const task = await pollUntil(
    async () => {
      const q = await app.request(`/v1/video/query?id=${encodeURIComponent(String(created.id))}`, { key });
      const t = (await q.json()) as Record<string, unknown>;
      seen.add(String(t.status));
      progress.push(Number(t.progress));
      if (t.status !== "completed" && t.status !== "failed") expect(t.video_url).toBeNull();
      return t;
    },
    (t) => t.status === "completed" || t.status === "failed",
    { what: "the seed task to end", timeoutMs: 150_000, intervalMs: 250 },
  );
  expect(task.status).toBe("completed");
  expect(seen.has("processing") || seen.has("pending")).toBe(true);
  // Progress never goes backwards while a single attempt runs.
  expect(progress).toEqual([...progress].sort((a, b) => a - b));
  expect(task).toMatchObject({
    id: created.id,
    progress: 100,
    width: 1080,
    height: 1920,
    error: null,
    enhanced_prompt: "make animate",
    detail: {
      input: {
        model: "sora-2-pro",
        prompt: "make animate",
        orientation: "portrait",
        size: "large",
        duration: 15,
        images: [],
        watermark: false,
        private: true,
      },
      pending_info: { progress_pct: 1, status: "completed", failure_reason: null },
      has_watermark: false,
    },
  });

  const video = await fetch(String(task.video_url));
  expect(video.status).toBe(200);
  expect(video.headers.get("content-type")).toBe("video/mp4");
  const file = join(scratch, "seed.mp4");
  await writeFile(file, Buffer.from(await video.arrayBuffer()));
  const probe = await ffprobe(file);
  const v = probe.streams.find((s) => s.codecType === "video");
  const a = probe.streams.find((s) => s.codecType === "audio");
  expect(v).toMatchObject({ codecName: "h264", width: 1080, height: 1920 });
  expect(a?.codecName).toBe("aac");
  expect(Math.abs(probe.durationS - 15)).toBeLessThanOrEqual(0.2);

  const thumb = await fetch(String(task.thumbnail_url));
  expect(thumb.headers.get("content-type")).toBe("image/jpeg");
  const thumbFile = join(scratch, "thumb.jpg");
  await writeFile(thumbFile, Buffer.from(await thumb.arrayBuffer()));
  expect((await ffprobe(thumbFile)).streams[0]).toMatchObject({
    codecName: "mjpeg",
    width: 1080,
    height: 1920,
  });
});
