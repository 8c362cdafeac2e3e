/**
 * The `minimax` channel kind against an emulated MiniMax API (test/emulators/minimax.ts): both
 * create APIs end to end with the MP4 read back, what reaches MiniMax, durations refused before
 * anything is sent, MiniMax's error codes (an HTTP 200 carrying one) as failover, refusal or
 * content policy, unknown status words, expiring download links, cancel, and first/last frames.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { resolveMediaTools } from "../../src/adapters/providers/local-renderer/media-tools.js";
import { createMiniMaxProvider } from "../../src/adapters/providers/minimax/provider.js";
import type { VideoRequest } from "../../src/core/tasks/task.js";
import { type MiniMaxEmulator, minimaxError, startMiniMax } from "../emulators/minimax.js";
import { waitForTask } from "../helpers/app.js";
import { type ChannelApp, channel, secretEnv, startWithChannels } from "../helpers/channels.js";
import { ffprobe } from "../helpers/ffprobe.js";
import { makePng } from "../helpers/image-server.js";
import { TINY_PNG } from "../helpers/images.js";
import { channelsView, closedAfterEach, testChannelHttp } from "../helpers/provider-e2e.js";
import { pollUntil, sleep } from "../helpers/wait.js";

const SECRET_A = "mm-secret-a-0123456789";
const SECRET_B = "mm-secret-b-0123456789";
const MODEL = "hailuo-02";

const running = closedAfterEach();

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "reelay-minimax-e2e-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function emulator(secret = SECRET_A): Promise<MiniMaxEmulator> {
  const e = await startMiniMax({ secret });
  e.core.defaultBehaviour = { runMs: 400 };
  running.push(e);
  return e;
}

/**
 * Reelay with these channels, plus the local renderer: the sora-2 models (no upstream ids) must be
 * served by some channel, and a local channel never takes hailuo-02 (not of its kind).
 */
async function app(channels: object[], env: Record<string, string> = {}): Promise<ChannelApp> {
  const s = await startWithChannels(
    { channels: [...channels, { id: "local", kind: "local" }] },
    { env: { ...secretEnv("a", SECRET_A), ...secretEnv("b", SECRET_B), ...env } },
  );
  running.push(s);
  return s;
}

/** A fast-polling minimax channel serving hailuo-02. */
const mm = (id: string, url: string, extra: Record<string, unknown> = {}) =>
  channel(id, "minimax", url, { models: [MODEL], ...extra });

const BODY = {
  model: MODEL,
  prompt: "a paper boat on a canal",
  orientation: "landscape",
  size: "large",
  duration: 6,
};

async function create(s: ChannelApp, key: string, body: object = BODY): Promise<string> {
  const res = await s.request("/v1/video/create", { key, body });
  const json = (await res.json()) as { id: string };
  expect(res.status, JSON.stringify(json)).toBe(200);
  return json.id;
}

const routes = (e: MiniMaxEmulator) => e.core.requests.map((r) => r.route);
const inputs = (e: MiniMaxEmulator) => [...e.core.tasks.values()].map((t) => t.input);

async function probeUrl(url: string, name: string) {
  const file = join(dir, name);
  await writeFile(file, Buffer.from(await (await fetch(url)).arrayBuffer()));
  const info = await ffprobe(file);
  return { video: info.streams.find((x) => x.codecType === "video"), durationS: info.durationS };
}

