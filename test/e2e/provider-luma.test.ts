/**
 * The `luma` channel kind against an emulated Luma Dream Machine API (test/emulators/luma.ts):
 * both create APIs end to end with the MP4 read back, what reaches Luma, durations refused before
 * anything is sent, Luma's refusals (401, 402, 429, 400) as failover or refusal, moderation at
 * submit and while dreaming as content policy, unknown state words, expiring video links, cancel
 * (sent as Luma's DELETE), and start/end frames as keyframes (uploads refused: Luma takes URLs only).
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type LumaEmulator, lumaError, startLuma } from "../emulators/luma.js";
import { waitForTask } from "../helpers/app.js";
import { type ChannelApp, channel, secretEnv, startWithChannels } from "../helpers/channels.js";
import { ffprobe } from "../helpers/ffprobe.js";
import { type ImageServer, startImageServer } from "../helpers/image-server.js";
import { dataUrl, TINY_PNG } from "../helpers/images.js";
import { channelsView, closedAfterEach } from "../helpers/provider-e2e.js";
import { pollUntil, sleep } from "../helpers/wait.js";

const SECRET_A = "luma-secret-a-0123456789";
const SECRET_B = "luma-secret-b-0123456789";
const MODEL = "ray-2";

const running = closedAfterEach();

let dir: string;
let images: ImageServer;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "reelay-luma-e2e-"));
  images = await startImageServer();
});
afterAll(async () => {
  await images.close();
  await rm(dir, { recursive: true, force: true });
});

async function emulator(secret = SECRET_A): Promise<LumaEmulator> {
  const e = await startLuma({ secret });
  e.core.defaultBehaviour = { runMs: 400 };
  running.push(e);
  return e;
}

/** Reelay with these channels, plus the local renderer (it serves the sora-2 models, never ray-2). */
async function app(channels: object[]): Promise<ChannelApp> {
  const s = await startWithChannels(
    { channels: [...channels, { id: "local", kind: "local" }] },
    // The image server is on loopback: allowed for image links here (they are checked at create).
    {
      env: {
        ...secretEnv("a", SECRET_A),
        ...secretEnv("b", SECRET_B),
        REELAY_IMAGE_ALLOW_HOSTS: images.host,
      },
    },
  );
  running.push(s);
  return s;
}

/** A fast-polling luma channel serving ray-2. */
const lm = (id: string, url: string, extra: Record<string, unknown> = {}) =>
  channel(id, "luma", url, { models: [MODEL], ...extra });

const BODY = {
  model: MODEL,
  prompt: "a paper boat on a canal",
  orientation: "landscape",
  size: "large",
  duration: 5,
};

async function create(s: ChannelApp, key: string, body: object = BODY): Promise<string> {
  const res = await s.request("/v1/video/create", { key, body });
  const json = (await res.json()) as { id: string };
  expect(res.status, JSON.stringify(json)).toBe(200);
  return json.id;
}

const routes = (e: LumaEmulator) => e.core.requests.map((r) => r.route);
const inputs = (e: LumaEmulator) => [...e.core.tasks.values()].map((t) => t.input);
const messageOf = (t: Record<string, unknown>) => String((t.error as { message: string }).message);

async function probeUrl(url: string, name: string) {
  const file = join(dir, name);
  await writeFile(file, Buffer.from(await (await fetch(url)).arrayBuffer()));
  const info = await ffprobe(file);
  return { video: info.streams.find((x) => x.codecType === "video"), durationS: info.durationS };
}

describe("luma: both create APIs", () => {
  it("makes a 1080p 5 s 16:9 video from the seed's fields, with the channel configured by id, kind, baseUrl, secretEnv and models only", async () => {
    const a = await emulator();
    const s = await app([{ id: "a", kind: "luma", baseUrl: a.url, secretEnv: "SECRET_A", models: [MODEL] }]);
    const key = await s.newKey();
    const done = await waitForTask(s, key, await create(s, key));
    expect(done.status, JSON.stringify(done)).toBe("completed");
    const { video, durationS } = await probeUrl(String(done.video_url), "a.mp4");
    expect(video).toMatchObject({ codecName: "h264", width: 1920, height: 1080 });
    expect(Math.round(durationS)).toBe(5);
    // What Luma received: its model id, the aspect ratio, resolution and duration in its words.
    expect(inputs(a)).toEqual([
      {
        model: "ray-2",
        prompt: "a paper boat on a canal",
        aspect_ratio: "16:9",
        resolution: "1080p",
        duration: "5s",
      },
    ]);
    expect(routes(a)).toEqual(expect.arrayContaining(["create", "get", "download"]));
    expect(a.core.requests.find((r) => r.route === "create")?.path).toBe(
      "/dream-machine/v1/generations/video",
    );
    for (const r of a.core.requests.filter((x) => x.route !== "download"))
      expect(r.auth).toBe(`Bearer ${SECRET_A}`);
  });

  it("makes a 720p 9 s portrait video through /v1/videos (size, seconds)", async () => {
    const a = await emulator();
    const s = await app([lm("a", a.url)]);
    const key = await s.newKey();
    const res = await s.request("/v1/videos", {
      key,
      body: { model: MODEL, prompt: "fog over a harbour", size: "720x1280", seconds: "9" },
    });
    const { id } = (await res.json()) as { id: string };
    expect(res.status).toBe(200);
    expect((await waitForTask(s, key, id)).status).toBe("completed");
    const content = await s.request(`/v1/videos/${encodeURIComponent(id)}/content`, { key });
    expect(content.status).toBe(200);
    const file = join(dir, "b.mp4");
    await writeFile(file, Buffer.from(await content.arrayBuffer()));
    const info = await ffprobe(file);
    expect(info.streams.find((x) => x.codecType === "video")).toMatchObject({ width: 720, height: 1280 });
    expect(Math.round(info.durationS)).toBe(9);
    expect(inputs(a)[0]).toMatchObject({
      model: "ray-2",
      aspect_ratio: "9:16",
      resolution: "720p",
      duration: "9s",
    });
  });

  it("refuses a duration ray-2 does not make with 400 naming the field and its values; nothing reaches Luma", async () => {
    const a = await emulator();
    const s = await app([lm("a", a.url)]);
    const key = await s.newKey();
    const res = await s.request("/v1/video/create", { key, body: { ...BODY, duration: 6 } });
    expect(res.status).toBe(400);
    const text = JSON.stringify(await res.json());
    expect(text).toContain("duration");
    expect(text).toMatch(/5.*9/);
    expect(a.core.requests).toEqual([]);
  });
});

