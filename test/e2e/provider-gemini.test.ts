/**
 * Veo on the Gemini API (channel kind `gemini`) against its emulator: the seed's fields mapped to
 * predictLongRunning's, the key in `x-goog-api-key`, the operation followed to a real MP4, and
 * Google's refusals sorted into the channel's faults (fail over, cool down), the request's
 * (fail, once) and moderation (content_policy, never elsewhere).
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type GeminiEmulator, geminiFault, MODERATION_MESSAGE, startGemini } from "../emulators/gemini.js";
import { waitForTask } from "../helpers/app.js";
import type { ChannelApp } from "../helpers/channels.js";
import { secretEnv, startWithChannels } from "../helpers/channels.js";
import { ffprobe } from "../helpers/ffprobe.js";
import { type ImageServer, startImageServer } from "../helpers/image-server.js";
import { dataUrl, TINY_PNG } from "../helpers/images.js";
import { closedAfterEach } from "../helpers/provider-e2e.js";
import { pollUntil } from "../helpers/wait.js";

const SECRET_A = "gemini-key-a-0123456789";
const SECRET_B = "gemini-key-b-0123456789";

let images: ImageServer;
let scratch: string;
beforeAll(async () => {
  images = await startImageServer();
  scratch = await mkdtemp(join(tmpdir(), "reelay-gemini-"));
});
afterAll(async () => {
  await images.close();
  await rm(scratch, { recursive: true, force: true });
});

const running = closedAfterEach();

/** A gemini channel exactly as the README shows it (plus a general channel field, when given). */
const geminiChannel = (id: string, baseUrl: string, extra: Record<string, unknown> = {}) => ({
  id,
  kind: "gemini",
  baseUrl,
  secretEnv: `SECRET_${id.toUpperCase()}`,
  models: ["veo-3.1", "veo-3.1-fast"],
  ...extra,
});

async function emulator(): Promise<GeminiEmulator> {
  const e = await startGemini({ secret: SECRET_A });
  e.core.defaultBehaviour = { runMs: 600, outcome: "complete" };
  running.push(e);
  return e;
}

async function app(channels: object[], env: Record<string, string> = {}): Promise<ChannelApp> {
  // The local renderer serves the built-in models no gemini channel makes (Reelay refuses a
  // config that leaves a model of its table unserved).
  const s = await startWithChannels(
    { channels: [...channels, { id: "local", kind: "local" }] },
    {
      env: {
        ...secretEnv("a", SECRET_A),
        ...secretEnv("b", SECRET_A),
        REELAY_IMAGE_ALLOW_HOSTS: images.host,
        ...env,
      },
    },
  );
  running.push(s);
  return s;
}

