/**
 * Kling channels against the emulated Kling API (test/emulators/kling.ts): both APIs end to end
 * with both credentials (API key, and access key + secret key as signed JWTs), what reaches Kling
 * (model id, aspect ratio, mode, duration as a string, external_task_id, images), and its faults:
 * refused credentials and quota/concurrency fail over and cool the channel, a bad parameter fails
 * with Kling's reason, moderation at submit and while running fails as content_policy without
 * failover, an unknown status word keeps the task running, an expired result link fails it.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { signKlingJwt } from "../../src/adapters/providers/kling/jwt.js";
import { checkJwt, type KlingEmulator, klingFault, startKling } from "../emulators/kling.js";
import { waitForTask } from "../helpers/app.js";
import { type ChannelApp, channel, secretEnv, startWithChannels } from "../helpers/channels.js";
import { ffprobe } from "../helpers/ffprobe.js";
import { dataUrl, TINY_PNG } from "../helpers/images.js";
import { closedAfterEach } from "../helpers/provider-e2e.js";
import { pollUntil, sleep } from "../helpers/wait.js";

const MODEL = "kling-v2.1-master";
const KEY_A = "kling-api-key-a-0123456789";
const KEY_B = "kling-api-key-b-0123456789";
const AK = "kling-access-key-0123";
const SK = "kling-secret-key-0123456789";

const running = closedAfterEach();

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "reelay-kling-e2e-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function kling(secret = KEY_A): Promise<KlingEmulator> {
  const e = await startKling({ secret, accessKey: AK, secretKey: SK });
  e.core.defaultBehaviour = { runMs: 800, outcome: "complete" };
  running.push(e);
  return e;
}

/**
 * The app with these channels. The local renderer comes along: the built-in sora-2 models have no
 * upstream id, and a config file must have a channel for them (it serves no Kling model).
 */
async function app(channels: object[], env: Record<string, string>): Promise<ChannelApp> {
  const s = await startWithChannels({ channels: [...channels, { id: "local", kind: "local" }] }, { env });
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
  model: MODEL,
  prompt: "a red kite over the sea",
  orientation: "landscape",
  size: "large",
  duration: 5,
};
const routes = (e: KlingEmulator) => e.core.requests.map((r) => r.route);
const count = (e: KlingEmulator, route: string) => routes(e).filter((r) => r === route).length;

async function probeResult(task: Record<string, unknown>, name: string) {
  const file = join(dir, name);
  await writeFile(file, Buffer.from(await (await fetch(String(task.video_url))).arrayBuffer()));
  const info = await ffprobe(file);
  return { video: info.streams.find((x) => x.codecType === "video"), durationS: info.durationS };
}

/** Two kling channels, a first and a fallback, fast polling; `a` cools down after one failure. */
async function pair() {
  const a = await kling(KEY_A);
  const b = await kling(KEY_B);
  const s = await app(
    [
      channel("a", "kling", a.url, { priority: 10, models: [MODEL], cooldown: { failures: 1, seconds: 60 } }),
      channel("b", "kling", b.url, { priority: 5, models: [MODEL] }),
    ],
    { ...secretEnv("a", KEY_A), ...secretEnv("b", KEY_B) },
  );
  return { a, b, s, key: await s.newKey() };
}

async function channelState(s: ChannelApp, id: string) {
  const res = await s.request("/admin/channels", { key: s.adminToken });
  const list = (await res.json()) as { data: { id: string; state: string; failures: number }[] };
  return list.data.find((c) => c.id === id);
}

