/**
 * The `dashscope` channel kind (Alibaba Wan on DashScope / Model Studio) against its emulator
 * (test/emulators/dashscope.ts): the seed fields mapped to `size`/`duration` and the upstream
 * model id, both create APIs, durations the model does not make refused before any call,
 * failover on the channel's faults (a refused key, throttling, arrears), the request's faults
 * (invalid parameter, moderation at submit and while running) ending the task without failover,
 * unknown status words, expired links and tasks, cancel, and image-to-video.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type DashScopeEmulator, startDashScope } from "../emulators/dashscope.js";
import { waitForTask } from "../helpers/app.js";
import { type ChannelApp, channel, secretEnv, startWithChannels } from "../helpers/channels.js";
import { ffprobe } from "../helpers/ffprobe.js";
import { startImageServer } from "../helpers/image-server.js";
import { dataUrl } from "../helpers/images.js";
import { pollUntil } from "../helpers/wait.js";

const SECRET_A = "sk-dashscope-a-0123456789";
const SECRET_B = "sk-dashscope-b-0123456789";
const running: { close(): Promise<unknown> }[] = [];
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "reelay-dashscope-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});
afterEach(async () => {
  await Promise.all(
    running
      .splice(0)
      .reverse()
      .map((r) => r.close()),
  );
});

async function emulator(secret: string): Promise<DashScopeEmulator> {
  const e = await startDashScope({ secret });
  e.core.defaultBehaviour = { runMs: 400, outcome: "complete" };
  running.push(e);
  return e;
}

async function app(
  channels: object[],
  env: Record<string, string> = {},
  extra: { env?: Record<string, string> } = {},
): Promise<ChannelApp> {
  const s = await startWithChannels(
    { channels },
    { env: { ...secretEnv("a", SECRET_A), ...secretEnv("b", SECRET_B), ...env, ...extra.env } },
  );
  running.push(s);
  return s;
}

async function create(s: ChannelApp, key: string, body: object): Promise<string> {
  const res = await s.request("/v1/video/create", { key, body });
  const json = (await res.json()) as { id: string };
  expect(res.status, JSON.stringify(json)).toBe(200);
  return json.id;
}

const SEED = {
  model: "wan2.5",
  prompt: "a paper boat on a canal",
  orientation: "landscape",
  size: "large",
  duration: 5,
};
/** `input` or `parameters` of the `i`th create body the emulator received. */
const part = (e: DashScopeEmulator, i: number, k: "input" | "parameters") =>
  (e.creates[i]?.body[k] ?? {}) as Record<string, unknown>;
const routes = (e: DashScopeEmulator) => e.core.requests.map((r) => r.route);
const creates = (e: DashScopeEmulator) => routes(e).filter((r) => r === "create").length;
const messageOf = (t: Record<string, unknown>) => String((t.error as { message?: string } | null)?.message);

async function probe(url: string, name: string) {
  const file = join(dir, name);
  await writeFile(file, Buffer.from(await (await fetch(url)).arrayBuffer()));
  const info = await ffprobe(file);
  return { video: info.streams.find((x) => x.codecType === "video"), durationS: info.durationS };
}

