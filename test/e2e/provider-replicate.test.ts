/**
 * The `replicate` channel kind against an emulated Replicate predictions API
 * (test/emulators/replicate.ts): both create APIs end to end with the MP4 read back, what reaches
 * Replicate (the model's own input names, the model's route, the token), durations refused before
 * anything is sent, Replicate's refusals as failover, refusal or content policy, unknown status
 * words, output files removed after their lifetime, cancel passed upstream, first/last frames, a
 * version id, and result files on another host (the SSRF guard's allow-list, no credential sent).
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { resolveMediaTools } from "../../src/adapters/providers/local-renderer/media-tools.js";
import {
  MODERATION_ERROR,
  type ReplicateEmulator,
  replicateError,
  startReplicate,
} from "../emulators/replicate.js";
import { waitForTask } from "../helpers/app.js";
import { type ChannelApp, channel, secretEnv, startWithChannels } from "../helpers/channels.js";
import { ffprobe } from "../helpers/ffprobe.js";
import { makePng } from "../helpers/image-server.js";
import { dataUrl, TINY_PNG } from "../helpers/images.js";
import { channelsView, closedAfterEach } from "../helpers/provider-e2e.js";
import { pollUntil, sleep } from "../helpers/wait.js";

const SECRET_A = "r8_secret-a-0123456789";
const SECRET_B = "r8_secret-b-0123456789";
const MODEL = "replicate-hailuo-02";
const VERSION = "c43b610efe40d08a28d2c07cb3515dab1cd3324dfc7418f3304a092571071d22";

const running = closedAfterEach();

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "reelay-replicate-e2e-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function emulator(secret = SECRET_A): Promise<ReplicateEmulator> {
  const e = await startReplicate({ secret });
  e.core.defaultBehaviour = { runMs: 400 };
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

/** A fast-polling replicate channel serving replicate-hailuo-02. */
const rep = (id: string, url: string, extra: Record<string, unknown> = {}) =>
  channel(id, "replicate", url, { models: [MODEL], ...extra });

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

const routes = (e: ReplicateEmulator) => e.core.requests.map((r) => r.route);
const inputs = (e: ReplicateEmulator) => [...e.core.tasks.values()].map((t) => t.input);
const message = (t: Record<string, unknown>) => String((t.error as { message: string }).message);

async function probe(bytes: ArrayBuffer, name: string) {
  const file = join(dir, name);
  await writeFile(file, Buffer.from(bytes));
  const info = await ffprobe(file);
  return { video: info.streams.find((x) => x.codecType === "video"), durationS: info.durationS };
}