describe("minimax: both create APIs", () => {
  it("makes a 1080P 6 s video from the seed's fields, with the channel configured by id, kind, baseUrl, secretEnv and models only", async () => {
    const a = await emulator();
    const s = await app([
      { id: "a", kind: "minimax", baseUrl: a.url, secretEnv: "SECRET_A", models: [MODEL] },
    ]);
    const key = await s.newKey();
    const id = await create(s, key);
    const done = await waitForTask(s, key, id);
    expect(done.status, JSON.stringify(done)).toBe("completed");
    const { video, durationS } = await probeUrl(String(done.video_url), "a.mp4");
    expect(video).toMatchObject({ codecName: "h264", width: 1920, height: 1080 });
    expect(Math.round(durationS)).toBe(6);
    // What MiniMax received: its model id, 1080P, 6 s, the prompt, the watermark as asked (16:9 is
    // text-to-video's only aspect: MiniMax has no aspect field), and the key as a Bearer token.
    expect(inputs(a)).toEqual([
      {
        model: "MiniMax-Hailuo-02",
        prompt: "a paper boat on a canal",
        duration: 6,
        resolution: "1080P",
        // The seed's `watermark` defaults to true: MiniMax is asked for its AIGC watermark.
        aigc_watermark: true,
      },
    ]);
    expect(routes(a)).toEqual(expect.arrayContaining(["create", "query", "retrieve", "download"]));
    for (const r of a.core.requests.filter((x) => x.route !== "download"))
      expect(r.auth).toBe(`Bearer ${SECRET_A}`);
  });

  it("makes a 768P 10 s video through /v1/videos (size, seconds)", async () => {
    const a = await emulator();
    const s = await app([mm("a", a.url)]);
    const key = await s.newKey();
    const res = await s.request("/v1/videos", {
      key,
      body: { model: MODEL, prompt: "fog over a harbour", size: "1366x768", seconds: "10" },
    });
    const { id } = (await res.json()) as { id: string };
    expect(res.status).toBe(200);
    expect((await waitForTask(s, key, id)).status).toBe("completed");
    const content = await s.request(`/v1/videos/${encodeURIComponent(id)}/content`, { key });
    expect(content.status).toBe(200);
    const file = join(dir, "b.mp4");
    await writeFile(file, Buffer.from(await content.arrayBuffer()));
    const info = await ffprobe(file);
    expect(info.streams.find((x) => x.codecType === "video")).toMatchObject({ width: 1366, height: 768 });
    expect(Math.round(info.durationS)).toBe(10);
    expect(inputs(a)[0]).toMatchObject({ model: "MiniMax-Hailuo-02", duration: 10, resolution: "768P" });
  });

  it("refuses a duration hailuo-02 does not make with 400 naming the field and its values; nothing reaches MiniMax", async () => {
    const a = await emulator();
    const s = await app([mm("a", a.url)]);
    const key = await s.newKey();
    const res = await s.request("/v1/video/create", { key, body: { ...BODY, duration: 5 } });
    expect(res.status).toBe(400);
    const text = JSON.stringify(await res.json());
    expect(text).toContain("duration");
    expect(text).toMatch(/6.*10/);
    expect(a.core.requests).toEqual([]);
  });
});

describe("minimax: what MiniMax cannot make", () => {
  it("refuses a portrait text-to-video task at create (MiniMax makes text-to-video in 16:9 only)", async () => {
    const a = await emulator();
    const s = await app([mm("a", a.url)]);
    const key = await s.newKey();
    const res = await s.request("/v1/video/create", { key, body: { ...BODY, orientation: "portrait" } });
    expect(res.status).toBe(400);
    const { error } = (await res.json()) as { error: { param: string; message: string } };
    expect(error.param).toBe("orientation");
    expect(error.message).toContain("16:9");
    expect(a.core.requests).toEqual([]);
  });
});