describe("dashscope channel: the request as DashScope takes it", () => {
  it("maps the seed fields and both create APIs, and refuses a duration wan2.5 does not make before any call", async () => {
    const e = await emulator(SECRET_A);
    // The channel exactly as a user configures it (default polling); the local renderer serves
    // the models without an upstream (the sora-2 family), as the config requires.
    const s = await app([
      { id: "a", kind: "dashscope", baseUrl: e.url, secretEnv: "SECRET_A", models: ["wan2.5"] },
      { id: "local", kind: "local" },
    ]);
    const key = await s.newKey();

    // (a) the unified API with seed fields only
    const id = await create(s, key, SEED);
    const done = await waitForTask(s, key, id);
    expect(done.status, JSON.stringify(done)).toBe("completed");
    expect(done).toMatchObject({ width: 1920, height: 1080 });
    const a = await probe(String(done.video_url), "seed.mp4");
    expect(a.video).toMatchObject({ codecName: "h264", width: 1920, height: 1080 });
    expect(Math.round(a.durationS)).toBe(5);
    const first = e.creates[0];
    expect(first?.async).toBe("enable");
    expect(first?.body).toMatchObject({
      model: "wan2.5-t2v-preview",
      input: { prompt: SEED.prompt },
      // The request's watermark choice (Reelay's default: on) goes as DashScope's switch.
      parameters: { size: "1920*1080", duration: 5, watermark: true },
    });
    expect(part(e, 0, "parameters").resolution).toBeUndefined();
    expect(part(e, 0, "input").img_url).toBeUndefined();
    const auths = new Set(e.core.requests.filter((r) => r.route !== "content").map((r) => r.auth));
    expect([...auths]).toEqual([`Bearer ${SECRET_A}`]);
    // The result link is DashScope's own signed one, fetched without the key.
    expect(e.core.requests.find((r) => r.route === "content")?.path).toMatch(/Expires=\d+.*Signature=/);

    // (b) the OpenAI-shaped API
    const res = await s.request("/v1/videos", {
      key,
      body: { model: "wan2.5", prompt: "a kite over dunes", size: "720x1280", seconds: "10" },
    });
    expect(res.status).toBe(200);
    const vid = ((await res.json()) as { id: string }).id;
    expect((await waitForTask(s, key, vid)).status).toBe("completed");
    const content = await s.request(`/v1/videos/${encodeURIComponent(vid)}/content`, { key });
    expect(content.status).toBe(200);
    const file = join(dir, "openai.mp4");
    await writeFile(file, Buffer.from(await content.arrayBuffer()));
    const info = await ffprobe(file);
    expect(info.streams.find((x) => x.codecType === "video")).toMatchObject({ width: 720, height: 1280 });
    expect(Math.round(info.durationS)).toBe(10);
    expect(e.creates[1]?.body).toMatchObject({
      model: "wan2.5-t2v-preview",
      parameters: { size: "720*1280", duration: 10 },
    });

    // (c) a duration wan2.5 does not make: 400 naming the field and the allowed values, nothing sent
    const before = e.core.requests.length;
    const bad = await s.request("/v1/video/create", { key, body: { ...SEED, duration: 7 } });
    expect(bad.status).toBe(400);
    const text = await bad.text();
    expect(text).toContain("duration");
    expect(text).toMatch(/5.*10/);
    expect(e.core.requests.length).toBe(before);
  });

  it("sends a first frame as img_url to the image-to-video model: an upload as a data URL, a link as it is", async () => {
    const images = await startImageServer();
    running.push(images);
    const e = await emulator(SECRET_A);
    const s = await app(
      [channel("a", "dashscope", e.url, { models: ["wan2.5"] }), { id: "local", kind: "local" }],
      {
        REELAY_IMAGE_ALLOW_HOSTS: images.host,
      },
    );
    const key = await s.newKey();
    const link = `${images.url}/a.png`;
    const viaLink = await create(s, key, { ...SEED, size: "small", images: [link] });
    expect((await waitForTask(s, key, viaLink)).status).toBe("completed");
    expect(e.creates[0]?.body).toMatchObject({
      model: "wan2.5-i2v-preview",
      input: { prompt: SEED.prompt, img_url: link },
      parameters: { resolution: "720P", duration: 5 },
    });
    expect(part(e, 0, "parameters").size).toBeUndefined();

    // An upload (a 1600×1200 PNG sent inline): it reaches DashScope as a data URL.
    const png = Buffer.from(await (await fetch(link)).arrayBuffer());
    const upload = await create(s, key, { ...SEED, images: [dataUrl(png)] });
    const done = await waitForTask(s, key, upload);
    expect(done.status, JSON.stringify(done)).toBe("completed");
    expect(done).toMatchObject({ width: 1920, height: 1080 });
    expect(e.creates[1]?.body).toMatchObject({
      model: "wan2.5-i2v-preview",
      parameters: { resolution: "1080P" },
    });
    expect(String(part(e, 1, "input").img_url)).toBe(dataUrl(png));
  });
});

