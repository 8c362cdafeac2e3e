/**
 * The `openrouter` channel kind against an emulated OpenRouter video API (test/emulators/openrouter.ts):
 * both create APIs end to end with the MP4 read back, what reaches OpenRouter (model slug, aspect
 * ratio, resolution, duration, Bearer key), durations refused before anything is sent, OpenRouter's
 * error envelope as failover (401, 402, 429), refusal (400) or content policy (403 at create, a
 * moderation failure while running), unknown status words, expired result links, cancel (none
 * upstream), and first/last frames in `frame_images`.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type OpenRouterEmulator, openrouterError, startOpenRouter } from "../emulators/openrouter.js";
import { waitForTask } from "../helpers/app.js";
import { type ChannelApp, channel, secretEnv, startWithChannels } from "../helpers/channels.js";
import { ffprobe } from "../helpers/ffprobe.js";
import { type ImageServer, startImageServer } from "../helpers/image-server.js";
import { dataUrl, TINY_PNG } from "../helpers/images.js";
import { channelsView, closedAfterEach } from "../helpers/provider-e2e.js";
import { pollUntil, sleep } from "../helpers/wait.js";

const SECRET_A = "sk-or-v1-secret-a-0123456789";
const SECRET_B = "sk-or-v1-secret-b-0123456789";
const MODEL = "openrouter-veo-3.1";

const running = closedAfterEach();

let dir: string;
let images: ImageServer;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "reelay-openrouter-e2e-"));
  images = await startImageServer();
});
afterAll(async () => {
  await images.close();
  await rm(dir, { recursive: true, force: true });
});

async function emulator(secret = SECRET_A): Promise<OpenRouterEmulator> {
  const e = await startOpenRouter({ secret });
  e.core.defaultBehaviour = { runMs: 400 };
  running.push(e);
  return e;
}

/** Reelay with these channels only (no local channel). */
async function app(channels: object[]): Promise<ChannelApp> {
  const s = await startWithChannels(
    { channels },
    // The image server is on loopback: allowed as an image host for the link test.
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

/** A fast-polling openrouter channel serving openrouter-veo-3.1. */
const or = (id: string, url: string, extra: Record<string, unknown> = {}) =>
  channel(id, "openrouter", url, { models: [MODEL], ...extra });

const BODY = {
  model: MODEL,
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

const routes = (e: OpenRouterEmulator) => e.core.requests.map((r) => r.route);
const inputs = (e: OpenRouterEmulator) => [...e.core.tasks.values()].map((t) => t.input);

async function probeUrl(url: string, name: string) {
  const file = join(dir, name);
  await writeFile(file, Buffer.from(await (await fetch(url)).arrayBuffer()));
  const info = await ffprobe(file);
  return { video: info.streams.find((x) => x.codecType === "video"), durationS: info.durationS };
}

const messageOf = (t: Record<string, unknown>) => String((t.error as { message: string }).message);
const attemptsOf = (t: Record<string, unknown>) =>
  (t.detail as { pending_info: { attempts: number } }).pending_info.attempts;

describe("openrouter: both create APIs", () => {
  it("makes a 1080p 8 s video from the seed's fields, with the channel configured by id, kind, baseUrl, secretEnv and models only", async () => {
    const a = await emulator();
    const s = await app([
      { id: "a", kind: "openrouter", baseUrl: a.url, secretEnv: "SECRET_A", models: [MODEL] },
    ]);
    const key = await s.newKey();
    const id = await create(s, key);
    const done = await waitForTask(s, key, id);
    expect(done.status, JSON.stringify(done)).toBe("completed");
    const { video, durationS } = await probeUrl(String(done.video_url), "a.mp4");
    expect(video).toMatchObject({ codecName: "h264", width: 1920, height: 1080 });
    expect(Math.round(durationS)).toBe(8);
    // What OpenRouter received: the model slug, 16:9, 1080p, 8 s, the prompt; nothing else.
    expect(inputs(a)).toEqual([
      {
        model: "google/veo-3.1",
        prompt: "a paper boat on a canal",
        duration: 8,
        resolution: "1080p",
        aspect_ratio: "16:9",
      },
    ]);
    expect(routes(a)).toEqual(expect.arrayContaining(["create", "poll", "content"]));
    for (const r of a.core.requests) expect(r.auth).toBe(`Bearer ${SECRET_A}`);
  });

  it("makes a portrait 720p 4 s video through /v1/videos (size, seconds)", async () => {
    const a = await emulator();
    const s = await app([or("a", a.url)]);
    const key = await s.newKey();
    const res = await s.request("/v1/videos", {
      key,
      body: { model: MODEL, prompt: "fog over a harbour", size: "720x1280", seconds: "4" },
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
    expect(Math.round(info.durationS)).toBe(4);
    expect(inputs(a)[0]).toMatchObject({
      model: "google/veo-3.1",
      duration: 4,
      resolution: "720p",
      aspect_ratio: "9:16",
    });
  });

  it("refuses a duration the model does not make with 400 naming the field and its values; nothing reaches OpenRouter", async () => {
    const a = await emulator();
    const s = await app([or("a", a.url)]);
    const key = await s.newKey();
    const res = await s.request("/v1/video/create", { key, body: { ...BODY, duration: 5 } });
    expect(res.status).toBe(400);
    const body = (await res.json()) as { error: { message: string; param: string | null } };
    expect(body.error.param).toBe("duration");
    expect(body.error.message).toContain("4, 6, 8");
    expect(a.core.requests).toEqual([]);
  });

  it("sends seed and generate_audio as asked", async () => {
    const a = await emulator();
    const s = await app([or("a", a.url)]);
    const key = await s.newKey();
    const done = await waitForTask(s, key, await create(s, key, { ...BODY, seed: 42, audio: false }));
    expect(done.status, JSON.stringify(done)).toBe("completed");
    expect(inputs(a)[0]).toMatchObject({ seed: 42, generate_audio: false });
  });
});

describe("openrouter: OpenRouter's errors", () => {
  async function pair(opts: { keyA?: string; failures?: number } = {}) {
    const a = await emulator(opts.keyA ?? SECRET_A);
    const b = await emulator(SECRET_B);
    const s = await app([
      or("a", a.url, { priority: 10, cooldown: { failures: opts.failures ?? 1, seconds: 60 } }),
      or("b", b.url, { priority: 5 }),
    ]);
    return { a, b, s, key: await s.newKey() };
  }

  it("fails over when OpenRouter refuses the key (401), and cools the channel down", async () => {
    const { a, b, s, key } = await pair({ keyA: "sk-or-v1-some-other-key-0123" });
    const done = await waitForTask(s, key, await create(s, key));
    expect(done.status, JSON.stringify(done)).toBe("completed");
    expect(routes(a)).toEqual(["create"]);
    expect(routes(b)).toContain("content");
    expect((await channelsView(s)).find((c) => c.id === "a")).toMatchObject({
      state: "cooling_down",
      failures: 1,
    });
  });

  it("fails over on insufficient credits (402) and rate limit (429); the channel cools down after them", async () => {
    const { a, b, s, key } = await pair({ failures: 2 });
    a.core.fault(
      "create",
      openrouterError(402, "Insufficient credits. Add more using https://openrouter.ai/credits"),
    );
    a.core.fault("create", openrouterError(429, "Rate limit exceeded"));
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

  it("fails a task OpenRouter refuses as invalid (400) with its reason, not sent elsewhere", async () => {
    const { a, b, s, key } = await pair();
    a.core.fault("create", openrouterError(400, "prompt: String must contain at most 2000 character(s)"));
    const done = await waitForTask(s, key, await create(s, key));
    expect(done.status).toBe("failed");
    expect(done.error).toMatchObject({ code: "upstream_rejected" });
    expect(messageOf(done)).toContain("400");
    expect(messageOf(done)).toContain("prompt: String must contain at most 2000 character(s)");
    expect(routes(a)).toEqual(["create"]);
    expect(b.core.requests).toEqual([]);
  });

  it("fails with content_policy when OpenRouter's moderation flags the input (403) at create, attempted once, not failed over", async () => {
    const { a, b, s, key } = await pair();
    a.core.fault(
      "create",
      openrouterError(403, "Input flagged by moderation", {
        reasons: ["violence"],
        flagged_input: "a paper boat…",
        provider_name: "Google",
        model_slug: "google/veo-3.1",
      }),
    );
    const done = await waitForTask(s, key, await create(s, key));
    expect(done.status).toBe("failed");
    expect(done.error).toMatchObject({ code: "content_policy" });
    expect(messageOf(done)).toContain("violence");
    expect(attemptsOf(done)).toBe(1);
    expect(routes(a)).toEqual(["create"]);
    expect(b.core.requests).toEqual([]);
  });

  it("fails with content_policy when the job fails on moderation while running, not failed over", async () => {
    const { a, b, s, key } = await pair();
    a.core.nextTask({
      outcome: "fail",
      runMs: 300,
      failMessage: "The provider's content moderation flagged the generated video",
    });
    const done = await waitForTask(s, key, await create(s, key));
    expect(done.status).toBe("failed");
    expect(done.error).toMatchObject({ code: "content_policy" });
    expect(messageOf(done)).toContain("content moderation");
    expect(attemptsOf(done)).toBe(1);
    expect(routes(a).filter((r) => r === "create")).toHaveLength(1);
    expect(b.core.requests).toEqual([]);
  });

  it("keeps a task running through status words it does not know", async () => {
    const a = await emulator();
    const s = await app([or("a", a.url)]);
    const key = await s.newKey();
    a.core.nextTask({ runMs: 1500, runningStatuses: ["rendering", undefined, "in_progress"] });
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

  it("falls back to the signed link when the content proxy fails once, and fails clearly when every result link has expired", async () => {
    const a = await emulator();
    const s = await app([or("a", a.url)]);
    const key = await s.newKey();
    a.core.fault("content", openrouterError(502, "Upstream storage unavailable"));
    const retried = await waitForTask(s, key, await create(s, key));
    expect(retried.status, JSON.stringify(retried)).toBe("completed");
    expect(routes(a)).toContain("storage");
    // Results expire at once (TTL below zero): the proxy answers 404, the signed link 403.
    a.resultTtlMs = -1;
    const dead = await waitForTask(s, key, await create(s, key));
    expect(dead.status).toBe("failed");
    expect(dead.error).toMatchObject({ code: "upstream_bad_content" });
    expect(messageOf(dead)).toMatch(/HTTP 40[34]/);
    expect(messageOf(dead).toLowerCase()).toContain("expired");
    expect(dead.video_url).toBeNull();
  });
});

describe("openrouter: cancel and images", () => {
  it("cancels in Reelay only: OpenRouter has no cancel, so nothing but creates and polls reach it", async () => {
    const a = await emulator();
    const s = await app([or("a", a.url)]);
    const key = await s.newKey();
    a.core.nextTask({ outcome: "never" });
    const id = await create(s, key);
    await pollUntil(
      async () => ({ q: await s.query(key, id), seen: routes(a) }),
      ({ q, seen }) => q.status === "processing" && seen.includes("poll"),
      { what: `task ${id} running at OpenRouter`, timeoutMs: 10_000, intervalMs: 50 },
    );
    const cancel = await s.request(`/v1/video/cancel?id=${encodeURIComponent(id)}`, { key, method: "POST" });
    expect(cancel.status).toBe(200);
    await sleep(800);
    expect((await s.query(key, id)).status).toBe("cancelled");
    expect(routes(a).filter((r) => r === "create")).toHaveLength(1);
    expect(routes(a).every((r) => r === "create" || r === "poll")).toBe(true);
  });

  it("sends a first frame (a link, as its URL) and a last frame (an upload, as a data URL) in frame_images", async () => {
    const a = await emulator();
    const s = await app([or("a", a.url)]);
    const key = await s.newKey();
    const link = `${images.url}/a.png`;
    const id = await create(s, key, {
      ...BODY,
      size: "small",
      images: [link],
      last_frame: dataUrl(TINY_PNG),
    });
    const done = await waitForTask(s, key, id);
    expect(done.status, JSON.stringify(done)).toBe("completed");
    const input = inputs(a)[0] ?? {};
    expect(input.frame_images).toEqual([
      { type: "image_url", image_url: { url: link }, frame_type: "first_frame" },
      {
        type: "image_url",
        image_url: { url: `data:image/png;base64,${TINY_PNG.toString("base64")}` },
        frame_type: "last_frame",
      },
    ]);
    expect(input).not.toHaveProperty("input_references");
    expect(input).toMatchObject({ model: "google/veo-3.1", resolution: "720p", aspect_ratio: "16:9" });
  });

  it("serves openrouter-sora-2-pro: a portrait 720p 4 s video from a first frame, sent as openai/sora-2-pro", async () => {
    const a = await emulator();
    const s = await app([channel("a", "openrouter", a.url, { models: ["openrouter-sora-2-pro"] })]);
    const key = await s.newKey();
    const id = await create(s, key, {
      model: "openrouter-sora-2-pro",
      prompt: "a lighthouse at dusk",
      orientation: "portrait",
      size: "small",
      duration: 4,
      images: [dataUrl(TINY_PNG)],
    });
    const done = await waitForTask(s, key, id);
    expect(done.status, JSON.stringify(done)).toBe("completed");
    expect(inputs(a)[0]).toEqual({
      model: "openai/sora-2-pro",
      prompt: "a lighthouse at dusk",
      duration: 4,
      resolution: "720p",
      aspect_ratio: "9:16",
      frame_images: [
        {
          type: "image_url",
          image_url: { url: `data:image/png;base64,${TINY_PNG.toString("base64")}` },
          frame_type: "first_frame",
        },
      ],
    });
    const { video, durationS } = await probeUrl(String(done.video_url), "sora.mp4");
    expect(video).toMatchObject({ width: 720, height: 1280 });
    expect(Math.round(durationS)).toBe(4);
  });
});