describe("minimax: MiniMax's errors", () => {
  it("fails over when MiniMax refuses the key (an HTTP 200 with 2049), and cools the channel down", async () => {
    const a = await emulator("some-other-key-0123456");
    const b = await emulator(SECRET_B);
    const s = await app([
      mm("a", a.url, { priority: 10, cooldown: { failures: 1, seconds: 60 } }),
      mm("b", b.url, { priority: 5 }),
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

  it("fails over on insufficient balance (1008) and rate limit (1002); the channel cools down after them", async () => {
    const a = await emulator();
    const b = await emulator(SECRET_B);
    const s = await app([
      mm("a", a.url, { priority: 10, cooldown: { failures: 2, seconds: 60 } }),
      mm("b", b.url, { priority: 5 }),
    ]);
    const key = await s.newKey();
    a.core.fault("create", minimaxError(1008, "insufficient balance"));
    a.core.fault("create", minimaxError(1002, "rate limit"));
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

  it("fails a task MiniMax refuses as invalid (2013) with its reason, not sent elsewhere", async () => {
    const a = await emulator();
    const b = await emulator(SECRET_B);
    const s = await app([mm("a", a.url, { priority: 10 }), mm("b", b.url, { priority: 5 })]);
    const key = await s.newKey();
    a.core.fault("create", minimaxError(2013, "invalid params, prompt is too long"));
    const done = await waitForTask(s, key, await create(s, key));
    expect(done.status).toBe("failed");
    expect(done.error).toMatchObject({ code: "upstream_rejected" });
    const message = String((done.error as { message: string }).message);
    expect(message).toContain("2013");
    expect(message).toContain("invalid params, prompt is too long");
    expect(b.core.requests).toEqual([]);
  });

  it("fails with content_policy when MiniMax flags the input (1026) at submit, attempted once, not failed over", async () => {
    const a = await emulator();
    const b = await emulator(SECRET_B);
    const s = await app([mm("a", a.url, { priority: 10 }), mm("b", b.url, { priority: 5 })]);
    const key = await s.newKey();
    a.core.fault("create", minimaxError(1026, "input new_sensitive"));
    const done = await waitForTask(s, key, await create(s, key));
    expect(done.status).toBe("failed");
    expect(done.error).toMatchObject({ code: "content_policy" });
    expect(String((done.error as { message: string }).message)).toContain("1026");
    expect((done.detail as { pending_info: { attempts: number } }).pending_info.attempts).toBe(1);
    expect(routes(a)).toEqual(["create"]);
    expect(b.core.requests).toEqual([]);
  });

  it("fails with content_policy when MiniMax flags the output (1027) while running, not failed over", async () => {
    const a = await emulator();
    const b = await emulator(SECRET_B);
    const s = await app([mm("a", a.url, { priority: 10 }), mm("b", b.url, { priority: 5 })]);
    const key = await s.newKey();
    a.core.nextTask({ outcome: "fail", runMs: 300, failCode: "1027", failMessage: "output new_sensitive" });
    const done = await waitForTask(s, key, await create(s, key));
    expect(done.status).toBe("failed");
    expect(done.error).toMatchObject({ code: "content_policy" });
    const message = String((done.error as { message: string }).message);
    expect(message).toContain("1027");
    expect(message).toContain("output new_sensitive");
    expect((done.detail as { pending_info: { attempts: number } }).pending_info.attempts).toBe(1);
    expect(routes(a).filter((r) => r === "create")).toHaveLength(1);
    expect(b.core.requests).toEqual([]);
  });

  it("keeps a task running through status words it does not know", async () => {
    const a = await emulator();
    const s = await app([mm("a", a.url)]);
    const key = await s.newKey();
    a.core.nextTask({ runMs: 1500, runningStatuses: ["Rendering", undefined, "Processing"] });
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
    expect(metrics).toMatch(/reelay_upstream_unknown_status_total\{channel="a",status="Rendering"\} [1-9]/);
  });

  it("asks for a fresh link when a download link has expired, and fails clearly when every link is dead", async () => {
    const a = await emulator();
    const s = await app([mm("a", a.url)]);
    const key = await s.newKey();
    // One expired link: the retry retrieves the file again and gets a working one.
    a.core.fault("download", {
      kind: "status",
      status: 403,
      contentType: "application/xml",
      body: "<Error><Code>AccessDenied</Code><Message>Request has expired.</Message></Error>",
    });
    const retried = await waitForTask(s, key, await create(s, key));
    expect(retried.status, JSON.stringify(retried)).toBe("completed");
    expect(routes(a).filter((r) => r === "retrieve").length).toBeGreaterThanOrEqual(2);
    // Links dead on arrival (TTL 0): the task fails naming the refusal.
    a.linkTtlMs = -1;
    const dead = await waitForTask(s, key, await create(s, key));
    expect(dead.status).toBe("failed");
    expect(dead.error).toMatchObject({ code: "upstream_bad_content" });
    const message = String((dead.error as { message: string }).message);
    expect(message).toContain("HTTP 403");
    expect(message).toContain("expired");
    expect(dead.video_url).toBeNull();
  });
});

describe("minimax: cancel and images", () => {
  it("cancels in Reelay only: MiniMax has no cancel, so nothing but creates and queries reach it", async () => {
    const a = await emulator();
    const s = await app([mm("a", a.url)]);
    const key = await s.newKey();
    a.core.nextTask({ outcome: "never" });
    const id = await create(s, key);
    // Accepted by MiniMax and followed by Reelay (a query seen) before it is cancelled.
    await pollUntil(
      async () => ({ q: await s.query(key, id), seen: routes(a) }),
      ({ q, seen }) => q.status === "processing" && seen.includes("query"),
      { what: `task ${id} running at MiniMax`, timeoutMs: 10_000, intervalMs: 50 },
    );
    const cancel = await s.request(`/v1/video/cancel?id=${encodeURIComponent(id)}`, { key, method: "POST" });
    expect(cancel.status).toBe(200);
    await sleep(800); // long enough for a cancel that did not stick to show
    expect((await s.query(key, id)).status).toBe("cancelled");
    expect(routes(a).filter((r) => r === "create")).toHaveLength(1);
    expect(routes(a).every((r) => r === "create" || r === "query")).toBe(true);
  });

  it("sends an uploaded first frame as a data URL in first_frame_image; the video takes the image's aspect", async () => {
    const a = await emulator();
    const s = await app([mm("a", a.url)]);
    const key = await s.newKey();
    const { ffmpegPath } = await resolveMediaTools({});
    const png = await makePng(ffmpegPath, join(dir, "portrait.png"), "testsrc=size=720x1280");
    const done = await waitForTask(
      s,
      key,
      await create(s, key, {
        ...BODY,
        orientation: "portrait",
        images: [`data:image/png;base64,${png.toString("base64")}`],
      }),
    );
    expect(done.status, JSON.stringify(done)).toBe("completed");
    const input = inputs(a)[0] ?? {};
    expect(input.first_frame_image).toBe(`data:image/png;base64,${png.toString("base64")}`);
    expect(input).not.toHaveProperty("last_frame_image");
    expect(input).toMatchObject({ model: "MiniMax-Hailuo-02", resolution: "1080P" });
    const { video } = await probeUrl(String(done.video_url), "i2v.mp4");
    expect(video).toMatchObject({ width: 1080, height: 1920 });
  });

  it("sends first and last frames by role (a link as its URL, an upload as a data URL), which MiniMax accepts", async () => {
    // The request vocabulary for roles is not on the create APIs yet: the adapter is driven directly.
    const a = await emulator();
    const http = testChannelHttp(running, a.url, SECRET_A);
    const file = join(dir, "first.png");
    await writeFile(file, TINY_PNG);
    const request: VideoRequest = {
      api: "unified",
      model: MODEL,
      family: MODEL,
      prompt: "a door opens",
      orientation: "landscape",
      size: "small",
      width: 1280,
      height: 720,
      duration: 6,
      images: ["https://images.example/last.jpg"],
      imageKeys: ["upload"],
      imageRoles: ["last_frame", "first_frame"],
      source: null,
      watermark: false,
      private: false,
    };
    const { upstreamId } = await createMiniMaxProvider(http).submit(request, {
      taskId: "task_x",
      upstreamModel: "MiniMax-Hailuo-02",
      imageFiles: [file],
      workDir: dir,
      signal: new AbortController().signal,
    });
    expect(a.core.tasks.get(upstreamId)?.input).toMatchObject({
      first_frame_image: `data:image/png;base64,${TINY_PNG.toString("base64")}`,
      last_frame_image: "https://images.example/last.jpg",
      resolution: "768P",
      duration: 6,
    });
  });
});
