/**
 * The `fal` channel kind against an emulated fal.ai queue API (test/emulators/fal.ts): both create
 * APIs end to end with the MP4 read back from fal's "CDN" (another origin, allowed in the guard),
 * what reaches fal (the model's own input fields, `Key` auth, the app-level status/result paths),
 * durations refused before anything is sent, fal's errors as failover, refusal or content policy,
 * unknown status words, expiring result links, cancel passed upstream, and images by role
 * (a catalogue entry from the config file naming a last-frame field).
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { resolveMediaTools } from "../../src/adapters/providers/local-renderer/media-tools.js";
import { type FalEmulator, falError, falModelError, startFal } from "../emulators/fal.js";
import { waitForTask } from "../helpers/app.js";
import { type ChannelApp, channel, secretEnv, startWithChannels } from "../helpers/channels.js";
import { ffprobe } from "../helpers/ffprobe.js";
import { makePng } from "../helpers/image-server.js";
import { channelsView, closedAfterEach } from "../helpers/provider-e2e.js";
import { pollUntil, sleep } from "../helpers/wait.js";

const SECRET_A = "fal-secret-a-0123456789";
const SECRET_B = "fal-secret-b-0123456789";
const MODEL = "fal-wan-2.5";
const T2V = "fal-ai/wan-25-preview/text-to-video";

const running = closedAfterEach();

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "reelay-fal-e2e-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function emulator(secret = SECRET_A): Promise<FalEmulator> {
  const e = await startFal({ secret });
  e.core.defaultBehaviour = { runMs: 400 };
  running.push(e);
  return e;
}

/** Reelay with these channels; the emulators' CDN hosts are allowed in the off-origin guard. */
async function app(
  channels: object[],
  cdn: FalEmulator[],
  extra: { models?: object[] } = {},
): Promise<ChannelApp> {
  const s = await startWithChannels(
    { channels, ...extra },
    {
      env: {
        ...secretEnv("a", SECRET_A),
        ...secretEnv("b", SECRET_B),
        REELAY_IMAGE_ALLOW_HOSTS: cdn.map((e) => e.cdnHost).join(","),
      },
    },
  );
  running.push(s);
  return s;
}

const fal = (id: string, url: string, extra: Record<string, unknown> = {}) =>
  channel(id, "fal", url, { models: [MODEL], ...extra });

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

const routes = (e: FalEmulator) => e.core.requests.map((r) => r.route);
const inputs = (e: FalEmulator) => [...e.core.tasks.values()].map((t) => t.input);

async function probeUrl(url: string, name: string) {
  const file = join(dir, name);
  await writeFile(file, Buffer.from(await (await fetch(url)).arrayBuffer()));
  const info = await ffprobe(file);
  return { video: info.streams.find((x) => x.codecType === "video"), durationS: info.durationS };
}

const attempts = (t: Record<string, unknown>) =>
  (t.detail as { pending_info: { attempts: number } }).pending_info.attempts;