describe("kling: a task end to end", () => {
  it("makes a 1080p landscape video from the seed fields with an API key, and sends Kling the mapped fields", async () => {
    const e = await kling();
    const s = await app(
      [{ id: "k", kind: "kling", baseUrl: e.url, secretEnv: "KLING_KEY", models: [MODEL] }],
      { KLING_KEY: KEY_A },
    );
    const key = await s.newKey();
    const id = await create(s, key, SEED);
    const done = await waitForTask(s, key, id);
    expect(done.status, JSON.stringify(done)).toBe("completed");
    expect(done).toMatchObject({ width: 1920, height: 1080 });
    const { video, durationS } = await probeResult(done, "t2v.mp4");
    expect(video).toMatchObject({ codecName: "h264", width: 1920, height: 1080 });
    expect(Math.round(durationS)).toBe(5);
    expect(e.bodies).toHaveLength(1);
    expect(e.bodies[0]).toEqual({
      model_name: "kling-v2-1-master",
      prompt: "a red kite over the sea",
      mode: "pro",
      duration: "5",
      aspect_ratio: "16:9",
      external_task_id: id,
    });
    const create0 = e.core.requests.find((r) => r.route === "create");
    expect(create0?.path).toBe("/v1/videos/text2video");
    // A lookup by external_task_id first, then the create, polls of the task and its download.
    expect(routes(e).slice(0, 2)).toEqual(["lookup", "create"]);
    expect(routes(e)).toContain("query");
    expect(routes(e)).toContain("content");
    expect(
      e.core.requests.filter((r) => r.route !== "content").every((r) => r.auth === `Bearer ${KEY_A}`),
    ).toBe(true);
  });

  it("signs HS256 JWTs from the access key and secret key, which Kling checks, through POST /v1/videos", async () => {
    const e = await kling();
    const s = await app(
      [
        {
          id: "k",
          kind: "kling",
          baseUrl: e.url,
          accessKeyEnv: "KLING_AK",
          secretKeyEnv: "KLING_SK",
          models: [MODEL],
        },
      ],
      { KLING_AK: AK, KLING_SK: SK },
    );
    const key = await s.newKey();
    const res = await s.request("/v1/videos", {
      key,
      body: { model: MODEL, prompt: "a lighthouse", size: "1920x1080", seconds: "10" },
    });
    const { id } = (await res.json()) as { id: string };
    expect(res.status).toBe(200);
    const done = await waitForTask(s, key, id);
    expect(done.status, JSON.stringify(done)).toBe("completed");
    const v = (await (await s.request(`/v1/videos/${encodeURIComponent(id)}`, { key })).json()) as Record<
      string,
      unknown
    >;
    expect(v).toMatchObject({ status: "completed", size: "1920x1080", seconds: "10" });
    const content = await s.request(`/v1/videos/${encodeURIComponent(id)}/content`, { key });
    const file = join(dir, "jwt.mp4");
    await writeFile(file, Buffer.from(await content.arrayBuffer()));
    const info = await ffprobe(file);
    expect(info.streams.find((x) => x.codecType === "video")).toMatchObject({ width: 1920, height: 1080 });
    expect(Math.round(info.durationS)).toBe(10);
    expect(e.bodies[0]).toMatchObject({
      model_name: "kling-v2-1-master",
      duration: "10",
      aspect_ratio: "16:9",
    });
    const api = e.core.requests.filter((r) => r.route !== "content");
    expect(api.length).toBeGreaterThan(2);
    for (const r of api) {
      const token = (r.auth ?? "").replace(/^Bearer /, "");
      expect(token).not.toBe(KEY_A);
      expect(checkJwt(token, { accessKey: AK, secretKey: SK }, Math.floor(Date.now() / 1000))).toBe(0);
    }
  });

  it("refuses a duration the model does not make before anything reaches Kling", async () => {
    const e = await kling();
    const s = await app([channel("k", "kling", e.url, { models: [MODEL] })], secretEnv("k", KEY_A));
    const key = await s.newKey();
    const res = await s.request("/v1/video/create", { key, body: { ...SEED, duration: 7 } });
    expect(res.status).toBe(400);
    const text = await res.text();
    expect(text).toContain("duration");
    expect(text).toMatch(/5.*10/);
    expect(e.core.requests).toEqual([]);
  });

  it("sends an uploaded first frame as raw base64 in `image` to image2video, and polls there", async () => {
    const e = await kling();
    const s = await app([channel("k", "kling", e.url, { models: [MODEL] })], secretEnv("k", KEY_A));
    const key = await s.newKey();
    const id = await create(s, key, { ...SEED, images: [dataUrl(TINY_PNG)] });
    const done = await waitForTask(s, key, id);
    expect(done.status, JSON.stringify(done)).toBe("completed");
    const body = e.bodies[0] ?? {};
    expect(body.image).toBe(TINY_PNG.toString("base64"));
    expect(body).not.toHaveProperty("image_tail"); // kling-v2-1-master takes no end frame
    expect(body).not.toHaveProperty("aspect_ratio"); // image2video takes the image's
    expect(body).toMatchObject({
      model_name: "kling-v2-1-master",
      mode: "pro",
      duration: "5",
      external_task_id: id,
    });
    const paths = e.core.requests
      .filter((r) => r.route === "create" || r.route === "query")
      .map((r) => r.path);
    expect(paths[0]).toBe("/v1/videos/image2video");
    expect(paths.slice(1).every((p) => p.startsWith("/v1/videos/image2video/"))).toBe(true);
  });

  it("cancels in Reelay only: Kling has no cancel endpoint, so nothing more is sent", async () => {
    const e = await kling();
    e.core.nextTask({ outcome: "never" });
    const s = await app([channel("k", "kling", e.url, { models: [MODEL] })], secretEnv("k", KEY_A));
    const key = await s.newKey();
    const id = await create(s, key, SEED);
    await pollUntil(
      () => s.query(key, id),
      (q) => q.status === "processing" && count(e, "query") > 0,
      { what: `task ${id} running at Kling`, timeoutMs: 10_000, intervalMs: 50 },
    );
    const res = await s.request(`/v1/video/cancel?id=${encodeURIComponent(id)}`, { key, method: "POST" });
    expect(res.status).toBe(200);
    await sleep(500);
    expect((await s.query(key, id)).status).toBe("cancelled");
    expect(e.core.requests.filter((r) => r.method !== "GET").map((r) => r.route)).toEqual(["create"]);
  });
});