describe("replicate: both create APIs", () => {
  it("makes a 1080p 6 s video from the seed's fields, with the channel configured by id, kind, baseUrl, secretEnv and models only", async () => {
    const a = await emulator();
    const s = await app([
      { id: "a", kind: "replicate", baseUrl: a.url, secretEnv: "SECRET_A", models: [MODEL] },
    ]);
    const key = await s.newKey();
    const id = await create(s, key);
    const done = await waitForTask(s, key, id);
    expect(done.status, JSON.stringify(done)).toBe("completed");
    const { video, durationS } = await probe(
      await (await fetch(String(done.video_url))).arrayBuffer(),
      "a.mp4",
    );
    expect(video).toMatchObject({ codecName: "h264", width: 1920, height: 1080 });
    expect(Math.round(durationS)).toBe(6);
    // The official model's route, Hailuo's own input names (no aspect field: 16:9 is its
    // text-to-video aspect), and the token as a Bearer credential.
    const createReq = a.core.requests.find((r) => r.route === "create");
    expect(createReq).toMatchObject({ method: "POST", path: "/v1/models/minimax/hailuo-02/predictions" });
    expect(inputs(a)).toEqual([{ prompt: "a paper boat on a canal", duration: 6, resolution: "1080p" }]);
    expect(routes(a)).toEqual(expect.arrayContaining(["create", "get", "download"]));
    for (const r of a.core.requests) expect(r.auth).toBe(`Bearer ${SECRET_A}`);
  });

  it("makes a 768p 10 s video through /v1/videos (size, seconds)", async () => {
    const a = await emulator();
    const s = await app([rep("a", a.url)]);
    const key = await s.newKey();
    const res = await s.request("/v1/videos", {
      key,
      body: { model: MODEL, prompt: "fog over a harbour", size: "1366x768", seconds: "10" },
    });
    const json = (await res.json()) as { id: string };
    expect(res.status, JSON.stringify(json)).toBe(200);
    expect((await waitForTask(s, key, json.id)).status).toBe("completed");
    const content = await s.request(`/v1/videos/${encodeURIComponent(json.id)}/content`, { key });
    expect(content.status).toBe(200);
    const { video, durationS } = await probe(await content.arrayBuffer(), "b.mp4");
    expect(video).toMatchObject({ width: 1366, height: 768 });
    expect(Math.round(durationS)).toBe(10);
    expect(inputs(a)).toEqual([{ prompt: "fog over a harbour", duration: 10, resolution: "768p" }]);
  });

  it("refuses a duration the model does not make with 400 naming duration and its values; nothing reaches Replicate", async () => {
    const a = await emulator();
    const s = await app([rep("a", a.url)]);
    const key = await s.newKey();
    const res = await s.request("/v1/video/create", { key, body: { ...BODY, duration: 5 } });
    expect(res.status).toBe(400);
    const { error } = (await res.json()) as { error: { param: string | null; message: string } };
    expect(error.param).toBe("duration");
    expect(error.message).toMatch(/6.*10/);
    expect(a.core.requests).toEqual([]);
  });

  it("sends a channel's version id (owner/name:<id>) to /v1/predictions as the version", async () => {
    const a = await emulator();
    const s = await app([
      channel("a", "replicate", a.url, { models: { [MODEL]: `minimax/hailuo-02:${VERSION}` } }),
    ]);
    const key = await s.newKey();
    const done = await waitForTask(s, key, await create(s, key));
    expect(done.status, JSON.stringify(done)).toBe("completed");
    expect(a.core.requests.find((r) => r.route === "create")?.path).toBe("/v1/predictions");
    const [only] = [...a.core.tasks.keys()];
    expect(a.modelOf.get(String(only))).toBe("minimax/hailuo-02");
    expect(inputs(a)[0]).toMatchObject({ duration: 6, resolution: "1080p" });
  });
});