const BODY = {
  model: "veo-3.1",
  prompt: "a lighthouse at dusk",
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

const routes = (e: GeminiEmulator) => e.core.requests.map((r) => r.route);

async function probe(url: string, name: string) {
  const file = join(scratch, name);
  await writeFile(file, Buffer.from(await (await fetch(url)).arrayBuffer()));
  return ffprobe(file);
}

describe("gemini channel: Veo on the Gemini API", () => {
  it("makes a 1080p landscape 8 s video from the seed's fields, mapped and keyed as the API wants", async () => {
    const a = await emulator();
    const s = await app([geminiChannel("a", a.url)]);
    const key = await s.newKey();
    const id = await create(s, key);
    const done = await waitForTask(s, key, id);
    expect(done.status, JSON.stringify(done)).toBe("completed");
    const info = await probe(String(done.video_url), "a.mp4");
    expect(info.streams.find((x) => x.codecType === "video")).toMatchObject({ width: 1920, height: 1080 });
    expect(info.durationS).toBeGreaterThan(7.5);
    expect(info.durationS).toBeLessThan(8.5);
    expect(a.creates).toHaveLength(1);
    expect(a.creates[0]).toMatchObject({
      model: "veo-3.1-generate-preview",
      body: {
        instances: [{ prompt: "a lighthouse at dusk" }],
        parameters: { aspectRatio: "16:9", resolution: "1080p", durationSeconds: 8 },
      },
    });
    // Every call (create, polls, the file download) carried the key in its header.
    expect(routes(a)).toEqual(expect.arrayContaining(["create", "query", "content"]));
    expect(a.core.requests.every((r) => r.auth === `x-goog-api-key ${SECRET_A}`)).toBe(true);
  });

  it("serves the OpenAI Videos API too: size and seconds become aspect ratio, resolution and duration", async () => {
    const a = await emulator();
    const s = await app([geminiChannel("a", a.url)]);
    const key = await s.newKey();
    const res = await s.request("/v1/videos", {
      key,
      body: { model: "veo-3.1-fast", prompt: "a kite", size: "720x1280", seconds: "4" },
    });
    expect(res.status).toBe(200);
    const { id } = (await res.json()) as { id: string };
    expect((await waitForTask(s, key, id)).status).toBe("completed");
    const content = await s.request(`/v1/videos/${encodeURIComponent(id)}/content`, { key });
    expect(content.status).toBe(200);
    const file = join(scratch, "b.mp4");
    await writeFile(file, Buffer.from(await content.arrayBuffer()));
    const info = await ffprobe(file);
    expect(info.streams.find((x) => x.codecType === "video")).toMatchObject({ width: 720, height: 1280 });
    expect(Math.round(info.durationS)).toBe(4);
    expect(a.creates[0]).toMatchObject({
      model: "veo-3.1-fast-generate-preview",
      body: { parameters: { aspectRatio: "9:16", resolution: "720p", durationSeconds: 4 } },
    });
  });

  it("refuses a duration Veo does not make with a 400 naming duration, before anything reaches the API", async () => {
    const a = await emulator();
    const s = await app([geminiChannel("a", a.url)]);
    const key = await s.newKey();
    const res = await s.request("/v1/video/create", { key, body: { ...BODY, duration: 5 } });
    expect(res.status).toBe(400);
    const body = (await res.json()) as { error: { message: string; param: string | null } };
    expect(body.error.param).toBe("duration");
    expect(body.error.message).toContain("4, 6, 8");
    expect(a.core.requests).toHaveLength(0);
  });

  it("sends a first frame (a link, fetched by Reelay) and a last frame (an upload) as base64 image and lastFrame", async () => {
    const a = await emulator();
    const s = await app([geminiChannel("a", a.url)]);
    const key = await s.newKey();
    const id = await create(s, key, {
      ...BODY,
      size: "small",
      images: [`${images.url}/a.png`],
      last_frame: dataUrl(TINY_PNG),
    });
    expect((await waitForTask(s, key, id)).status).toBe("completed");
    const served = Buffer.from(await (await fetch(`${images.url}/a.png`)).arrayBuffer());
    const instance = ((a.creates[0]?.body.instances ?? []) as Record<string, unknown>[])[0];
    expect(instance).toMatchObject({
      image: { mimeType: "image/png", bytesBase64Encoded: served.toString("base64") },
      lastFrame: { mimeType: "image/png", bytesBase64Encoded: TINY_PNG.toString("base64") },
    });
    expect(instance).not.toHaveProperty("referenceImages");
    expect(a.creates[0]?.body.parameters).toMatchObject({ resolution: "720p", durationSeconds: 8 });
  });
});

describe("gemini channel: Google's refusals", () => {
  /** Channels a (priority) and b, each on its own emulator; a's key may be a wrong one. */
  async function pair(opts: { coolOnFirst?: boolean; keyA?: string } = {}) {
    const a = await emulator();
    const b = await startGemini({ secret: SECRET_B });
    b.core.defaultBehaviour = { runMs: 600, outcome: "complete" };
    running.push(b);
    const s = await app(
      [
        geminiChannel("a", a.url, {
          priority: 10,
          ...(opts.coolOnFirst === false ? {} : { cooldown: { failures: 1, seconds: 60 } }),
        }),
        geminiChannel("b", b.url, { priority: 5 }),
      ],
      { ...secretEnv("a", opts.keyA ?? SECRET_A), ...secretEnv("b", SECRET_B) },
    );
    return { a, b, s, key: await s.newKey() };
  }

  const channelState = async (s: ChannelApp, id: string) =>
    (
      (await (await s.request("/admin/channels", { key: s.adminToken })).json()) as {
        data: { id: string; state: string; failures: number }[];
      }
    ).data.find((c) => c.id === id);

  it("fails over when the key is refused (400 API_KEY_INVALID), and cools the channel down", async () => {
    const { a, b, s, key } = await pair({ keyA: "not-the-key" });
    expect((await waitForTask(s, key, await create(s, key))).status).toBe("completed");
    expect(routes(a)).toEqual(["create"]);
    expect(b.creates).toHaveLength(1);
    expect(await channelState(s, "a")).toMatchObject({ state: "cooling_down", failures: 1 });
  });

  for (const kind of ["quota", "overloaded"] as const) {
    it(`fails over on ${kind} at submit (${kind === "quota" ? "429 RESOURCE_EXHAUSTED" : "503 UNAVAILABLE"}) and cools the channel down`, async () => {
      const { a, b, s, key } = await pair();
      a.core.fault("create", geminiFault(kind));
      expect((await waitForTask(s, key, await create(s, key))).status).toBe("completed");
      expect(routes(a)).toEqual(["create"]);
      expect(b.creates).toHaveLength(1);
      expect(await channelState(s, "a")).toMatchObject({ state: "cooling_down" });
    });
  }

  it("fails the task with Google's reason on an invalid argument, without failing over", async () => {
    const { a, b, s, key } = await pair();
    a.core.fault("create", geminiFault("invalid"));
    const done = await waitForTask(s, key, await create(s, key));
    expect(done.status).toBe("failed");
    expect(done.error).toMatchObject({ code: "upstream_rejected" });
    const message = String((done.error as { message: string }).message);
    expect(message).toContain("INVALID_ARGUMENT");
    expect(message).toContain("Request contains an invalid argument.");
    expect(routes(b)).toEqual([]);
    expect(await channelState(s, "a")).toMatchObject({ state: "healthy" });
  });

  it("fails with Google's own words when a documented rule is broken (1080p only at 8 s), without failing over", async () => {
    const { a, b, s, key } = await pair();
    const done = await waitForTask(s, key, await create(s, key, { ...BODY, duration: 4 }));
    expect(done.status).toBe("failed");
    expect(done.error).toMatchObject({ code: "upstream_rejected" });
    expect(String((done.error as { message: string }).message)).toContain(
      "1080p is only supported for 8 second videos",
    );
    expect(a.creates[0]?.body.parameters).toMatchObject({ resolution: "1080p", durationSeconds: 4 });
    expect(routes(b)).toEqual([]);
  });

  it("fails with content_policy when the prompt is refused at submit, tried once and nowhere else", async () => {
    const { a, b, s, key } = await pair();
    a.core.fault("create", geminiFault("moderation"));
    const done = await waitForTask(s, key, await create(s, key));
    expect(done.status).toBe("failed");
    expect(done.error).toMatchObject({ code: "content_policy" });
    expect(String((done.error as { message: string }).message)).toContain("Responsible AI");
    expect(MODERATION_MESSAGE).toContain("Responsible AI");
    expect(routes(a)).toEqual(["create"]);
    expect(routes(b)).toEqual([]);
  });

  it("fails with content_policy when the filters keep the video back (raiMediaFilteredCount), not retried", async () => {
    const { a, b, s, key } = await pair();
    a.core.nextTask({ outcome: "fail", runMs: 300, failCode: "RAI_MEDIA_FILTERED" });
    const done = await waitForTask(s, key, await create(s, key));
    expect(done.status).toBe("failed");
    expect(done.error).toMatchObject({ code: "content_policy" });
    expect(String((done.error as { message: string }).message)).toContain("Responsible AI");
    expect(routes(a).filter((r) => r === "create")).toHaveLength(1);
    expect(routes(b)).toEqual([]);
  });

  it("rides out Google's 503 and 429 while polling (the task stays on its channel and completes)", async () => {
    const { a, b, s, key } = await pair({ coolOnFirst: false });
    a.core.fault("query", geminiFault("overloaded"));
    a.core.fault("query", geminiFault("quota", 1));
    expect((await waitForTask(s, key, await create(s, key))).status).toBe("completed");
    expect(routes(a).filter((r) => r === "query").length).toBeGreaterThanOrEqual(3);
    expect(routes(b)).toEqual([]);
  });

  it("keeps a task running while the operation says something it does not know, then completes it", async () => {
    const { a, s, key } = await pair({ coolOnFirst: false });
    a.core.nextTask({ runMs: 6000, runningStatuses: ["PROCESSING"] });
    const id = await create(s, key);
    await pollUntil(
      async () => ({ q: await s.query(key, id), polls: [...a.core.tasks.values()][0]?.polls ?? 0 }),
      (x) => x.polls >= 1 && x.q.status === "processing",
      { what: "an odd operation polled and the task still processing", timeoutMs: 20_000, intervalMs: 100 },
    );
    expect((await waitForTask(s, key, id)).status).toBe("completed");
  });

  it("fails with a clear reason when the video file is gone upstream (expired), without endless retries", async () => {
    const { a, b, s, key } = await pair({ coolOnFirst: false });
    a.setFileTtl(0);
    b.setFileTtl(0);
    const done = await waitForTask(s, key, await create(s, key));
    expect(done.status).toBe("failed");
    const message = String((done.error as { message: string }).message);
    expect(message).toContain("gone upstream");
    expect(message).toContain("404");
    // One download per channel: the gone file is not retried, the task fails over once, then ends.
    expect(routes(a).filter((r) => r === "content")).toHaveLength(1);
    expect(routes(b).filter((r) => r === "content")).toHaveLength(1);
  });

  it("cancels locally: the API has no cancel for Veo operations, so nothing is sent upstream", async () => {
    const { a, s, key } = await pair({ coolOnFirst: false });
    a.core.nextTask({ outcome: "never" });
    const id = await create(s, key);
    await pollUntil(
      () => s.query(key, id),
      (q) => q.status === "processing" || q.status === "pending",
      { what: "task queued or running", timeoutMs: 10_000, intervalMs: 50 },
    );
    const res = await s.request(`/v1/video/cancel?id=${encodeURIComponent(id)}`, { key, method: "POST" });
    expect(res.status).toBe(200);
    expect((await s.query(key, id)).status).toBe("cancelled");
    expect(routes(a)).not.toContain("cancel");
  });
});