describe("kling: faults", () => {
  it("re-sends a create whose answer was lost to the same channel, where Kling's external_task_id finds the one task", async () => {
    const e = await kling();
    const s = await app(
      [channel("k", "kling", e.url, { models: [MODEL], timeouts: { connectMs: 1000, requestMs: 500 } })],
      secretEnv("k", KEY_A),
    );
    const key = await s.newKey();
    e.core.fault("create", { kind: "slow", delayMs: 1500 });
    const done = await waitForTask(s, key, await create(s, key, SEED));
    expect(done.status, JSON.stringify(done)).toBe("completed");
    expect(count(e, "create")).toBeGreaterThanOrEqual(1);
    expect(e.core.tasks.size).toBe(1);
  });

  it("fails over when Kling refuses the credential (1000) and cools the channel down", async () => {
    const { a, b, s, key } = await pair();
    a.core.fault("lookup", klingFault(1000));
    const done = await waitForTask(s, key, await create(s, key, SEED));
    expect(done.status, JSON.stringify(done)).toBe("completed");
    expect(count(a, "create")).toBe(0);
    expect(count(b, "create")).toBe(1);
    expect(await channelState(s, "a")).toMatchObject({ state: "cooling_down" });
  });

  it("fails over when a JWT is signed with the wrong secret key (401, 1002)", async () => {
    const a = await kling();
    const b = await kling(KEY_B);
    const s = await app(
      [
        channel("a", "kling", a.url, {
          priority: 10,
          models: [MODEL],
          secretEnv: undefined,
          accessKeyEnv: "AK_A",
          secretKeyEnv: "SK_A",
        }),
        channel("b", "kling", b.url, { priority: 5, models: [MODEL] }),
      ],
      { AK_A: AK, SK_A: "not-the-secret-key", ...secretEnv("b", KEY_B) },
    );
    const key = await s.newKey();
    const done = await waitForTask(s, key, await create(s, key, SEED));
    expect(done.status, JSON.stringify(done)).toBe("completed");
    expect(count(a, "create")).toBe(0);
    expect(count(b, "create")).toBe(1);
  });

  for (const code of [1102, 1303, 5001]) {
    it(`fails over on ${code} at create (quota, concurrency, maintenance) and cools the channel down`, async () => {
      const { a, b, s, key } = await pair();
      a.core.fault("create", klingFault(code));
      const done = await waitForTask(s, key, await create(s, key, SEED));
      expect(done.status, JSON.stringify(done)).toBe("completed");
      expect(count(a, "create")).toBe(1);
      expect(count(b, "create")).toBe(1);
      expect(await channelState(s, "a")).toMatchObject({ state: "cooling_down" });
    });
  }

  it("fails with Kling's reason on an invalid parameter (1201), without failover", async () => {
    const { a, b, s, key } = await pair();
    a.core.fault("create", klingFault(1201, "duration value is illegal"));
    const done = await waitForTask(s, key, await create(s, key, SEED));
    expect(done.status).toBe("failed");
    expect(done.error).toMatchObject({ code: "upstream_rejected" });
    const message = String((done.error as { message: string }).message);
    expect(message).toContain("1201");
    expect(message).toContain("duration value is illegal");
    expect(routes(b)).toEqual([]);
  });

  it("fails as content_policy when Kling's content security refuses the create (1301), tried once", async () => {
    const { a, b, s, key } = await pair();
    a.core.fault("create", klingFault(1301));
    const done = await waitForTask(s, key, await create(s, key, SEED));
    expect(done.status).toBe("failed");
    expect(done.error).toMatchObject({ code: "content_policy" });
    expect(String((done.error as { message: string }).message)).toContain("content security");
    expect(count(a, "create")).toBe(1);
    expect(routes(b)).toEqual([]);
  });

  it("fails as content_policy when the task fails Kling's risk control while running, without failover", async () => {
    const { a, b, s, key } = await pair();
    a.core.nextTask({ outcome: "fail", runMs: 600, failMessage: "Failure to pass the risk control system" });
    const done = await waitForTask(s, key, await create(s, key, SEED));
    expect(done.status).toBe("failed");
    expect(done.error).toMatchObject({ code: "content_policy" });
    expect(String((done.error as { message: string }).message)).toContain("risk control");
    expect(count(a, "create")).toBe(1);
    expect(routes(b)).toEqual([]);
  });

  it("keeps a task with a status word Kling does not document running until it succeeds", async () => {
    const { a, s, key } = await pair();
    a.core.nextTask({ runMs: 1500, runningStatuses: ["queueing_in_cluster"] });
    const id = await create(s, key, SEED);
    await pollUntil(
      () => s.query(key, id),
      () => a.core.requests.filter((r) => r.route === "query").length >= 2,
      { what: "two polls", timeoutMs: 10_000, intervalMs: 50 },
    );
    expect((await s.query(key, id)).status).toBe("processing");
    const done = await waitForTask(s, key, id);
    expect(done.status, JSON.stringify(done)).toBe("completed");
  });

  it("fails a task whose result link has expired over to the next channel, saying why; with none left it fails clearly", async () => {
    const { a, b, s, key } = await pair();
    a.resultTtlMs = 0;
    const id = await create(s, key, SEED);
    const moved = await waitForTask(s, key, id);
    expect(moved.status, JSON.stringify(moved)).toBe("completed");
    const attempts = (await s.query(key, id)).attempts as {
      channel: string;
      error: { class: string; message: string } | null;
    }[];
    expect(attempts.map((t) => t.channel)).toEqual(["a", "b"]);
    expect(attempts[0]?.error?.class).toBe("result_unavailable");
    expect(attempts[0]?.error?.message).toMatch(/403.*expired/);
    // Both channels' links dead: the last attempt fails the task.
    b.resultTtlMs = 0;
    const done = await waitForTask(s, key, await create(s, key, SEED));
    expect(done.status).toBe("failed");
    expect(done.error).toMatchObject({ code: "upstream_bad_content" });
    expect(String((done.error as { message: string }).message)).toMatch(/403.*expired/);
  });
});