describe("replicate: Replicate's refusals", () => {
  it("fails over when Replicate refuses the token (401), and cools the channel down", async () => {
    const a = await emulator("r8_some-other-token-0123");
    const b = await emulator(SECRET_B);
    const s = await app([
      rep("a", a.url, { priority: 10, cooldown: { failures: 1, seconds: 60 } }),
      rep("b", b.url, { priority: 5 }),
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

  it("fails over on insufficient credit (402) and throttling (429); the channel cools down after them", async () => {
    const a = await emulator();
    const b = await emulator(SECRET_B);
    const s = await app([
      rep("a", a.url, { priority: 10, cooldown: { failures: 2, seconds: 60 } }),
      rep("b", b.url, { priority: 5 }),
    ]);
    const key = await s.newKey();
    a.core.fault(
      "create",
      replicateError(402, "Insufficient credit", "You have insufficient credit to run this model."),
    );
    a.core.fault("create", replicateError(429, "Request was throttled.", "Request was throttled.", 1));
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

  it("fails a task whose input Replicate refuses (422) with Replicate's reason, not sent elsewhere", async () => {
    const a = await emulator();
    const b = await emulator(SECRET_B);
    const s = await app([rep("a", a.url, { priority: 10 }), rep("b", b.url, { priority: 5 })]);
    const key = await s.newKey();
    a.core.fault(
      "create",
      replicateError(
        422,
        "Input validation failed",
        "- input.duration: duration must be one of the following: 6, 10\n",
      ),
    );
    const done = await waitForTask(s, key, await create(s, key));
    expect(done.status).toBe("failed");
    expect(done.error).toMatchObject({ code: "upstream_rejected" });
    expect(message(done)).toContain("duration must be one of the following");
    expect(b.core.requests).toEqual([]);
  });

  it("fails with content_policy when Replicate refuses the input as sensitive at create, attempted once, not failed over", async () => {
    const a = await emulator();
    const b = await emulator(SECRET_B);
    const s = await app([rep("a", a.url, { priority: 10 }), rep("b", b.url, { priority: 5 })]);
    const key = await s.newKey();
    a.core.fault("create", replicateError(422, "Input validation failed", MODERATION_ERROR));
    const done = await waitForTask(s, key, await create(s, key));
    expect(done.status).toBe("failed");
    expect(done.error).toMatchObject({ code: "content_policy" });
    expect(message(done)).toContain("flagged as sensitive");
    expect((done.detail as { pending_info: { attempts: number } }).pending_info.attempts).toBe(1);
    expect(routes(a)).toEqual(["create"]);
    expect(b.core.requests).toEqual([]);
  });

  it("fails with content_policy when the prediction fails on NSFW content while running, not failed over", async () => {
    const a = await emulator();
    const b = await emulator(SECRET_B);
    const s = await app([rep("a", a.url, { priority: 10 }), rep("b", b.url, { priority: 5 })]);
    const key = await s.newKey();
    a.core.nextTask({
      outcome: "fail",
      runMs: 300,
      failMessage: "NSFW content detected. Try running it again, or try a different prompt.",
    });
    const done = await waitForTask(s, key, await create(s, key));
    expect(done.status).toBe("failed");
    expect(done.error).toMatchObject({ code: "content_policy" });
    expect(message(done)).toContain("NSFW content detected");
    expect((done.detail as { pending_info: { attempts: number } }).pending_info.attempts).toBe(1);
    expect(routes(a).filter((r) => r === "create")).toHaveLength(1);
    expect(b.core.requests).toEqual([]);
  });

  it("keeps a task running through status words it does not know", async () => {
    const a = await emulator();
    const s = await app([rep("a", a.url)]);
    const key = await s.newKey();
    a.core.nextTask({ runMs: 1500, runningStatuses: ["booting", undefined, "processing"] });
    const id = await create(s, key);
    const seen = new Set<string>();
    await pollUntil(
      async () => {
        const q = await s.query(key, id);
        seen.add(String(q.status));
        return q.status;
      },
      (status) => status === "completed" || status === "failed",
      { what: `task ${id} to end`, timeoutMs: 30_000 },
    );
    expect(seen.has("failed")).toBe(false);
    expect(seen.has("completed")).toBe(true);
    const metrics = await (await s.request("/metrics", { key: s.adminToken })).text();
    expect(metrics).toMatch(/reelay_upstream_unknown_status_total\{channel="a",status="booting"\} [1-9]/);
  });

  it("retries a failed download from the prediction's link, and fails clearly once Replicate has removed the output", async () => {
    const a = await emulator();
    const s = await app([rep("a", a.url)]);
    const key = await s.newKey();
    // One failed download: the retry reads the prediction again and fetches its file.
    a.core.fault("download", { kind: "status", status: 404, contentType: "text/plain", body: "Not Found" });
    const retried = await waitForTask(s, key, await create(s, key));
    expect(retried.status, JSON.stringify(retried)).toBe("completed");
    expect(routes(a).filter((r) => r === "download").length).toBeGreaterThanOrEqual(2);
    // Output removed as soon as the prediction ends (lifetime 0): the task fails naming it.
    a.resultTtlMs = -1;
    const gone = await waitForTask(s, key, await create(s, key));
    expect(gone.status).toBe("failed");
    expect(message(gone)).toMatch(/removed the prediction's output/);
    expect(gone.video_url).toBeNull();
  });
});

describe("replicate: cancel, images and result hosts", () => {
  it("passes a cancel upstream (POST /v1/predictions/{id}/cancel) and the task stays cancelled", async () => {
    const a = await emulator();
    const s = await app([rep("a", a.url)]);
    const key = await s.newKey();
    a.core.nextTask({ outcome: "never" });
    const id = await create(s, key);
    await pollUntil(
      async () => ({ q: await s.query(key, id), seen: routes(a) }),
      ({ q, seen }) => q.status === "processing" && seen.includes("get"),
      { what: `task ${id} running at Replicate`, timeoutMs: 10_000, intervalMs: 50 },
    );
    const cancel = await s.request(`/v1/video/cancel?id=${encodeURIComponent(id)}`, { key, method: "POST" });
    expect(cancel.status).toBe(200);
    await pollUntil(
      async () => routes(a),
      (r) => r.includes("cancel"),
      { what: "the cancel to reach Replicate", timeoutMs: 10_000, intervalMs: 50 },
    );
    await sleep(800);
    expect((await s.query(key, id)).status).toBe("cancelled");
    const [task] = [...a.core.tasks.values()];
    expect(task?.cancelled).toBe(true);
    const req = a.core.requests.find((r) => r.route === "cancel");
    expect(req).toMatchObject({ method: "POST", path: `/v1/predictions/${task?.id}/cancel` });
  });

  it("sends an uploaded first frame as a data URL in first_frame_image, and a last frame in last_frame_image", async () => {
    const a = await emulator();
    const s = await app([rep("a", a.url)]);
    const key = await s.newKey();
    const { ffmpegPath } = await resolveMediaTools({});
    const png = await makePng(ffmpegPath, join(dir, "portrait.png"), "testsrc=size=720x1280");
    const done = await waitForTask(
      s,
      key,
      await create(s, key, {
        ...BODY,
        orientation: "portrait",
        images: [dataUrl(png)],
        last_frame: dataUrl(TINY_PNG),
      }),
    );
    expect(done.status, JSON.stringify(done)).toBe("completed");
    expect(inputs(a)[0]).toEqual({
      prompt: BODY.prompt,
      duration: 6,
      resolution: "1080p",
      first_frame_image: dataUrl(png),
      last_frame_image: dataUrl(TINY_PNG),
    });
    // The video takes the first frame's aspect ratio.
    const { video } = await probe(await (await fetch(String(done.video_url))).arrayBuffer(), "i2v.mp4");
    expect(video).toMatchObject({ width: 1080, height: 1920 });
  });

  it("downloads result files kept on another host only where allowed, without the token", async () => {
    const a = await emulator();
    const port = new URL(a.url).port;
    a.core.defaultBehaviour = { runMs: 400, resultOrigin: `http://localhost:${port}` };
    // Not allowed: a link to a loopback host other than the channel's is refused by the SSRF guard.
    const blocked = await app([rep("a", a.url)]);
    const key = await blocked.newKey();
    const refused = await waitForTask(blocked, key, await create(blocked, key));
    expect(refused.status).toBe("failed");
    expect(routes(a)).not.toContain("download");
    // Allowed (as replicate.delivery would be by DNS): fetched, and no credential sent with it.
    const s = await app([rep("a", a.url)], { REELAY_IMAGE_ALLOW_HOSTS: `localhost:${port}` });
    const key2 = await s.newKey();
    const done = await waitForTask(s, key2, await create(s, key2));
    expect(done.status, JSON.stringify(done)).toBe("completed");
    const downloads = a.core.requests.filter((r) => r.route === "download");
    expect(downloads.length).toBeGreaterThan(0);
    for (const d of downloads) expect(d.auth).toBeNull();
  });
});

describe("replicate: a second model's own inputs (kwaivgi/kling-v2.1)", () => {
  const KLING = "replicate-kling-v2.1";

  it("sends start_image, end_image, negative_prompt and the fixed mode pro; the video is 1080p at the image's aspect", async () => {
    const a = await emulator();
    const s = await app([channel("a", "replicate", a.url, { models: [KLING] })]);
    const key = await s.newKey();
    const done = await waitForTask(
      s,
      key,
      await create(s, key, {
        model: KLING,
        prompt: "a door opens",
        orientation: "landscape",
        size: "large",
        duration: 5,
        images: [dataUrl(TINY_PNG)],
        last_frame: dataUrl(TINY_PNG),
        negative_prompt: "blur",
      }),
    );
    expect(done.status, JSON.stringify(done)).toBe("completed");
    expect(a.core.requests.find((r) => r.route === "create")?.path).toBe(
      "/v1/models/kwaivgi/kling-v2.1/predictions",
    );
    expect(inputs(a)).toEqual([
      {
        mode: "pro",
        prompt: "a door opens",
        duration: 5,
        start_image: dataUrl(TINY_PNG),
        end_image: dataUrl(TINY_PNG),
        negative_prompt: "blur",
      },
    ]);
    const { video, durationS } = await probe(
      await (await fetch(String(done.video_url))).arrayBuffer(),
      "k.mp4",
    );
    // TINY_PNG is square: the video takes its aspect at 1080p.
    expect(video).toMatchObject({ width: 1080, height: 1080 });
    expect(Math.round(durationS)).toBe(5);
  });

  it("fails a text-only task with Replicate's reason: kling-v2.1 requires a start image", async () => {
    const a = await emulator();
    const s = await app([channel("a", "replicate", a.url, { models: [KLING] })]);
    const key = await s.newKey();
    const done = await waitForTask(
      s,
      key,
      await create(s, key, {
        model: KLING,
        prompt: "a door",
        orientation: "landscape",
        size: "large",
        duration: 5,
      }),
    );
    expect(done.status).toBe("failed");
    expect(done.error).toMatchObject({ code: "upstream_rejected" });
    expect(message(done)).toContain("start_image is required");
    expect(a.core.tasks.size).toBe(0);
  });
});
