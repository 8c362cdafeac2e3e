/**
 * xAI channels (Grok Imagine video) against the xAI emulator: the create body xAI documents
 * (model id, aspect_ratio, resolution, duration, image / reference_images), both create APIs, the
 * duration check before anything is sent, failover on the channel's faults (credential, credits,
 * rate limit) with cool-down, the request's faults passed through (invalid argument, moderation
 * at submit and a moderated video), unknown status words, expiring result links, and cancel (xAI
 * has none: nothing is sent upstream).
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  CODES,
  MODERATED_VIDEO,
  startXai,
  type XaiEmulator,
  xaiErrorBody,
  xaiFaults,
} from "../emulators/xai.js";
import { waitForTask } from "../helpers/app.js";
import { type ChannelApp, channel, secretEnv, startWithChannels } from "../helpers/channels.js";
import { ffprobe } from "../helpers/ffprobe.js";
import { startImageServer } from "../helpers/image-server.js";
import { dataUrl } from "../helpers/images.js";
import { closedAfterEach } from "../helpers/provider-e2e.js";
import { pollUntil } from "../helpers/wait.js";

const SECRET_A = "xai-key-a-0123456789";
const SECRET_B = "xai-key-b-0123456789";
const MODEL = "grok-imagine-video";

const running = closedAfterEach();

async function emulator(secret = SECRET_A): Promise<XaiEmulator> {
  const e = await startXai({ secret });
  e.core.defaultBehaviour = { runMs: 600 };
  running.push(e);
  return e;
}

async function app(channels: object[], env: Record<string, string> = {}): Promise<ChannelApp> {
  const s = await startWithChannels(
    { channels },
    { env: { ...secretEnv("a", SECRET_A), ...secretEnv("b", SECRET_B), ...env } },
  );
  running.push(s);
  return s;
}

/** A fast-polling xAI channel serving the built-in model. */
const fast = (id: string, url: string, extra: Record<string, unknown> = {}) =>
  channel(id, "xai", url, { models: [MODEL], ...extra });

async function create(s: ChannelApp, key: string, body: object = {}): Promise<string> {
  const res = await s.request("/v1/video/create", {
    key,
    body: {
      model: MODEL,
      prompt: "a paper boat on a rain puddle",
      orientation: "landscape",
      size: "small",
      duration: 6,
      ...body,
    },
  });
  const json = (await res.json()) as { id: string };
  expect(res.status, JSON.stringify(json)).toBe(200);
  return json.id;
}

const creates = (e: XaiEmulator) => e.core.requests.filter((r) => r.route === "create").length;