describe("luma: Luma's refusals", () => {
  it("fails over when Luma refuses the key (401), and cools the channel down", async () => {
    const a = await emulator("some-other-key-0123456");
    const b = await emulator(SECRET_B);
    const s = await app([
      lm("a", a.url, { priority: 10, cooldown: { failures: 1, seconds: 60 } }),
      lm("b", b.url, { priority: 5 }),
    ]);
    const key = await s.newKey();
    const done = await waitForTask(s, key, await create(s, key));
    expect(done.status, JSON.stringify(done)).toBe("completed");
    expect(routes(a)).toEqual(["create"]);
    expect(routes(b)).toContain("download");
    expect((await channelsView(s)).find((c) => c.id === "a")).toMatchObject({
      state: "cooling_down",
      failures: 1,
    });
  });

  it("fails over on insufficient credits (402) and rate limit (429); the channel cools down after them", async () => {
    const a = await emulator();
    const b = await emulator(SECRET_B);
    const s = await app([
      lm("a", a.url, { priority: 10, cooldown: { failures: 2, seconds: 60 } }),
      lm("b", b.url, { priority: 5 }),
    ]);
    const key = await s.newKey();
    a.core.fault("create", lumaError(402, "Insufficient credits"));
    a.core.fault("create", lumaError(429, "Too many requests", 1));
    for (let i = 0; i < 2; i++)
      expect((await waitForTask(s, key, await create(s, key))).status).toBe("completed");
    expect(routes(a)).toEqual(["create", "create"]);
    expect(b.core.tasks.size).toBe(2);
    expect((await channelsView(s)).find((c) => c.id === "a")).toMatchObject({
      state: "cooling_down",
      failures: 2,
    });
    // Cooling down: the next task goes straight to B.
    expect((await waitForTask(s, key, await create(s, key))).status).toBe("completed");
    expect(routes(a)).toHaveLength(2);
  });

  it("fails a task Luma refuses as invalid (400) with its reason, not sent elsewhere", async () => {
    const a = await emulator();
    const b = await emulator(SECRET_B);
    const s = await app([lm("a", a.url, { priority: 10 }), lm("b", b.url, { priority: 5 })]);
    const key = await s.newKey();
    a.core.fault("create", lumaError(400, "Prompt is too long, maximum length is 5000 characters"));
    const done = await waitForTask(s, key, await create(s, key));
    expect(done.status).toBe("failed");
    expect(done.error).toMatchObject({ code: "upstream_rejected" });
    expect(messageOf(done)).toContain("HTTP 400");
    expect(messageOf(done)).toContain("Prompt is too long");
    expect(b.core.requests).toEqual([]);
  });

  it("fails with content_policy when Luma refuses the prompt by moderation at submit, attempted once, not failed over", async () => {
    const a = await emulator();
    const b = await emulator(SECRET_B);
    const s = await app([lm("a", a.url, { priority: 10 }), lm("b", b.url, { priority: 5 })]);
    const key = await s.newKey();
    a.core.fault("create", lumaError(400, "Advanced prompt moderation failed"));
    const done = await waitForTask(s, key, await create(s, key));
    expect(done.status).toBe("failed");
    expect(done.error).toMatchObject({ code: "content_policy" });
    expect(messageOf(done)).toContain("Advanced prompt moderation failed");
    expect((done.detail as { pending_info: { attempts: number } }).pending_info.attempts).toBe(1);
    expect(routes(a)).toEqual(["create"]);
    expect(b.core.requests).toEqual([]);
  });

  it("fails with content_policy when the generation fails by moderation while dreaming, not failed over", async () => {
    const a = await emulator();
    const b = await emulator(SECRET_B);
    const s = await app([lm("a", a.url, { priority: 10 }), lm("b", b.url, { priority: 5 })]);
    const key = await s.newKey();
    a.core.nextTask({ outcome: "fail", runMs: 300, failMessage: "Frame moderation failed" });
    const done = await waitForTask(s, key, await create(s, key));
    expect(done.status).toBe("failed");
    expect(done.error).toMatchObject({ code: "content_policy" });
    expect(messageOf(done)).toContain("Frame moderation failed");
    expect((done.detail as { pending_info: { attempts: number } }).pending_info.attempts).toBe(1);
    expect(routes(a).filter((r) => r === "create")).toHaveLength(1);
    expect(b.core.requests).toEqual([]);
  });

  it("keeps a task running through state words it does not know", async () => {
    const a = await emulator();
    const s = await app([lm("a", a.url)]);
    const key = await s.newKey();
    a.core.nextTask({ runMs: 1500, runningStatuses: ["rendering", undefined, "dreaming"] });
    const id = await create(s, key);
    const seen = new Set<string>();
    await pollUntil(
      async () => {
        const q = await s.query(key, id);
        seen.add(String(q.status));
        return q.status;
      },
      (status) => status === "completed" || status === "failed",
      { what: `task ${id} to end`, timeoutMs: 20_000 },
    );
    expect(seen.has("failed")).toBe(false);
    expect(seen.has("completed")).toBe(true);
    const metrics = await (await s.request("/metrics", { key: s.adminToken })).text();
    expect(metrics).toMatch(/reelay_upstream_unknown_status_total\{channel="a",status="rendering"\} [1-9]/);
  });

  it("fails clearly when the presigned video link has expired", async () => {
    const a = await emulator();
    const s = await app([lm("a", a.url)]);
    const key = await s.newKey();
    a.linkTtlMs = -1;
    const dead = await waitForTask(s, key, await create(s, key));
    expect(dead.status).toBe("failed");
    expect(dead.error).toMatchObject({ code: "upstream_bad_content" });
    expect(messageOf(dead)).toContain("HTTP 403");
    expect(messageOf(dead)).toContain("expired");
    expect(dead.video_url).toBeNull();
  });
});

