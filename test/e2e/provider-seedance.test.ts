/**
 * Seedance channels (Volcengine Ark / BytePlus ModelArk) against the Seedance emulator: the
 * create body Ark documents (model id, ratio, resolution, duration, watermark, images by role),
 * both create APIs, the duration check before anything is sent, failover on the channel's
 * faults (credential, quota, overload) with cool-down, the request's faults passed through
 * (invalid parameter, moderation at submit and while running), unknown status words, expiring
 * result links, and cancel passed upstream.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { DEFAULT_MODELS } from "../../src/core/catalogue/models.js";
import { arkFault, type SeedanceEmulator, startSeedance } from "../emulators/seedance.js";
import { waitForTask } from "../helpers/app.js";
import { type ChannelApp, channel, secretEnv, startWithChannels } from "../helpers/channels.js";
import { ffprobe } from "../helpers/ffprobe.js";
import { startImageServer } from "../helpers/image-server.js";
import { dataUrl } from "../helpers/images.js";
import { closedAfterEach } from "../helpers/provider-e2e.js";
import { pollUntil } from "../helpers/wait.js";

const SECRET_A = "ark-key-a-0123456789";
const SECRET_B = "ark-key-b-0123456789";
const MODEL = "seedance-1.0-pro";
const UPSTREAM_ID = "seedance-1-0-pro-250528";

const running = closedAfterEach();

async function emulator(secret = SECRET_A): Promise<SeedanceEmulator> {
  const e = await startSeedance({ secret });
  e.core.defaultBehaviour = { runMs: 600 };
  running.push(e);
  return e;
}

async function app(channels: object[], env: Record<string, string> = {}): Promise<ChannelApp> {
  // The built-in models without upstream ids (the sora-2 family) must be served by some channel:
  // the local renderer takes them; the Seedance model goes only to the Seedance channels.
  const local = {
    id: "local",
    kind: "local",
    models: DEFAULT_MODELS.filter((m) => !m.upstream).map((m) => m.name),
  };
  const s = await startWithChannels(
    { channels: [...channels, local] },
    { env: { ...secretEnv("a", SECRET_A), ...secretEnv("b", SECRET_B), ...env } },
  );
  running.push(s);
  return s;
}

/** A fast-polling Seedance channel serving the built-in model. */
const fast = (id: string, url: string, extra: Record<string, unknown> = {}) =>
  channel(id, "seedance", url, { models: [MODEL], ...extra });

async function create(s: ChannelApp, key: string, body: object = {}): Promise<string> {
  const res = await s.request("/v1/video/create", {
    key,
    body: {
      model: MODEL,
      prompt: "a paper boat on a rain puddle",
      orientation: "landscape",
      size: "large",
      duration: 5,
      ...body,
    },
  });
  const json = (await res.json()) as { id: string };
  expect(res.status, JSON.stringify(json)).toBe(200);
  return json.id;
}

const creates = (e: SeedanceEmulator) => e.core.requests.filter((r) => r.route === "create").length;