describe("dashscope channel: faults", () => {
  const twoChannels = (a: DashScopeEmulator, b: DashScopeEmulator) => [
    channel("a", "dashscope", a.url, { priority: 10, cooldown: { failures: 1, seconds: 600 } }),
    channel("b", "dashscope", b.url, { priority: 5 }),
  ];
  const stateOf = async (s: ChannelApp, id: string) =>
    (
      (await (await s.request("/admin/channels", { key: s.adminToken })).json()) as {
        data: { id: string; state: string; failures: number }[];
      }
    ).data.find((c) => c.id === id);

  for (const [what, script] of [
    ["a refused API key (401 InvalidApiKey)", null],
    ["throttling (429 Throttling.RateQuota)", "Throttling.RateQuota"],
    ["arrears (400 Arrearage)", "Arrearage"],
  ] as const) {
    it(`fails over on ${what} at submit, and cools the first channel down`, async () => {
      const a = await emulator(SECRET_A);
      const b = await emulator(SECRET_B);
      // The refused key: channel a's configured secret is not the one its upstream knows.
      const s = await app(twoChannels(a, b), script ? {} : secretEnv("a", "sk-wrong-key-000000000"));
      if (script) a.refuseNext(script);
      const key = await s.newKey();
      const done = await waitForTask(s, key, await create(s, key, SEED));
      expect(done.status, JSON.stringify(done)).toBe("completed");
      expect(creates(a)).toBe(1);
      expect(creates(b)).toBe(1);
      expect(await stateOf(s, "a")).toMatchObject({ state: "cooling_down", failures: 1 });
      // While it cools down, the next task goes straight to b.
      expect((await waitForTask(s, key, await create(s, key, SEED))).status).toBe("completed");
      expect(creates(a)).toBe(1);
    });
  }

  it("fails the task with DashScope's reason on an invalid parameter, without failover", async () => {
    const a = await emulator(SECRET_A);
    const b = await emulator(SECRET_B);
    const s = await app(twoChannels(a, b));
    const key = await s.newKey();
    a.refuseNext("InvalidParameter");
    const done = await waitForTask(s, key, await create(s, key, SEED));
    expect(done.status).toBe("failed");
    expect(done.error).toMatchObject({ code: "upstream_rejected" });
    expect(messageOf(done)).toContain("InvalidParameter");
    expect(messageOf(done)).toContain("Required parameter(s) missing or invalid");
    expect(creates(b)).toBe(0);
  });

  it("ends a task refused by moderation (at submit, and while running) as content_policy, tried once", async () => {
    const a = await emulator(SECRET_A);
    const b = await emulator(SECRET_B);
    const s = await app(twoChannels(a, b));
    const key = await s.newKey();
    a.refuseNext("DataInspectionFailed");
    const atSubmit = await waitForTask(s, key, await create(s, key, SEED));
    expect(atSubmit.status).toBe("failed");
    expect(atSubmit.error).toMatchObject({ code: "content_policy" });
    expect(messageOf(atSubmit)).toContain("DataInspectionFailed");
    expect(creates(a)).toBe(1);

    a.core.nextTask({
      outcome: "fail",
      runMs: 300,
      failCode: "DataInspectionFailed",
      failMessage: "Output data may contain inappropriate content.",
    });
    const whileRunning = await waitForTask(s, key, await create(s, key, SEED));
    expect(whileRunning.status).toBe("failed");
    expect(whileRunning.error).toMatchObject({ code: "content_policy" });
    expect(messageOf(whileRunning)).toContain("Output data may contain inappropriate content.");
    expect(creates(a)).toBe(2);
    expect(creates(b)).toBe(0);
  });

  it("keeps a task running through a status word DashScope never listed", async () => {
    const a = await emulator(SECRET_A);
    const s = await app([channel("a", "dashscope", a.url)]);
    const key = await s.newKey();
    a.core.nextTask({ runMs: 2000, runningStatuses: ["WAITING_FOR_GPU"] });
    const id = await create(s, key, SEED);
    await pollUntil(() => routes(a).filter((r) => r === "query").length >= 3, Boolean, {
      what: "three upstream polls",
      timeoutMs: 10_000,
    });
    expect(["pending", "processing"]).toContain((await s.query(key, id)).status);
    expect((await waitForTask(s, key, id)).status).toBe("completed");
  });

  it("fails a task whose result link has expired, saying so, and one DashScope no longer knows (UNKNOWN)", async () => {
    const a = await emulator(SECRET_A);
    const s = await app([channel("a", "dashscope", a.url)]);
    const key = await s.newKey();
    a.resultTtlMs = 0;
    const lapsed = await waitForTask(s, key, await create(s, key, SEED));
    expect(lapsed.status).toBe("failed");
    expect(messageOf(lapsed)).toContain("result link expired");
    a.resultTtlMs = 24 * 3600 * 1000;
    a.core.nextTask({ outcome: "expire", runMs: 300 });
    const unknown = await waitForTask(s, key, await create(s, key, SEED));
    expect(unknown.status).toBe("failed");
    expect(unknown.error).toMatchObject({ code: "upstream_expired" });
  });

  it("passes a cancel upstream", async () => {
    const a = await emulator(SECRET_A);
    const s = await app([channel("a", "dashscope", a.url)]);
    const key = await s.newKey();
    a.core.nextTask({ outcome: "never" });
    const id = await create(s, key, SEED);
    await pollUntil(() => routes(a).includes("query"), Boolean, {
      what: "an upstream poll",
      timeoutMs: 5000,
    });
    const res = await s.request(`/v1/video/cancel?id=${encodeURIComponent(id)}`, { key, method: "POST" });
    expect(res.status).toBe(200);
    await pollUntil(() => routes(a).includes("cancel"), Boolean, {
      what: "an upstream cancel",
      timeoutMs: 5000,
    });
    const cancel = a.core.requests.find((r) => r.route === "cancel");
    expect(cancel?.method).toBe("POST");
    expect(cancel?.path).toMatch(/^\/api\/v1\/tasks\/[^/]+\/cancel$/);
    expect(cancel?.auth).toBe(`Bearer ${SECRET_A}`);
    expect((await s.query(key, id)).status).toBe("cancelled");
  });
});