describe("luma: cancel and images", () => {
  it("passes a cancel to Luma as DELETE of the generation", async () => {
    const a = await emulator();
    const s = await app([lm("a", a.url)]);
    const key = await s.newKey();
    a.core.nextTask({ outcome: "never" });
    const id = await create(s, key);
    await pollUntil(
      async () => ({ q: await s.query(key, id), seen: routes(a) }),
      ({ q, seen }) => q.status === "processing" && seen.includes("get"),
      { what: `task ${id} dreaming at Luma`, timeoutMs: 10_000, intervalMs: 50 },
    );
    const cancel = await s.request(`/v1/video/cancel?id=${encodeURIComponent(id)}`, { key, method: "POST" });
    expect(cancel.status).toBe(200);
    await pollUntil(
      async () => routes(a),
      (r) => r.includes("delete"),
      { what: "the DELETE to reach Luma", timeoutMs: 10_000, intervalMs: 50 },
    );
    await sleep(500);
    expect((await s.query(key, id)).status).toBe("cancelled");
    const del = a.core.requests.find((r) => r.route === "delete");
    const upstreamId = [...a.core.tasks.keys()][0];
    expect(del).toMatchObject({ method: "DELETE", auth: `Bearer ${SECRET_A}` });
    expect(del?.path).toBe(`/dream-machine/v1/generations/${upstreamId}`);
  });

  it("sends a first frame and a last frame given as links as keyframes frame0 and frame1", async () => {
    const a = await emulator();
    const s = await app([lm("a", a.url)]);
    const key = await s.newKey();
    const done = await waitForTask(
      s,
      key,
      await create(s, key, {
        ...BODY,
        size: "small",
        images: [`${images.url}/a.png`],
        last_frame: `${images.url}/b.png`,
      }),
    );
    expect(done.status, JSON.stringify(done)).toBe("completed");
    expect(inputs(a)[0]).toEqual({
      model: "ray-2",
      prompt: "a paper boat on a canal",
      aspect_ratio: "16:9",
      resolution: "720p",
      duration: "5s",
      keyframes: {
        frame0: { type: "image", url: `${images.url}/a.png` },
        frame1: { type: "image", url: `${images.url}/b.png` },
      },
    });
  });

  it("refuses an uploaded image (Luma takes image URLs only) with a clear reason; nothing reaches Luma", async () => {
    const a = await emulator();
    const s = await app([lm("a", a.url)]);
    const key = await s.newKey();
    const done = await waitForTask(s, key, await create(s, key, { ...BODY, images: [dataUrl(TINY_PNG)] }));
    expect(done.status).toBe("failed");
    expect(done.error).toMatchObject({ code: "upstream_rejected" });
    expect(messageOf(done)).toContain("URL only");
    expect(a.core.requests).toEqual([]);
  });
});