async function probe(url: string): Promise<Awaited<ReturnType<typeof ffprobe>>> {
  const dir = await mkdtemp(join(tmpdir(), "reelay-seedance-"));
  try {
    const file = join(dir, "v.mp4");
    await writeFile(file, Buffer.from(await (await fetch(url)).arrayBuffer()));
    return await ffprobe(file);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

describe("Seedance channel: what is sent and what comes back", () => {
  it("makes a landscape 1080p task from the seed fields with a channel configured by its documented fields only", async () => {
    const a = await emulator();
    const s = await app([
      { id: "a", kind: "seedance", baseUrl: a.url, secretEnv: "SECRET_A", models: [MODEL] },
    ]);
    const key = await s.newKey();
    const id = await create(s, key);
    const done = await waitForTask(s, key, id);
    expect(done.status, JSON.stringify(done)).toBe("completed");
    // Seedance 1.0 makes 1920×1088 at 1080p 16:9 (its documented pixel table).
    const info = await probe(String(done.video_url));
    expect(info.streams.find((x) => x.codecType === "video")).toMatchObject({ width: 1920, height: 1088 });
    expect(info.durationS).toBeGreaterThan(4.5);
    expect(info.durationS).toBeLessThan(5.5);
    // Ark's usage (output tokens: width × height × 24 fps × seconds / 1024) is kept on the task.
    expect(done.usage).toEqual({ tokens: Math.round((1920 * 1088 * 24 * 5) / 1024) });
    expect(a.bodies).toHaveLength(1);
    expect(a.bodies[0]).toEqual({
      model: UPSTREAM_ID,
      content: [{ type: "text", text: "a paper boat on a rain puddle" }],
      ratio: "16:9",
      resolution: "1080p",
      duration: 5,
      // The unified API's `watermark` defaults to true: Ark's switch follows it.
      watermark: true,
    });
    const log = a.core.requests.filter((r) => r.route !== "content");
    expect(log.every((r) => r.auth === `Bearer ${SECRET_A}`)).toBe(true);
    expect(log[0]).toMatchObject({ method: "POST", path: "/api/v3/contents/generations/tasks" });
    expect(log.some((r) => r.method === "GET" && r.route === "query")).toBe(true);
  });

  it("makes a task through POST /v1/videos from size and seconds", async () => {
    const a = await emulator();
    const s = await app([fast("a", a.url)]);
    const key = await s.newKey();
    const res = await s.request("/v1/videos", {
      key,
      body: { model: MODEL, prompt: "a lantern festival", size: "720x1280", seconds: "3" },
    });
    const { id } = (await res.json()) as { id: string };
    expect(res.status).toBe(200);
    const done = await waitForTask(s, key, id);
    expect(done.status, JSON.stringify(done)).toBe("completed");
    expect(a.bodies[0]).toMatchObject({
      model: UPSTREAM_ID,
      ratio: "9:16",
      resolution: "720p",
      duration: 3,
      watermark: true,
    });
    const info = await probe(String(done.video_url));
    expect(info.streams.find((x) => x.codecType === "video")).toMatchObject({ width: 704, height: 1248 });
    expect(Math.round(info.durationS)).toBe(3);
  });

  it("refuses a duration the model does not make before anything reaches Ark", async () => {
    const a = await emulator();
    const s = await app([fast("a", a.url)]);
    const key = await s.newKey();
    const res = await s.request("/v1/video/create", {
      key,
      body: { model: MODEL, prompt: "too long", orientation: "landscape", size: "large", duration: 15 },
    });
    expect(res.status).toBe(400);
    const text = await res.text();
    expect(text).toContain("duration");
    for (const d of [2, 5, 12]) expect(text).toContain(String(d));
    expect(a.core.requests).toHaveLength(0);
  });

  it("sends a first frame by its documented role: a link as it is, an upload as a data URL", async () => {
    const images = await startImageServer();
    running.push(images);
    const a = await emulator();
    const s = await app([fast("a", a.url)], { REELAY_IMAGE_ALLOW_HOSTS: images.host });
    const key = await s.newKey();
    const link = `${images.url}/a.png`;
    const first = await create(s, key, { images: [link], watermark: false });
    expect((await waitForTask(s, key, first)).status).toBe("completed");
    expect(a.bodies[0]).toMatchObject({
      model: UPSTREAM_ID,
      // Asked without a watermark: Ark's switch is off.
      watermark: false,
      content: [
        { type: "text", text: "a paper boat on a rain puddle" },
        { type: "image_url", image_url: { url: link }, role: "first_frame" },
      ],
    });
    const png = Buffer.from(await (await fetch(link)).arrayBuffer());
    expect((await waitForTask(s, key, await create(s, key, { images: [dataUrl(png)] }))).status).toBe(
      "completed",
    );
    const content = a.bodies[1]?.content as { image_url?: { url: string }; role?: string }[];
    expect(content[1]?.role).toBe("first_frame");
    expect(content[1]?.image_url?.url).toBe(`data:image/png;base64,${png.toString("base64")}`);
  });
});

describe("Seedance channel: faults", () => {
  const channelsView = async (s: ChannelApp) =>
    (
      (await (await s.request("/admin/channels", { key: s.adminToken })).json()) as {
        data: { id: string; state: string }[];
      }
    ).data;

  for (const code of ["AuthenticationError", "QuotaExceeded", "ServerOverloaded"]) {
    it(`fails over on ${code} at submit and cools the refusing channel down`, async () => {
      // A refused credential: Ark holds another key than the channel's.
      const a = await emulator(code === "AuthenticationError" ? "ark-key-rotated-0123" : SECRET_A);
      const b = await emulator(SECRET_B);
      const s = await app([
        fast("a", a.url, { priority: 10, cooldown: { failures: 1, seconds: 60 } }),
        fast("b", b.url, { priority: 5 }),
      ]);
      const key = await s.newKey();
      if (code !== "AuthenticationError") a.core.fault("create", arkFault(code));
      const done = await waitForTask(s, key, await create(s, key));
      expect(done.status, JSON.stringify(done)).toBe("completed");
      expect(creates(a)).toBe(1);
      expect(creates(b)).toBe(1);
      expect((await channelsView(s)).find((c) => c.id === "a")?.state).toBe("cooling_down");
    });
  }

  it("fails the task with Ark's reason on an invalid parameter, without failing over", async () => {
    const a = await emulator(SECRET_A);
    const b = await emulator(SECRET_B);
    const s = await app([fast("a", a.url, { priority: 10 }), fast("b", b.url, { priority: 5 })]);
    const key = await s.newKey();
    a.core.fault(
      "create",
      arkFault("InvalidParameter", "The parameter `ratio` specified in the request is not valid."),
    );
    const done = await waitForTask(s, key, await create(s, key));
    expect(done.status).toBe("failed");
    expect(JSON.stringify(done)).toContain("InvalidParameter");
    expect(creates(a)).toBe(1);
    expect(creates(b)).toBe(0);
  });

  it("fails with content_policy, once and on one channel, when moderation refuses the prompt at submit", async () => {
    const a = await emulator(SECRET_A);
    const b = await emulator(SECRET_B);
    const s = await app([fast("a", a.url, { priority: 10 }), fast("b", b.url, { priority: 5 })]);
    const key = await s.newKey();
    a.core.fault(
      "create",
      arkFault("InputTextSensitiveContentDetected", "The input text may contain sensitive information."),
    );
    const done = await waitForTask(s, key, await create(s, key));
    expect(done.status).toBe("failed");
    expect((done.error as { code: string }).code).toBe("content_policy");
    expect(creates(a)).toBe(1);
    expect(creates(b)).toBe(0);
  });

  it("fails with content_policy when the output video is moderated while running", async () => {
    const a = await emulator(SECRET_A);
    const b = await emulator(SECRET_B);
    const s = await app([fast("a", a.url, { priority: 10 }), fast("b", b.url, { priority: 5 })]);
    const key = await s.newKey();
    a.core.nextTask({
      outcome: "fail",
      runMs: 400,
      failCode: "OutputVideoSensitiveContentDetected",
      failMessage: "The request failed because the output video may contain sensitive information.",
    });
    const done = await waitForTask(s, key, await create(s, key));
    expect(done.status).toBe("failed");
    expect((done.error as { code: string }).code).toBe("content_policy");
    expect(JSON.stringify(done)).toContain("OutputVideoSensitiveContentDetected");
    expect(creates(a)).toBe(1);
    expect(creates(b)).toBe(0);
  });

  it("keeps a task running through a status word Ark never documented", async () => {
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

  it("passes a cancel upstream: the queued Ark task is cancelled", async () => {
    const a = await emulator();
    a.queueMs = 60_000;
    a.core.nextTask({ outcome: "never" });
    const s = await app([fast("a", a.url)]);
    const key = await s.newKey();
    const id = await create(s, key);
    await pollUntil(
      () => s.query(key, id),
      (q) => q.status === "processing" || q.status === "pending",
      { what: "task started", timeoutMs: 5000, intervalMs: 50 },
    );
    await pollUntil(
      () => Promise.resolve(creates(a)),
      (n) => n === 1,
      { what: "the create", timeoutMs: 5000, intervalMs: 50 },
    );
    const cancel = await s.request(`/v1/video/cancel?id=${encodeURIComponent(id)}`, { key, method: "POST" });
    expect(cancel.status).toBe(200);
    const del = await pollUntil(
      () => Promise.resolve(a.core.requests.find((r) => r.route === "cancel")),
      (r) => r !== undefined,
      { what: "the DELETE", timeoutMs: 5000, intervalMs: 50 },
    );
    expect(del).toMatchObject({ method: "DELETE", auth: `Bearer ${SECRET_A}` });
    const upstreamId = [...a.core.tasks.keys()][0] ?? "";
    expect(del?.path).toBe(`/api/v3/contents/generations/tasks/${upstreamId}`);
    const task = (await (
      await fetch(`${a.url}/api/v3/contents/generations/tasks/${upstreamId}`, {
        headers: { authorization: `Bearer ${SECRET_A}` },
      })
    ).json()) as { status: string };
    expect(task.status).toBe("cancelled");
    expect((await s.query(key, id)).status).toBe("cancelled");
  });
});

describe("the Seedance emulator follows Ark's documented API", () => {
  const post = (e: SeedanceEmulator, body: unknown, auth: string | null = `Bearer ${SECRET_A}`) =>
    fetch(`${e.url}/api/v3/contents/generations/tasks`, {
      method: "POST",
      headers: { "content-type": "application/json", ...(auth ? { authorization: auth } : {}) },
      body: JSON.stringify(body),
    });
  const ok = { model: UPSTREAM_ID, content: [{ type: "text", text: "a kite" }], ratio: "16:9", duration: 5 };

  it("answers a missing or wrong key with AuthenticationError (401)", async () => {
    const e = await emulator();
    for (const auth of [null, "Bearer wrong"]) {
      const res = await post(e, ok, auth);
      expect(res.status).toBe(401);
      expect(((await res.json()) as { error: { code: string; type: string } }).error).toMatchObject({
        code: "AuthenticationError",
        type: "Unauthorized",
      });
    }
  });

  it.each([
    [{ duration: "5" }, "duration"],
    [{ duration: 13 }, "duration"],
    [{ ratio: "2:1" }, "ratio"],
    [{ resolution: "4k" }, "resolution"],
    [{ seed: 2 ** 32 }, "seed"],
    [{ watermark: "false" }, "watermark"],
    [
      {
        content: [
          { type: "text", text: "x" },
          { type: "image_url", image_url: { url: "https://i/1.png" }, role: "first_frame" },
          { type: "image_url", image_url: { url: "https://i/2.png" }, role: "reference_image" },
        ],
      },
      "content",
    ],
  ])("refuses %j with InvalidParameter naming %s", async (change, param) => {
    const e = await emulator();
    const res = await post(e, { ...ok, ...change });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { code: string; param: string } }).error).toMatchObject({
      code: "InvalidParameter",
      param,
    });
    expect(e.core.tasks.size).toBe(0);
  });
});
