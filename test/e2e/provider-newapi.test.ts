/**
 * The `newapi` channel kind (another new-api relay) against an emulated new-api video task API
 * (test/emulators/newapi.ts): both create APIs end to end with the MP4 read back, what reaches the
 * relay (the Reelay name as model id, duration, frame size, Bearer token), durations refused before
 * anything is sent, new-api's refusals as failover, refusal or content policy, both shapes of its
 * task answer, unknown status words, expiring result links, cancel (none upstream) and images.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type NewApiEmulator, newapiError, newapiOpenAiError, startNewApi } from "../emulators/newapi.js";
import { waitForTask } from "../helpers/app.js";
import { type ChannelApp, channel, secretEnv, startWithChannels } from "../helpers/channels.js";
import { ffprobe } from "../helpers/ffprobe.js";
import { TINY_PNG } from "../helpers/images.js";
import { channelsView, closedAfterEach } from "../helpers/provider-e2e.js";
import { pollUntil, sleep } from "../helpers/wait.js";

const SECRET_A = "sk-newapi-a-0123456789";
const SECRET_B = "sk-newapi-b-0123456789";
const MODEL = "veo-3.1";

const running = closedAfterEach();

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "reelay-newapi-e2e-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function emulator(secret = SECRET_A): Promise<NewApiEmulator> {
  const e = await startNewApi({ secret });
  e.core.defaultBehaviour = { runMs: 400 };
  running.push(e);
  return e;
}

async function app(channels: object[]): Promise<ChannelApp> {
  const s = await startWithChannels(
    { channels },
    { env: { ...secretEnv("a", SECRET_A), ...secretEnv("b", SECRET_B) } },
  );
  running.push(s);
  return s;
}

/** A fast-polling newapi channel serving veo-3.1 by name. */
const na = (id: string, url: string, extra: Record<string, unknown> = {}) =>
  channel(id, "newapi", url, { models: [MODEL], ...extra });

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

const routes = (e: NewApiEmulator) => e.core.requests.map((r) => r.route);
const inputs = (e: NewApiEmulator) => [...e.core.tasks.values()].map((t) => t.input);
const attempts = (t: Record<string, unknown>) =>
  (t.detail as { pending_info: { attempts: number } }).pending_info.attempts;
const messageOf = (t: Record<string, unknown>) => String((t.error as { message: string }).message);

async function probeUrl(url: string, name: string) {
  const file = join(dir, name);
  await writeFile(file, Buffer.from(await (await fetch(url)).arrayBuffer()));
  const info = await ffprobe(file);
  return { video: info.streams.find((x) => x.codecType === "video"), durationS: info.durationS };
}