describe("kling emulator: Kling's documented refusals", () => {
  const post = (e: KlingEmulator, auth: string | null, body: unknown) =>
    fetch(`${e.url}/v1/videos/text2video`, {
      method: "POST",
      headers: { "content-type": "application/json", ...(auth ? { authorization: auth } : {}) },
      body: JSON.stringify(body),
    });
  const nowS = () => Math.floor(Date.now() / 1000);
  const keys = { accessKey: AK, secretKey: SK };

  it("answers 401 with Kling's codes for a missing, invalid, not yet valid or expired credential", async () => {
    const e = await kling();
    const body = { model_name: "kling-v2-1-master", prompt: "x" };
    const codeOf = async (auth: string | null) => {
      const res = await post(e, auth, body);
      expect(res.status).toBe(401);
      return ((await res.json()) as { code: number }).code;
    };
    expect(await codeOf(null)).toBe(1001);
    expect(await codeOf("Bearer wrong-key")).toBe(1002);
    expect(await codeOf(`Bearer ${signKlingJwt({ accessKey: "other", secretKey: SK }, nowS())}`)).toBe(1002);
    expect(await codeOf(`Bearer ${signKlingJwt({ accessKey: AK, secretKey: "other" }, nowS())}`)).toBe(1002);
    expect(await codeOf(`Bearer ${signKlingJwt(keys, nowS() + 600)}`)).toBe(1003);
    expect(await codeOf(`Bearer ${signKlingJwt(keys, nowS() - 4000)}`)).toBe(1004);
    expect((await post(e, `Bearer ${signKlingJwt(keys, nowS())}`, body)).status).toBe(200);
  });

  it("answers 400 with 1201 for a wrong type or value", async () => {
    const e = await kling();
    const auth = `Bearer ${KEY_A}`;
    for (const bad of [
      { model_name: "kling-v2-1-master", prompt: "x", duration: 5 },
      { model_name: "kling-v2-1-master", prompt: "x", duration: "7" },
      { model_name: "kling-v2-1-master", prompt: "x", aspect_ratio: "4:3" },
      { model_name: "kling-v9", prompt: "x" },
      { model_name: "kling-v2-1-master" },
    ]) {
      const res = await post(e, auth, bad);
      expect(res.status, JSON.stringify(bad)).toBe(400);
      expect(((await res.json()) as { code: number }).code).toBe(1201);
    }
    expect(e.core.tasks.size).toBe(0);
  });
});
