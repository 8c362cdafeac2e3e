/**
 * The `runway` channel kind against an emulated Runway API (test/emulators/runway.ts): both create
 * APIs end to end with the MP4 read back, what reaches Runway (model id, ratio, duration, Bearer key
 * and X-Runway-Version), durations refused before anything is sent, Runway's HTTP errors as
 * failover or refusal, moderation failures as content policy, unknown status words, expiring
 * output links, cancel (DELETE), and first/last frames.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createImageFetcher } from "../../src/adapters/net/safe-fetch.js";
import { resolveMediaTools } from "../../src/adapters/providers/local-renderer/media-tools.js";
import { createRunwayProvider, runwayAuthHeaders } from "../../src/adapters/providers/runway/provider.js";
import type { VideoRequest } from "../../src/core/tasks/task.js";
import { type RunwayEmulator, runwayError, startRunway } from "../emulators/runway.js";
import { waitForTask } from "../helpers/app.js";
import { type ChannelApp, channel, secretEnv, startWithChannels } from "../helpers/channels.js";
import { ffprobe } from "../helpers/ffprobe.js";
import { makePng, startImageServer } from "../helpers/image-server.js";
import { TINY_PNG } from "../helpers/images.js";
import { channelsView, closedAfterEach, testChannelHttp } from "../helpers/provider-e2e.js";
import { pollUntil } from "../helpers/wait.js";

const SECRET_A = "key_runway_a_0123456789";
const SECRET_B = "key_runway_b_0123456789";
const VEO = "runway-veo3.1";
const GEN45 = "gen4.5";

const running = closedAfterEach();

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "reelay-runway-e2e-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function emulator(secret = SECRET_A): Promise<RunwayEmulator> {
  const e = await startRunway({ secret });
  e.core.defaultBehaviour = { runMs: 400 };
  running.push(e);
  return e;
}

/** Reelay with these channels only (built-in models are offered where a channel serves them). */
async function app(channels: object[]): Promise<ChannelApp> {
  const s = await startWithChannels(
    { channels },
    { env: { ...secretEnv("a", SECRET_A), ...secretEnv("b", SECRET_B) } },
  );
  running.push(s);
  return s;
}

/** A fast-polling runway channel serving the Runway models. */
const rw = (id: string, url: string, extra: Record<string, unknown> = {}) =>
  channel(id, "runway", url, { models: [VEO, GEN45, "gen4-turbo"], ...extra });

const BODY = {
  model: VEO,
  prompt: "a paper boat on a canal",
  orientation: "landscape",
  size: "large",
  duration: 8,
};

async function create(s: ChannelApp, key: string, body: object = BODY): Promise<string> {
  const res = await s.request("/v1/video/create", { key, body });
  const json = (await res.json()) as { id: string };
  expect(res.status, JSON.stringify(json)).toBe(200);
  return json.id;
}

const routes = (e: RunwayEmulator) => e.core.requests.map((r) => r.route);
const inputs = (e: RunwayEmulator) => [...e.core.tasks.values()].map((t) => t.input);

async function probeUrl(url: string, name: string) {
  const file = join(dir, name);
  await writeFile(file, Buffer.from(await (await fetch(url)).arrayBuffer()));
  const info = await ffprobe(file);
  return { video: info.streams.find((x) => x.codecType === "video"), durationS: info.durationS };
}

const errorOf = (done: Record<string, unknown>) => done.error as { code: string; message: string };
const attempts = (done: Record<string, unknown>) =>
  (done.detail as { pending_info: { attempts: number } }).pending_info.attempts;