describe("newapi: both create APIs", () => {
  it("makes a 1080p 8 s video from the seed's fields, the channel configured by id, kind, baseUrl, secretEnv and models only", async () => {
    const a = await emulator();
    const s = await app([
      { id: "a", kind: "newapi", baseUrl: a.url, secretEnv: "SECRET_A", models: [MODEL] },
    ]);
    const key = await s.newKey();
    const done = await waitForTask(s, key, await create(s, key));
    expect(done.status, JSON.stringify(done)).toBe("completed");
    const { video, durationS } = await probeUrl(String(done.video_url), "a.mp4");
    expect(video).toMatchObject({ codecName: "h264", width: 1920, height: 1080 });
    expect(Math.round(durationS)).toBe(8);
    // What the relay received: the Reelay name (a list-form channel does not rename), the duration,
    // the frame size both as documented (width, height) and as its handler reads it (size).
    expect(inputs(a)).toEqual([
      {
        model: "veo-3.1",
        prompt: "a paper boat on a canal",
        duration: 8,
        width: 1920,
        height: 1080,
        size: "1920x1080",
      },
    ]);
    expect(routes(a)).toEqual(expect.arrayContaining(["create", "query", "download"]));
    for (const r of a.core.requests.filter((x) => x.route !== "download"))
      expect(r.auth).toBe(`Bearer ${SECRET_A}`);
    // The video came from the task's signed result link (fetched once, at completion).
    expect(a.core.requests.filter((r) => r.route === "download")).toHaveLength(1);
  });

  it("makes a 720p 4 s video through /v1/videos (size, seconds), reading new-api's stored-task answer", async () => {
    const a = await emulator();
    a.answers = "stored";
    const s = await app([na("a", a.url)]);
    const key = await s.newKey();
    const res = await s.request("/v1/videos", {
      key,
      body: { model: MODEL, prompt: "fog over a harbour", size: "1280x720", seconds: "4" },
    });
    const { id } = (await res.json()) as { id: string };
    expect(res.status).toBe(200);
    expect((await waitForTask(s, key, id)).status).toBe("completed");
    const content = await s.request(`/v1/videos/${encodeURIComponent(id)}/content`, { key });
    expect(content.status).toBe(200);
    const file = join(dir, "b.mp4");
    await writeFile(file, Buffer.from(await content.arrayBuffer()));
    const info = await ffprobe(file);
    expect(info.streams.find((x) => x.codecType === "video")).toMatchObject({ width: 1280, height: 720 });
    expect(Math.round(info.durationS)).toBe(4);
    expect(inputs(a)[0]).toMatchObject({
      model: "veo-3.1",
      duration: 4,
      width: 1280,
      height: 720,
      size: "1280x720",
    });
  });

  it("sends a rename from the channel's models map, and the negative prompt in metadata", async () => {
    const a = await emulator();
    const s = await app([channel("a", "newapi", a.url, { models: { [MODEL]: "veo-3.1-generate-preview" } })]);
    const key = await s.newKey();
    const done = await waitForTask(
      s,
      key,
      await create(s, key, { ...BODY, size: "small", orientation: "portrait", negative_prompt: "rain" }),
    );
    expect(done.status, JSON.stringify(done)).toBe("completed");
    expect(inputs(a)[0]).toEqual({
      model: "veo-3.1-generate-preview",
      prompt: "a paper boat on a canal",
      duration: 8,
      width: 720,
      height: 1280,
      size: "720x1280",
      metadata: { negative_prompt: "rain" },
    });
  });

  it('with models "*" serves the sora-2 family, sending its Reelay name', async () => {
    const a = await emulator();
    const s = await app([channel("a", "newapi", a.url, { models: "*" })]);
    const key = await s.newKey();
    const done = await waitForTask(
      s,
      key,
      await create(s, key, {
        model: "sora-2",
        prompt: "a kite",
        orientation: "portrait",
        size: "small",
        duration: 10,
      }),
    );
    expect(done.status, JSON.stringify(done)).toBe("completed");
    expect(inputs(a)[0]).toMatchObject({ model: "sora-2", duration: 10, width: 720, height: 1280 });
  });

  it("refuses a duration veo-3.1 does not make with 400 naming the field and its values; nothing reaches the relay", async () => {
    const a = await emulator();
    const s = await app([na("a", a.url)]);
    const key = await s.newKey();
    const res = await s.request("/v1/video/create", { key, body: { ...BODY, duration: 5 } });
    expect(res.status).toBe(400);
    const text = JSON.stringify(await res.json());
    expect(text).toContain("duration");
    expect(text).toMatch(/4.*6.*8/);
    expect(a.core.requests).toEqual([]);
  });
});