async function probe(url: string): Promise<Awaited<ReturnType<typeof ffprobe>>> {
  const dir = await mkdtemp(join(tmpdir(), "reelay-xai-"));
  try {
    const file = join(dir, "v.mp4");
    await writeFile(file, Buffer.from(await (await fetch(url)).arrayBuffer()));
    return await ffprobe(file);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

describe("xAI channel: what is sent and what comes back", () => {
  it("makes a landscape 720p task from the seed fields with a channel configured by its documented fields only", async () => {
    const a = await emulator();
    const s = await app([{ id: "a", kind: "xai", baseUrl: a.url, secretEnv: "SECRET_A", models: [MODEL] }]);
    const key = await s.newKey();
    const id = await create(s, key);
    const done = await waitForTask(s, key, id);
    expect(done.status, JSON.stringify(done)).toBe("completed");
    const info = await probe(String(done.video_url));
    expect(info.streams.find((x) => x.codecType === "video")).toMatchObject({ width: 1280, height: 720 });
    expect(info.durationS).toBeGreaterThan(5.5);
    expect(info.durationS).toBeLessThan(6.5);
    expect(a.bodies).toHaveLength(1);
    expect(a.bodies[0]).toEqual({
      model: "grok-imagine-video",
      prompt: "a paper boat on a rain puddle",
      duration: 6,
      aspect_ratio: "16:9",
      resolution: "720p",
    });
    const log = a.core.requests.filter((r) => r.route !== "content");
    expect(log.every((r) => r.auth === `Bearer ${SECRET_A}`)).toBe(true);
    expect(log[0]).toMatchObject({ method: "POST", path: "/v1/videos/generations" });
    const upstreamId = [...a.core.tasks.keys()][0] ?? "";
    expect(log.some((r) => r.method === "GET" && r.path === `/v1/videos/${upstreamId}`)).toBe(true);
    // xAI reports the video's length: kept as the task's usage.
    expect(done.usage).toEqual({ seconds: 6 });
  });

  it("makes a task through POST /v1/videos from size and seconds", async () => {
    const a = await emulator();
    const s = await app([fast("a", a.url)]);
    const key = await s.newKey();
    const res = await s.request("/v1/videos", {
      key,
      body: { model: MODEL, prompt: "a lantern festival", size: "720x1280", seconds: "4" },
    });
    const { id } = (await res.json()) as { id: string };
    expect(res.status).toBe(200);
    const done = await waitForTask(s, key, id);
    expect(done.status, JSON.stringify(done)).toBe("completed");
    expect(a.bodies[0]).toEqual({
      model: "grok-imagine-video",
      prompt: "a lantern festival",
      aspect_ratio: "9:16",
      resolution: "720p",
      duration: 4,
    });
    const info = await probe(String(done.video_url));
    expect(info.streams.find((x) => x.codecType === "video")).toMatchObject({ width: 720, height: 1280 });
    expect(Math.round(info.durationS)).toBe(4);
  });

  it("refuses a duration the model does not make before anything reaches xAI", async () => {
    const a = await emulator();
    const s = await app([fast("a", a.url)]);
    const key = await s.newKey();
    const res = await s.request("/v1/video/create", {
      key,
      body: { model: MODEL, prompt: "too long", orientation: "landscape", size: "small", duration: 20 },
    });
    expect(res.status).toBe(400);
    const text = await res.text();
    expect(text).toContain("duration");
    for (const d of [1, 6, 15]) expect(text).toContain(String(d));
    expect(a.core.requests).toHaveLength(0);
  });

  it("sends a first frame as image.url: a link as it is, an upload as a data URI; a last frame is refused", async () => {
    const images = await startImageServer();
    running.push(images);
    const a = await emulator();
    const s = await app([fast("a", a.url)], { REELAY_IMAGE_ALLOW_HOSTS: images.host });
    const key = await s.newKey();
    const link = `${images.url}/a.png`;
    expect((await waitForTask(s, key, await create(s, key, { images: [link] }))).status).toBe("completed");
    expect(a.bodies[0]).toMatchObject({ model: "grok-imagine-video", image: { url: link } });
    const png = Buffer.from(await (await fetch(link)).arrayBuffer());
    expect((await waitForTask(s, key, await create(s, key, { images: [dataUrl(png)] }))).status).toBe(
      "completed",
    );
    expect(a.bodies[1]?.image).toEqual({ url: `data:image/png;base64,${png.toString("base64")}` });
    // Grok Imagine takes no last frame: refused before anything is sent.
    const res = await s.request("/v1/video/create", {
      key,
      body: {
        model: MODEL,
        prompt: "x",
        orientation: "landscape",
        size: "small",
        duration: 6,
        images: [link],
        last_frame: link,
      },
    });
    expect(res.status).toBe(400);
    expect(await res.text()).toContain("last_frame");
    expect(creates(a)).toBe(2);
  });

  it("sends reference images as reference_images [{url}]", async () => {
    const images = await startImageServer();
    running.push(images);
    const a = await emulator();
    const s = await app([fast("a", a.url)], { REELAY_IMAGE_ALLOW_HOSTS: images.host });
    const key = await s.newKey();
    const refs = [`${images.url}/a.png`, `${images.url}/b.png`];
    const done = await waitForTask(s, key, await create(s, key, { reference_images: refs }));
    expect(done.status, JSON.stringify(done)).toBe("completed");
    expect(a.bodies[0]).toMatchObject({ reference_images: refs.map((url) => ({ url })) });
    expect(a.bodies[0]?.image).toBeUndefined();
  });
});

describe("xAI channel: faults", () => {
  const channelsView = async (s: ChannelApp) =>
    (
      (await (await s.request("/admin/channels", { key: s.adminToken })).json()) as {
        data: { id: string; state: string }[];
      }
    ).data;

  for (const fault of ["incorrect key", "no credits", "rate limit", "no header"] as const) {
    it(`fails over on ${fault} at submit and cools the refusing channel down`, async () => {
      // A refused credential: xAI holds another key than the channel's.
      const a = await emulator(fault === "incorrect key" ? "xai-key-rotated-0123" : SECRET_A);
      const b = await emulator(SECRET_B);
      const s = await app([
        fast("a", a.url, { priority: 10, cooldown: { failures: 1, seconds: 60 } }),
        fast("b", b.url, { priority: 5 }),
      ]);
      const key = await s.newKey();
      if (fault === "no credits") a.core.fault("create", xaiFaults.noCredits());
      if (fault === "rate limit") a.core.fault("create", xaiFaults.rateLimited());
      if (fault === "no header")
        a.core.fault("create", {
          kind: "status",
          status: 401,
          body: JSON.stringify(xaiErrorBody(CODES.unauthenticated, "No authorization header was provided.")),
        });
      const done = await waitForTask(s, key, await create(s, key));
      expect(done.status, JSON.stringify(done)).toBe("completed");
      expect(creates(a)).toBe(1);
      expect(creates(b)).toBe(1);
      expect((await channelsView(s)).find((c) => c.id === "a")?.state).toBe("cooling_down");
    });
  }

  it("fails the task with xAI's reason on an invalid argument, without failing over", async () => {
    const a = await emulator(SECRET_A);
    const b = await emulator(SECRET_B);
    const s = await app([fast("a", a.url, { priority: 10 }), fast("b", b.url, { priority: 5 })]);
    const key = await s.newKey();
    a.core.fault("create", {
      kind: "status",
      status: 400,
      body: JSON.stringify(xaiErrorBody(CODES.invalid, "aspect_ratio must be one of 1:1, 16:9, 9:16")),
    });
    const done = await waitForTask(s, key, await create(s, key));
    expect(done.status).toBe("failed");
    expect(JSON.stringify(done)).toContain("aspect_ratio must be one of");
    expect(creates(a)).toBe(1);
    expect(creates(b)).toBe(0);
  });

  it("fails with content_policy, once and on one channel, when moderation refuses the prompt at submit", async () => {
    const a = await emulator(SECRET_A);
    const b = await emulator(SECRET_B);
    const s = await app([fast("a", a.url, { priority: 10 }), fast("b", b.url, { priority: 5 })]);
    const key = await s.newKey();
    a.core.fault("create", xaiFaults.moderated());
    const done = await waitForTask(s, key, await create(s, key));
    expect(done.status).toBe("failed");
    expect((done.error as { code: string }).code).toBe("content_policy");
    expect(creates(a)).toBe(1);
    expect(creates(b)).toBe(0);
  });

  it("fails with content_policy when the finished video does not respect moderation", async () => {
    const a = await emulator(SECRET_A);
    const b = await emulator(SECRET_B);
    const s = await app([fast("a", a.url, { priority: 10 }), fast("b", b.url, { priority: 5 })]);
    const key = await s.newKey();
    a.core.nextTask({ outcome: "fail", runMs: 400, failCode: MODERATED_VIDEO });
    const done = await waitForTask(s, key, await create(s, key));
    expect(done.status).toBe("failed");
    expect((done.error as { code: string }).code).toBe("content_policy");
    expect(creates(a)).toBe(1);
    expect(creates(b)).toBe(0);
    expect(a.core.requests.some((r) => r.route === "content")).toBe(false);
  });

  it("fails with content_policy when the request fails on moderation while running", async () => {
    const a = await emulator(SECRET_A);
    const b = await emulator(SECRET_B);
    const s = await app([fast("a", a.url, { priority: 10 }), fast("b", b.url, { priority: 5 })]);
    const key = await s.newKey();
    a.core.nextTask({
      outcome: "fail",
      runMs: 400,
      failCode: "content_moderation",
      failMessage: "Generated video rejected by content moderation.",
    });
    const done = await waitForTask(s, key, await create(s, key));
    expect(done.status).toBe("failed");
    expect((done.error as { code: string }).code).toBe("content_policy");
    expect(creates(a)).toBe(1);
    expect(creates(b)).toBe(0);
  });

  it("keeps a task running through a status word xAI never documented", async () => {
    const a = await emulator();
    const s = await app([fast("a", a.url)]);
    const key = await s.newKey();
    a.core.nextTask({ runMs: 2500, runningStatuses: ["warming_up"] });
    const id = await create(s, key);
    await pollUntil(
      () => Promise.resolve(a.core.requests.filter((r) => r.route === "query").length),
      (n) => n >= 3,
      { what: "three polls", timeoutMs: 10_000, intervalMs: 50 },
    );
    expect((await s.query(key, id)).status).toBe("processing");
    expect((await waitForTask(s, key, id)).status).toBe("completed");
  });

  it("fails the task with a clear reason when the result link has expired", async () => {
    const a = await emulator();
    a.linkTtlMs = 0;
    const s = await app([fast("a", a.url)]);
    const key = await s.newKey();
    const done = await waitForTask(s, key, await create(s, key));
    expect(done.status).toBe("failed");
    expect(JSON.stringify(done)).toMatch(/403.*expired/i);
    expect(a.core.requests.some((r) => r.route === "content")).toBe(true);
  });

  it("cancels in Reelay without a call upstream (xAI documents no cancel)", async () => {
    const a = await emulator();
    a.core.nextTask({ outcome: "never" });
    const s = await app([fast("a", a.url)]);
    const key = await s.newKey();
    const id = await create(s, key);
    await pollUntil(
      () => Promise.resolve(a.core.requests.filter((r) => r.route === "query").length),
      (n) => n >= 1,
      { what: "a poll", timeoutMs: 5000, intervalMs: 50 },
    );
    const cancel = await s.request(`/v1/video/cancel?id=${encodeURIComponent(id)}`, { key, method: "POST" });
    expect(cancel.status).toBe(200);
    expect((await s.query(key, id)).status).toBe("cancelled");
    expect(a.core.requests.every((r) => r.route === "create" || r.route === "query")).toBe(true);
  });
});

describe("the xAI emulator follows xAI's documented API", () => {
  const post = (e: XaiEmulator, body: unknown, auth: string | null = `Bearer ${SECRET_A}`) =>
    fetch(`${e.url}/v1/videos/generations`, {
      method: "POST",
      headers: { "content-type": "application/json", ...(auth ? { authorization: auth } : {}) },
      body: JSON.stringify(body),
    });
  const ok = { model: "grok-imagine-video", prompt: "a kite", duration: 6, aspect_ratio: "16:9" };

  it("answers no key with 401 and a wrong key with 400 'Incorrect API key provided'", async () => {
    const e = await emulator();
    const none = await post(e, ok, null);
    expect(none.status).toBe(401);
    const wrong = await post(e, ok, "Bearer wrong");
    expect(wrong.status).toBe(400);
    expect(await wrong.json()).toMatchObject({
      code: CODES.invalid,
      error: expect.stringMatching(/Incorrect API key/),
    });
  });

  it.each([
    [{ duration: "6" }, 422],
    [{ duration: 16 }, 400],
    [{ aspect_ratio: "21:9" }, 400],
    [{ resolution: "1080p" }, 400],
    [{ image: "https://i/1.png" }, 422],
    [{ image: { url: "https://i/1.png" }, reference_images: [{ url: "https://i/2.png" }] }, 400],
    [{ reference_images: [{ url: "https://i/2.png" }], duration: 12 }, 400],
  ])("refuses %j with %i in xAI's envelope", async (change, status) => {
    const e = await emulator();
    const res = await post(e, { ...ok, ...change });
    expect(res.status).toBe(status);
    expect(await res.json()).toMatchObject({ code: CODES.invalid, error: expect.any(String) });
    expect(e.core.tasks.size).toBe(0);
  });
});