describe("runway: both create APIs", () => {
  it("makes a 1080p 8 s Veo 3.1 video from the seed's fields, the channel configured by id, kind, baseUrl, secretEnv and models only", async () => {
    const a = await emulator();
    const s = await app([{ id: "a", kind: "runway", baseUrl: a.url, secretEnv: "SECRET_A", models: [VEO] }]);
    const key = await s.newKey();
    const done = await waitForTask(s, key, await create(s, key));
    expect(done.status, JSON.stringify(done)).toBe("completed");
    const { video, durationS } = await probeUrl(String(done.video_url), "a.mp4");
    expect(video).toMatchObject({ codecName: "h264", width: 1920, height: 1080 });
    expect(Math.round(durationS)).toBe(8);
    // What Runway received: text-to-video, its model id, 1080p landscape as its pixel ratio, 8 s,
    // sound off (not asked), the key as Bearer and the API version on every call.
    expect(inputs(a)).toEqual([
      {
        endpoint: "text_to_video",
        model: "veo3.1",
        promptText: "a paper boat on a canal",
        ratio: "1920:1080",
        duration: 8,
        audio: false,
      },
    ]);
    expect(routes(a)).toEqual(expect.arrayContaining(["create", "task", "download"]));
    for (const r of a.core.requests.filter((x) => x.route !== "download"))
      expect(r.auth).toBe(`Bearer ${SECRET_A}`);
    expect(new Set(a.versions)).toEqual(new Set(["2024-11-06"]));
  });

  it("makes a 720p 5 s gen4.5 video through /v1/videos (size, seconds), with the channel's runwayVersion", async () => {
    const a = await emulator();
    const s = await app([rw("a", a.url, { runwayVersion: "2025-06-01" })]);
    const key = await s.newKey();
    const res = await s.request("/v1/videos", {
      key,
      body: { model: GEN45, prompt: "fog over a harbour", size: "720x1280", seconds: "5" },
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
    expect(Math.round(info.durationS)).toBe(5);
    expect(inputs(a)[0]).toEqual({
      endpoint: "text_to_video",
      model: "gen4.5",
      promptText: "fog over a harbour",
      ratio: "720:1280",
      duration: 5,
    });
    expect(new Set(a.versions)).toEqual(new Set(["2025-06-01"]));
  });

  it("refuses a duration runway-veo3.1 does not make with 400 naming the field and its values; nothing reaches Runway", async () => {
    const a = await emulator();
    const s = await app([rw("a", a.url)]);
    const key = await s.newKey();
    const res = await s.request("/v1/video/create", { key, body: { ...BODY, duration: 5 } });
    expect(res.status).toBe(400);
    const text = JSON.stringify(await res.json());
    expect(text).toContain("duration");
    expect(text).toMatch(/4.*6.*8/);
    expect(a.core.requests).toEqual([]);
  });

  it("fails a gen4-turbo task without a first frame (image-to-video only) before anything is sent", async () => {
    const a = await emulator();
    const s = await app([rw("a", a.url)]);
    const key = await s.newKey();
    const done = await waitForTask(
      s,
      key,
      await create(s, key, { ...BODY, model: "gen4-turbo", size: "small", duration: 5 }),
    );
    expect(done.status).toBe("failed");
    expect(errorOf(done)).toMatchObject({ code: "upstream_rejected" });
    expect(errorOf(done).message).toContain("first_frame");
    expect(a.core.requests).toEqual([]);
  });
});

describe("runway: Runway's errors", () => {
  it("fails over when Runway refuses the key (401), and cools the channel down", async () => {
    const a = await emulator("key_some_other_0123456");
    const b = await emulator(SECRET_B);
    const s = await app([
      rw("a", a.url, { priority: 10, cooldown: { failures: 1, seconds: 60 } }),
      rw("b", b.url, { priority: 5 }),
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

  it("fails over on a daily limit (429) and load shedding (503); the channel cools down after them", async () => {
    const a = await emulator();
    const b = await emulator(SECRET_B);
    const s = await app([
      rw("a", a.url, { priority: 10, cooldown: { failures: 2, seconds: 60 } }),
      rw("b", b.url, { priority: 5 }),
    ]);
    const key = await s.newKey();
    a.core.fault("create", runwayError(429, "You have exceeded your daily task limit."));
    a.core.fault("create", runwayError(503, "Service unavailable"));
    for (let i = 0; i < 2; i++)
      expect((await waitForTask(s, key, await create(s, key))).status).toBe("completed");
    expect(routes(a)).toEqual(["create", "create"]);
    expect(b.core.tasks.size).toBe(2);
    expect((await channelsView(s)).find((c) => c.id === "a")).toMatchObject({
      state: "cooling_down",
      failures: 2,
    });
    expect((await waitForTask(s, key, await create(s, key))).status).toBe("completed");
    expect(routes(a)).toHaveLength(2);
  });

  it("fails a task Runway refuses as invalid (400) with its reason, not sent elsewhere", async () => {
    const a = await emulator();
    const b = await emulator(SECRET_B);
    const s = await app([rw("a", a.url, { priority: 10 }), rw("b", b.url, { priority: 5 })]);
    const key = await s.newKey();
    a.core.fault("create", runwayError(400, "promptText: Too long"));
    const done = await waitForTask(s, key, await create(s, key));
    expect(done.status).toBe("failed");
    expect(errorOf(done)).toMatchObject({ code: "upstream_rejected" });
    expect(errorOf(done).message).toContain("promptText: Too long");
    expect(b.core.requests).toEqual([]);
  });

  it("fails with content_policy when Runway's moderation refuses the input (SAFETY.INPUT.TEXT at once), attempted once", async () => {
    const a = await emulator();
    const b = await emulator(SECRET_B);
    const s = await app([rw("a", a.url, { priority: 10 }), rw("b", b.url, { priority: 5 })]);
    const key = await s.newKey();
    a.core.nextTask({
      outcome: "fail",
      runMs: 0,
      failCode: "SAFETY.INPUT.TEXT",
      failMessage: "The prompt text did not pass content moderation.",
    });
    const done = await waitForTask(s, key, await create(s, key));
    expect(done.status).toBe("failed");
    expect(errorOf(done)).toMatchObject({ code: "content_policy" });
    expect(errorOf(done).message).toContain("content moderation");
    expect(attempts(done)).toBe(1);
    expect(routes(a).filter((r) => r === "create")).toHaveLength(1);
    expect(b.core.requests).toEqual([]);
  });

  it("fails with content_policy when moderation rejects the output while running (SAFETY.OUTPUT.VIDEO), not failed over", async () => {
    const a = await emulator();
    const b = await emulator(SECRET_B);
    const s = await app([rw("a", a.url, { priority: 10 }), rw("b", b.url, { priority: 5 })]);
    const key = await s.newKey();
    a.core.nextTask({
      outcome: "fail",
      runMs: 400,
      failCode: "SAFETY.OUTPUT.VIDEO",
      failMessage: "The output did not pass content moderation.",
    });
    const done = await waitForTask(s, key, await create(s, key));
    expect(done.status).toBe("failed");
    expect(errorOf(done)).toMatchObject({ code: "content_policy" });
    expect(attempts(done)).toBe(1);
    expect(routes(a).filter((r) => r === "create")).toHaveLength(1);
    expect(b.core.requests).toEqual([]);
  });

  it("keeps a task running through status words it does not know", async () => {
    const a = await emulator();
    const s = await app([rw("a", a.url)]);
    const key = await s.newKey();
    a.core.nextTask({ runMs: 1500, runningStatuses: ["RENDERING", undefined, "RUNNING"] });
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
    expect(metrics).toMatch(/reelay_upstream_unknown_status_total\{channel="a",status="RENDERING"\} [1-9]/);
  });

  it("reads the task again for a fresh link when one has expired, and fails clearly when every link is dead", async () => {
    const a = await emulator();
    const s = await app([rw("a", a.url)]);
    const key = await s.newKey();
    a.core.fault("download", {
      kind: "status",
      status: 403,
      contentType: "application/xml",
      body: "<Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>",
    });
    const retried = await waitForTask(s, key, await create(s, key));
    expect(retried.status, JSON.stringify(retried)).toBe("completed");
    expect(routes(a).filter((r) => r === "download").length).toBeGreaterThanOrEqual(2);
    a.linkTtlMs = -1;
    const dead = await waitForTask(s, key, await create(s, key));
    expect(dead.status).toBe("failed");
    expect(errorOf(dead)).toMatchObject({ code: "upstream_bad_content" });
    expect(errorOf(dead).message).toContain("HTTP 403");
    expect(errorOf(dead).message).toContain("expired");
    expect(dead.video_url).toBeNull();
  });
});

describe("runway: cancel and images", () => {
  it("passes a cancel upstream as DELETE /v1/tasks/{id}", async () => {
    const a = await emulator();
    const s = await app([rw("a", a.url)]);
    const key = await s.newKey();
    a.core.nextTask({ outcome: "never" });
    const id = await create(s, key);
    await pollUntil(
      async () => ({ q: await s.query(key, id), seen: routes(a) }),
      ({ q, seen }) => q.status === "processing" && seen.includes("task"),
      { what: `task ${id} running at Runway`, timeoutMs: 10_000, intervalMs: 50 },
    );
    const cancel = await s.request(`/v1/video/cancel?id=${encodeURIComponent(id)}`, { key, method: "POST" });
    expect(cancel.status).toBe(200);
    await pollUntil(
      async () => routes(a),
      (seen) => seen.includes("delete"),
      { what: "the DELETE to reach Runway", timeoutMs: 10_000, intervalMs: 50 },
    );
    const del = a.core.requests.find((r) => r.route === "delete");
    const upstream = [...a.core.tasks.values()][0];
    expect(del?.path).toBe(`/v1/tasks/${upstream?.id}`);
    expect(del?.auth).toBe(`Bearer ${SECRET_A}`);
    expect(upstream?.cancelled).toBe(true);
    expect((await s.query(key, id)).status).toBe("cancelled");
  });

  it("sends an uploaded first frame as a data URI in promptImage on /v1/image_to_video", async () => {
    const a = await emulator();
    const s = await app([rw("a", a.url)]);
    const key = await s.newKey();
    const { ffmpegPath } = await resolveMediaTools({});
    const png = await makePng(ffmpegPath, join(dir, "portrait.png"), "testsrc=size=720x1280");
    const dataUri = `data:image/png;base64,${png.toString("base64")}`;
    const done = await waitForTask(
      s,
      key,
      await create(s, key, {
        model: GEN45,
        prompt: "the figure turns",
        orientation: "portrait",
        size: "small",
        duration: 4,
        seed: 1234,
        images: [dataUri],
      }),
    );
    expect(done.status, JSON.stringify(done)).toBe("completed");
    expect(inputs(a)[0]).toEqual({
      endpoint: "image_to_video",
      model: "gen4.5",
      promptText: "the figure turns",
      promptImage: dataUri,
      ratio: "720:1280",
      duration: 4,
      seed: 1234,
    });
    const { video } = await probeUrl(String(done.video_url), "i2v.mp4");
    expect(video).toMatchObject({ width: 720, height: 1280 });
  });

  it("sends first and last frames by position (an HTTPS link as its URL, an upload or an HTTP link as a data URI), which Runway accepts", async () => {
    const a = await emulator();
    const http = testChannelHttp(running, a.url, SECRET_A, runwayAuthHeaders(SECRET_A));
    const file = join(dir, "first.png");
    await writeFile(file, TINY_PNG);
    const request: VideoRequest = {
      api: "unified",
      model: VEO,
      family: "veo-3.1",
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
      audio: true,
    };
    const images = await startImageServer();
    running.push(images);
    const fetcher = createImageFetcher({
      allowHosts: [images.host],
      maxBytes: 10e6,
      timeoutMs: 5000,
      maxRedirects: 0,
    });
    const provider = createRunwayProvider(http, fetcher);
    const ctx = {
      taskId: "task_x",
      upstreamModel: "veo3.1",
      imageFiles: [file],
      workDir: dir,
      signal: new AbortController().signal,
    };
    const { upstreamId } = await provider.submit(request, ctx);
    // A link Runway cannot fetch itself (plain HTTP, an IP address) is fetched here, guarded, and
    // sent as a data URI; Runway never sees the link.
    const second = await provider.submit({ ...request, images: [`${images.url}/b.png`] }, ctx);
    const sent = a.core.tasks.get(second.upstreamId)?.input.promptImage as {
      uri: string;
      position: string;
    }[];
    expect(sent[1]?.position).toBe("last");
    expect(sent[1]?.uri).toMatch(/^data:image\/png;base64,/);
    expect(images.hits.get("/b.png")).toBe(1);
    expect(a.core.tasks.get(upstreamId)?.input).toEqual({
      endpoint: "image_to_video",
      model: "veo3.1",
      promptText: "a door opens",
      promptImage: [
        { uri: `data:image/png;base64,${TINY_PNG.toString("base64")}`, position: "first" },
        { uri: "https://images.example/last.jpg", position: "last" },
      ],
      ratio: "1280:720",
      duration: 6,
      audio: true,
    });
  });
});