describe("newapi: the emulated relay keeps to new-api's documented envelopes", () => {
  it("answers 401 with new-api's error object without a valid token, and 400 invalid_request for a mistyped field", async () => {
    const a = await emulator();
    const post = (body: object, auth?: string) =>
      fetch(`${a.url}/v1/video/generations`, {
        method: "POST",
        headers: { "content-type": "application/json", ...(auth ? { authorization: auth } : {}) },
        body: JSON.stringify(body),
      });
    const none = await post({ model: MODEL, prompt: "x" });
    expect(none.status).toBe(401);
    expect(await none.json()).toMatchObject({ error: { type: "new_api_error" } });
    expect((await post({ model: MODEL, prompt: "x" }, "Bearer sk-wrong")).status).toBe(401);
    const typed = await post({ model: MODEL, prompt: "x", duration: "8" }, `Bearer ${SECRET_A}`);
    expect(typed.status).toBe(400);
    expect(await typed.json()).toMatchObject({
      code: "invalid_request",
      message: expect.stringContaining("duration"),
    });
    const ok = await post(
      { model: MODEL, prompt: "x", duration: 4, width: 1280, height: 720 },
      `Bearer ${SECRET_A}`,
    );
    expect(ok.status).toBe(200);
    expect(await ok.json()).toMatchObject({ task_id: expect.any(String), status: "queued" });
  });
});