describe("fal: both create APIs", () => {
  it("makes a 1080p 5 s video from the seed's fields, with the channel configured by id, kind, baseUrl, secretEnv and models only", async () => {
    const a = await emulator();
    const s = await app(
      [{ id: "a", kind: "fal", baseUrl: a.url, secretEnv: "SECRET_A", models: [MODEL] }],
      [a],
    );
    const key = await s.newKey();
    const done = await waitForTask(s, key, await create(s, key));
    expect(done.status, JSON.stringify(done)).toBe("completed");
    const { video, durationS } = await probeUrl(String(done.video_url), "a.mp4");
    expect(video).toMatchObject({ codecName: "h264", width: 1920, height: 1080 });
    expect(Math.round(durationS)).toBe(5);
    // What fal received: the model's own fields, the duration as fal's string enum.
    expect(inputs(a)).toEqual([
      { prompt: "a paper boat on a canal", duration: "5", aspect_ratio: "16:9", resolution: "1080p" },
    ]);
    const submit = a.core.requests.find((r) => r.route === "submit");
    expect(submit).toMatchObject({ method: "POST", path: `/${T2V}` });
    // Status and result are asked of the app (owner/alias), not the endpoint's subpath.
    const status = a.core.requests.find((r) => r.route === "status");
    expect(status?.path).toMatch(/^\/fal-ai\/wan-25-preview\/requests\/[^/]+\/status\?logs=1$/);
    expect(routes(a)).toEqual(expect.arrayContaining(["submit", "status", "result", "download"]));
    for (const r of a.core.requests.filter((x) => x.route !== "download"))
      expect(r.auth).toBe(`Key ${SECRET_A}`);
    // The CDN link is off the channel's origin: the key is not sent there.
    for (const r of a.core.requests.filter((x) => x.route === "download")) expect(r.auth).toBeNull();
  });

  it("makes a 720p 10 s video through /v1/videos (size, seconds)", async () => {
    const a = await emulator();
    const s = await app([fal("a", a.url)], [a]);
    const key = await s.newKey();
    const res = await s.request("/v1/videos", {
      key,
      body: { model: MODEL, prompt: "fog over a harbour", size: "720x1280", seconds: "10" },
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
    expect(Math.round(info.durationS)).toBe(10);
    expect(inputs(a)[0]).toMatchObject({ duration: "10", resolution: "720p", aspect_ratio: "9:16" });
  });

  it("sends negative prompt and seed in the model's fields", async () => {
    const a = await emulator();
    const s = await app([fal("a", a.url)], [a]);
    const key = await s.newKey();
    const id = await create(s, key, { ...BODY, negative_prompt: "blur", seed: 42 });
    expect((await waitForTask(s, key, id)).status).toBe("completed");
    expect(inputs(a)[0]).toMatchObject({ negative_prompt: "blur", seed: 42 });
  });

  it("makes a portrait 10 s Kling 2.1 Master video (1080p only) from its text-to-video endpoint", async () => {
    const a = await emulator();
    const s = await app([channel("a", "fal", a.url, { models: ["fal-kling-v2.1-master"] })], [a]);
    const key = await s.newKey();
    const id = await create(s, key, {
      ...BODY,
      model: "fal-kling-v2.1-master",
      orientation: "portrait",
      duration: 10,
    });
    const done = await waitForTask(s, key, id);
    expect(done.status, JSON.stringify(done)).toBe("completed");
    expect(a.core.requests.find((r) => r.route === "submit")?.path).toBe(
      "/fal-ai/kling-video/v2.1/master/text-to-video",
    );
    expect(inputs(a)).toEqual([{ prompt: "a paper boat on a canal", duration: "10", aspect_ratio: "9:16" }]);
    const { video, durationS } = await probeUrl(String(done.video_url), "kling.mp4");
    expect(video).toMatchObject({ width: 1080, height: 1920 });
    expect(Math.round(durationS)).toBe(10);
  });

  it("refuses a duration the model does not make with 400 naming the field and its values; nothing reaches fal", async () => {
    const a = await emulator();
    const s = await app([fal("a", a.url)], [a]);
    const key = await s.newKey();
    const res = await s.request("/v1/video/create", { key, body: { ...BODY, duration: 6 } });
    expect(res.status).toBe(400);
    const text = JSON.stringify(await res.json());
    expect(text).toContain("duration");
    expect(text).toMatch(/5.*10/);
    expect(a.core.requests).toEqual([]);
  });
});

describe("fal: fal's errors", () => {
  it("fails over when fal refuses the key (401), and cools the channel down", async () => {
    const a = await emulator("some-other-key-0123456");
    const b = await emulator(SECRET_B);
    const s = await app(
      [
        fal("a", a.url, { priority: 10, cooldown: { failures: 1, seconds: 60 } }),
        fal("b", b.url, { priority: 5 }),
      ],
      [a, b],
    );
    const key = await s.newKey();
    const done = await waitForTask(s, key, await create(s, key));
    expect(done.status, JSON.stringify(done)).toBe("completed");
    expect(routes(a)).toEqual(["submit"]);
    expect(routes(b)).toContain("download");
    expect((await channelsView(s)).find((c) => c.id === "a")).toMatchObject({
      state: "cooling_down",
      failures: 1,
    });
  });

  it("fails over on a locked account (403 exhausted balance) and rate limit (429); the channel cools down", async () => {
    const a = await emulator();
    const b = await emulator(SECRET_B);
    const s = await app(
      [
        fal("a", a.url, { priority: 10, cooldown: { failures: 2, seconds: 60 } }),
        fal("b", b.url, { priority: 5 }),
      ],
      [a, b],
    );
    const key = await s.newKey();
    a.core.fault(
      "submit",
      falError(
        403,
        "User is locked. Reason: Exhausted balance. Top up your balance at fal.ai/dashboard/billing.",
      ),
    );
    a.core.fault("submit", falError(429, "Rate limit exceeded", 1));
    for (let i = 0; i < 2; i++)
      expect((await waitForTask(s, key, await create(s, key))).status).toBe("completed");
    expect(routes(a)).toEqual(["submit", "submit"]);
    expect(b.core.tasks.size).toBe(2);
    expect((await channelsView(s)).find((c) => c.id === "a")).toMatchObject({
      state: "cooling_down",
      failures: 2,
    });
    expect((await waitForTask(s, key, await create(s, key))).status).toBe("completed");
    expect(routes(a)).toHaveLength(2);
  });

  it("fails a task fal refuses as invalid (422 detail) with its reason, not sent elsewhere", async () => {
    const a = await emulator();
    const b = await emulator(SECRET_B);
    const s = await app([fal("a", a.url, { priority: 10 }), fal("b", b.url, { priority: 5 })], [a, b]);
    const key = await s.newKey();
    a.core.fault("submit", falModelError("string_too_long", "String should have at most 800 characters"));
    const done = await waitForTask(s, key, await create(s, key));
    expect(done.status).toBe("failed");
    expect(done.error).toMatchObject({ code: "upstream_rejected" });
    const message = String((done.error as { message: string }).message);
    expect(message).toContain("String should have at most 800 characters");
    expect(b.core.requests).toEqual([]);
  });

  it("fails with content_policy when fal flags the input at submit (422 content_policy_violation), attempted once", async () => {
    const a = await emulator();
    const b = await emulator(SECRET_B);
    const s = await app([fal("a", a.url, { priority: 10 }), fal("b", b.url, { priority: 5 })], [a, b]);
    const key = await s.newKey();
    a.core.fault(
      "submit",
      falModelError("content_policy_violation", "The content was flagged by a content checker."),
    );
    const done = await waitForTask(s, key, await create(s, key));
    expect(done.status).toBe("failed");
    expect(done.error).toMatchObject({ code: "content_policy" });
    expect(String((done.error as { message: string }).message)).toContain("flagged");
    expect(attempts(done)).toBe(1);
    expect(routes(a)).toEqual(["submit"]);
    expect(b.core.requests).toEqual([]);
  });

  it("fails with content_policy when the request ends flagged (its result a 422 content_policy_violation), not failed over", async () => {
    const a = await emulator();
    const b = await emulator(SECRET_B);
    const s = await app([fal("a", a.url, { priority: 10 }), fal("b", b.url, { priority: 5 })], [a, b]);
    const key = await s.newKey();
    a.core.nextTask({
      outcome: "fail",
      runMs: 300,
      failCode: "content_policy_violation",
      failMessage: "output flagged",
    });
    const done = await waitForTask(s, key, await create(s, key));
    expect(done.status).toBe("failed");
    expect(done.error).toMatchObject({ code: "content_policy" });
    expect(String((done.error as { message: string }).message)).toContain("output flagged");
    expect(attempts(done)).toBe(1);
    expect(routes(a).filter((r) => r === "submit")).toHaveLength(1);
    expect(b.core.requests).toEqual([]);
  });

  it("fails a task whose request ended in a fal request error (504 request_timeout), naming it", async () => {
    const a = await emulator();
    const s = await app([fal("a", a.url)], [a]);
    const key = await s.newKey();
    a.core.nextTask({
      outcome: "fail",
      runMs: 300,
      failCode: "request_timeout",
      failMessage: "Request timed out",
    });
    const done = await waitForTask(s, key, await create(s, key));
    expect(done.status).toBe("failed");
    const message = String((done.error as { message: string }).message);
    expect(message).toContain("request_timeout");
    expect(message).toContain("Request timed out");
  });

  it("keeps a task running through status words it does not know", async () => {
    const a = await emulator();
    const s = await app([fal("a", a.url)], [a]);
    const key = await s.newKey();
    a.core.nextTask({ runMs: 1500, runningStatuses: ["WARMING_UP", undefined, "IN_PROGRESS"] });
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
    expect(metrics).toMatch(/reelay_upstream_unknown_status_total\{channel="a",status="WARMING_UP"\} [1-9]/);
  });

  it("retries the download after an expired link (a fresh one from the result), and fails clearly when every link is dead", async () => {
    const a = await emulator();
    const s = await app([fal("a", a.url)], [a]);
    const key = await s.newKey();
    a.core.fault("download", {
      kind: "status",
      status: 403,
      contentType: "text/plain",
      body: "Forbidden: the link has expired",
    });
    const retried = await waitForTask(s, key, await create(s, key));
    expect(retried.status, JSON.stringify(retried)).toBe("completed");
    expect(routes(a).filter((r) => r === "download").length).toBeGreaterThanOrEqual(2);
    a.linkTtlMs = -1;
    const dead = await waitForTask(s, key, await create(s, key));
    expect(dead.status).toBe("failed");
    expect(dead.error).toMatchObject({ code: "upstream_bad_content" });
    const message = String((dead.error as { message: string }).message);
    expect(message).toContain("403");
    expect(message).toContain("expired");
    expect(dead.video_url).toBeNull();
  });
});

describe("fal: cancel and images", () => {
  it("passes a cancel upstream (PUT …/requests/{id}/cancel)", async () => {
    const a = await emulator();
    const s = await app([fal("a", a.url)], [a]);
    const key = await s.newKey();
    a.core.nextTask({ outcome: "never" });
    const id = await create(s, key);
    await pollUntil(
      async () => ({ q: await s.query(key, id), seen: routes(a) }),
      ({ q, seen }) => q.status === "processing" && seen.includes("status"),
      { what: `task ${id} running at fal`, timeoutMs: 10_000, intervalMs: 50 },
    );
    const cancel = await s.request(`/v1/video/cancel?id=${encodeURIComponent(id)}`, { key, method: "POST" });
    expect(cancel.status).toBe(200);
    await pollUntil(
      async () => a.core.requests.filter((r) => r.route === "cancel"),
      (c) => c.length > 0,
      { what: "the cancel at fal", timeoutMs: 10_000, intervalMs: 50 },
    );
    const c = a.core.requests.find((r) => r.route === "cancel");
    expect(c).toMatchObject({ method: "PUT", auth: `Key ${SECRET_A}` });
    expect(c?.path).toMatch(/^\/fal-ai\/wan-25-preview\/requests\/[^/]+\/cancel$/);
    expect([...a.core.tasks.values()][0]?.cancelled).toBe(true);
    await sleep(300);
    expect((await s.query(key, id)).status).toBe("cancelled");
  });

  it("sends an uploaded first frame as a data URI in image_url to the image-to-video endpoint, without an aspect ratio", async () => {
    const a = await emulator();
    const s = await app([fal("a", a.url)], [a]);
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
    expect(a.core.requests.find((r) => r.route === "submit")?.path).toBe(
      "/fal-ai/wan-25-preview/image-to-video",
    );
    const input = inputs(a)[0] ?? {};
    expect(input.image_url).toBe(`data:image/png;base64,${png.toString("base64")}`);
    expect(input).not.toHaveProperty("aspect_ratio");
    expect(input).toMatchObject({ resolution: "1080p", duration: "5" });
    const { video } = await probeUrl(String(done.video_url), "i2v.mp4");
    expect(video).toMatchObject({ width: 1080, height: 1920 });
  });

  it("sends first and last frames in the fields a config-file model names (Kling 2.1 Pro: image_url, tail_image_url)", async () => {
    const a = await emulator();
    const s = await app([channel("a", "fal", a.url, { models: ["kling-pro-frames"] })], [a], {
      models: [
        {
          name: "kling-pro-frames",
          family: "kling-v2.1-pro",
          sizes: ["large"],
          durations: [5, 10],
          maxImages: 2,
          accepts: {
            aspectRatios: ["16:9", "9:16", "1:1"],
            aspectFromFirstFrame: true,
            resolutions: ["1080p"],
            firstFrame: true,
            lastFrame: true,
            referenceImages: 0,
            referenceVideo: false,
            audio: "none",
            seed: false,
            negativePrompt: true,
          },
          upstream: { fal: "fal-ai/kling-video/v2.1/pro/image-to-video" },
          inputs: {
            fields: {
              prompt: "prompt",
              firstFrame: "image_url",
              lastFrame: "tail_image_url",
              duration: "duration",
            },
            fixed: { cfg_scale: 0.5 },
          },
        },
      ],
    });
    const key = await s.newKey();
    const { ffmpegPath } = await resolveMediaTools({});
    const first = await makePng(ffmpegPath, join(dir, "first.png"), "testsrc=size=640x360");
    const last = await makePng(ffmpegPath, join(dir, "last.png"), "testsrc2=size=640x360");
    const firstUri = `data:image/png;base64,${first.toString("base64")}`;
    const lastUri = `data:image/png;base64,${last.toString("base64")}`;
    const done = await waitForTask(
      s,
      key,
      await create(s, key, {
        model: "kling-pro-frames",
        prompt: "a door opens",
        orientation: "landscape",
        size: "large",
        duration: 10,
        images: [firstUri],
        last_frame: lastUri,
      }),
    );
    expect(done.status, JSON.stringify(done)).toBe("completed");
    expect(a.core.requests.find((r) => r.route === "submit")?.path).toBe(
      "/fal-ai/kling-video/v2.1/pro/image-to-video",
    );
    expect(inputs(a)[0]).toEqual({
      cfg_scale: 0.5,
      prompt: "a door opens",
      duration: "10",
      image_url: firstUri,
      tail_image_url: lastUri,
    });
  });
});