describe("newapi: new-api's refusals", () => {
  it("fails over when the relay refuses the token (401), and cools the channel down", async () => {
    const a = await emulator("sk-some-other-token-0123");
    const b = await emulator(SECRET_B);
    const s = await app([
      na("a", a.url, { priority: 10, cooldown: { failures: 1, seconds: 60 } }),
      na("b", b.url, { priority: 5 }),
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

  it("fails over on quota (403 insufficient_user_quota) and overload (429, 503 no channel); the channel cools down", async () => {
    const a = await emulator();
    const b = await emulator(SECRET_B);
    const s = await app([
      na("a", a.url, { priority: 10, cooldown: { failures: 3, seconds: 60 } }),
      na("b", b.url, { priority: 5 }),
    ]);
    const key = await s.newKey();
    a.core.fault(
      "create",
      newapiError(403, "insufficient_user_quota", "用户额度不足 (insufficient user quota)"),
    );
    a.core.fault("create", newapiError(429, "rate_limit_exceeded", "当前分组上游负载已饱和，请稍后再试", 1));
    a.core.fault(
      "create",
      newapiOpenAiError(
        503,
        "当前分组 default 下对于模型 veo-3.1 无可用渠道",
        "new_api_error",
        "model_not_found",
      ),
    );
    for (let i = 0; i < 3; i++)
      expect((await waitForTask(s, key, await create(s, key))).status).toBe("completed");
    expect(routes(a)).toEqual(["create", "create", "create"]);
    expect(b.core.tasks.size).toBe(3);
    expect((await channelsView(s)).find((c) => c.id === "a")).toMatchObject({
      state: "cooling_down",
      failures: 3,
    });
  });

  it("fails a task the relay refuses as invalid (400) with its reason, not sent elsewhere", async () => {
    const a = await emulator();
    const b = await emulator(SECRET_B);
    const s = await app([na("a", a.url, { priority: 10 }), na("b", b.url, { priority: 5 })]);
    const key = await s.newKey();
    a.core.fault("create", newapiError(400, "invalid_request", "duration 8 is not supported by this model"));
    const done = await waitForTask(s, key, await create(s, key));
    expect(done.status).toBe("failed");
    expect(done.error).toMatchObject({ code: "upstream_rejected" });
    expect(messageOf(done)).toContain("duration 8 is not supported by this model");
    expect(b.core.requests).toEqual([]);
  });

  it("fails with content_policy when the relay flags the prompt at submit, attempted once, not failed over", async () => {
    const a = await emulator();
    const b = await emulator(SECRET_B);
    const s = await app([na("a", a.url, { priority: 10 }), na("b", b.url, { priority: 5 })]);
    const key = await s.newKey();
    a.core.fault("create", newapiError(400, "sensitive_words_detected", "sensitive words detected"));
    const done = await waitForTask(s, key, await create(s, key));
    expect(done.status).toBe("failed");
    expect(done.error).toMatchObject({ code: "content_policy" });
    expect(messageOf(done)).toContain("sensitive_words_detected");
    expect(attempts(done)).toBe(1);
    expect(routes(a)).toEqual(["create"]);
    expect(b.core.requests).toEqual([]);
  });

  it("fails with content_policy when the task fails on moderation while running, in either answer shape, not failed over", async () => {
    for (const shape of ["documented", "stored"] as const) {
      const a = await emulator();
      a.answers = shape;
      const b = await emulator(SECRET_B);
      const s = await app([na("a", a.url, { priority: 10 }), na("b", b.url, { priority: 5 })]);
      const key = await s.newKey();
      a.core.nextTask({
        outcome: "fail",
        runMs: 300,
        failMessage: "the output was blocked by the content policy",
      });
      const done = await waitForTask(s, key, await create(s, key));
      expect(done.status, shape).toBe("failed");
      expect(done.error, shape).toMatchObject({ code: "content_policy" });
      expect(messageOf(done)).toContain("blocked by the content policy");
      expect(attempts(done)).toBe(1);
      expect(routes(a).filter((r) => r === "create")).toHaveLength(1);
      expect(b.core.requests).toEqual([]);
    }
  });

  it("keeps a task running through `unknown`, UNKNOWN, other words and none", async () => {
    const a = await emulator();
    const s = await app([na("a", a.url)]);
    const key = await s.newKey();
    a.core.nextTask({
      runMs: 1500,
      runningStatuses: ["unknown", "UNKNOWN", undefined, "rendering_somewhere"],
    });
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
    expect(metrics).toMatch(/reelay_upstream_unknown_status_total\{channel="a",status="unknown"\} [1-9]/);
  });

  it("fails clearly when the result link has expired", async () => {
    const a = await emulator();
    const s = await app([na("a", a.url)]);
    const key = await s.newKey();
    a.linkTtlMs = -1;
    const dead = await waitForTask(s, key, await create(s, key));
    expect(dead.status).toBe("failed");
    expect(dead.error).toMatchObject({ code: "upstream_bad_content" });
    const message = messageOf(dead);
    expect(message).toContain("HTTP 403");
    expect(message).toContain("expired");
    expect(dead.video_url).toBeNull();
  });
});

describe("newapi: cancel and images", () => {
  it("cancels in Reelay only: new-api has no cancel, so nothing but creates and queries reach it", async () => {
    const a = await emulator();
    const s = await app([na("a", a.url)]);
    const key = await s.newKey();
    a.core.nextTask({ outcome: "never" });
    const id = await create(s, key);
    await pollUntil(
      async () => ({ q: await s.query(key, id), seen: routes(a) }),
      ({ q, seen }) => q.status === "processing" && seen.includes("query"),
      { what: `task ${id} running at the relay`, timeoutMs: 10_000, intervalMs: 50 },
    );
    const cancel = await s.request(`/v1/video/cancel?id=${encodeURIComponent(id)}`, { key, method: "POST" });
    expect(cancel.status).toBe(200);
    await sleep(800);
    expect((await s.query(key, id)).status).toBe("cancelled");
    expect(routes(a).filter((r) => r === "create")).toHaveLength(1);
    expect(routes(a).every((r) => r === "create" || r === "query")).toBe(true);
  });

  it("sends a first frame in `image` (a data URL as given); a last frame, which new-api has no field for, is refused before sending", async () => {
    const a = await emulator();
    const s = await app([na("a", a.url)]);
    const key = await s.newKey();
    const first = `data:image/png;base64,${TINY_PNG.toString("base64")}`;
    const done = await waitForTask(s, key, await create(s, key, { ...BODY, images: [first] }));
    expect(done.status, JSON.stringify(done)).toBe("completed");
    expect(inputs(a)[0]).toMatchObject({ model: "veo-3.1", image: first, duration: 8 });
    expect(inputs(a)[0]).not.toHaveProperty("images");

    const withLast = await waitForTask(
      s,
      key,
      await create(s, key, { ...BODY, images: [first], last_frame: first }),
    );
    expect(withLast.status).toBe("failed");
    expect(messageOf(withLast)).toContain("last_frame");
    expect(a.core.tasks.size).toBe(1);
  });
});
