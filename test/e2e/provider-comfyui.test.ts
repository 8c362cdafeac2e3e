/**
 * The `comfyui` channel kind against an emulated ComfyUI server (test/emulators/comfyui.ts): a Wan
 * 2.2 workflow written into a temp dir, filled per task (prompt, negative prompt, seed, size, frames)
 * and queued; both create APIs end to end with the MP4 read back; durations refused before anything
 * is sent; a server down or refusing the proxy's credential → failover; node errors and execution
 * errors (out of memory) with ComfyUI's reasons; a slow queue; an odd status word; outputs deleted
 * or not MP4; cancel (queue delete / interrupt); first and last frames uploaded to LoadImage nodes;
 * workflow paths checked at start; progress from the server's /ws events, the history alone when the
 * socket is refused or cut, and a forged ending that completes nothing.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type ComfyUiEmulator,
  startComfyUi,
  WAN22_T2V_MAP,
  WAN22_T2V_WORKFLOW,
} from "../emulators/comfyui.js";
import { waitForTask } from "../helpers/app.js";
import { type ChannelApp, channel, secretEnv, startWithChannels } from "../helpers/channels.js";
import { ffprobe } from "../helpers/ffprobe.js";
import { TINY_PNG } from "../helpers/images.js";
import { channelsView, closedAfterEach } from "../helpers/provider-e2e.js";
import { pollUntil, sleep } from "../helpers/wait.js";

const SECRET_A = "comfy-proxy-a-0123456789";
const SECRET_B = "comfy-proxy-b-0123456789";
const MODEL = "wan2.2-local";

const T2V = WAN22_T2V_WORKFLOW;
const T2V_MAP = WAN22_T2V_MAP;

/** First + last frame: two LoadImage nodes into WanFirstLastFrameToVideo. */
const FLF = {
  ...T2V,
  "11": { class_type: "LoadImage", inputs: { image: "placeholder.png" } },
  "12": { class_type: "LoadImage", inputs: { image: "placeholder.png" } },
  "6": {
    class_type: "WanFirstLastFrameToVideo",
    inputs: {
      positive: ["4", 0],
      negative: ["5", 0],
      vae: ["3", 0],
      start_image: ["11", 0],
      end_image: ["12", 0],
      width: 832,
      height: 480,
      length: 81,
      batch_size: 1,
    },
  },
};
const FLF_MAP = { ...T2V_MAP, firstFrame: "11.inputs.image", lastFrame: "12.inputs.image" };

/** The Reelay model the channels serve: a config-file catalogue entry. */
const WAN_LOCAL = {
  name: MODEL,
  family: "wan-local",
  sizes: ["small", "large"],
  durations: [5, 8],
  maxImages: 2,
  videoSizes: ["1280x720", "720x1280", "1920x1080", "1080x1920"],
  videoSeconds: [5, 8],
  accepts: {
    aspectRatios: ["16:9", "9:16"],
    aspectFromFirstFrame: false,
    resolutions: ["720p", "1080p"],
    firstFrame: true,
    lastFrame: true,
    referenceImages: 0,
    referenceVideo: false,
    audio: "none",
    seed: true,
    negativePrompt: true,
  },
};

const running = closedAfterEach();

let dir: string;
let t2vFile: string;
let flfFile: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "reelay-comfyui-e2e-"));
  t2vFile = join(dir, "wan22-t2v.json");
  flfFile = join(dir, "wan22-flf.json");
  await writeFile(t2vFile, JSON.stringify(T2V));
  await writeFile(flfFile, JSON.stringify(FLF));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function emulator(secret = SECRET_A): Promise<ComfyUiEmulator> {
  const e = await startComfyUi({ secret });
  e.core.defaultBehaviour = { runMs: 400 };
  running.push(e);
  return e;
}

async function app(channels: object[]): Promise<ChannelApp> {
  const s = await startWithChannels(
    { channels, models: [WAN_LOCAL] },
    { env: { ...secretEnv("a", SECRET_A), ...secretEnv("b", SECRET_B) } },
  );
  running.push(s);
  return s;
}

/** A fast-polling comfyui channel serving wan2.2-local with the text-to-video workflow. */
const cu = (id: string, url: string, extra: Record<string, unknown> = {}) =>
  channel(id, "comfyui", url, { models: [MODEL], workflowFile: t2vFile, workflowMap: T2V_MAP, ...extra });

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

const routes = (e: ComfyUiEmulator) => e.core.requests.map((r) => r.route);
const inputsOf = (e: ComfyUiEmulator, i = 0) => {
  const g = e.prompts[i]?.graph ?? {};
  return (id: string) => g[id]?.inputs ?? {};
};

async function probeUrl(url: string, name: string) {
  const file = join(dir, name);
  await writeFile(file, Buffer.from(await (await fetch(url)).arrayBuffer()));
  const info = await ffprobe(file);
  return { video: info.streams.find((x) => x.codecType === "video"), durationS: info.durationS };
}

const failure = (done: Record<string, unknown>) => done.error as { code: string; message: string };

describe("comfyui: both create APIs", () => {
  it("makes a 1080p 5 s video from the seed's fields; the workflow is filled at the mapped paths", async () => {
    const a = await emulator();
    const s = await app([
      {
        id: "a",
        kind: "comfyui",
        baseUrl: a.url,
        secretEnv: "SECRET_A",
        models: [MODEL],
        workflowFile: t2vFile,
        workflowMap: T2V_MAP,
      },
    ]);
    const key = await s.newKey();
    const id = await create(s, key, { ...BODY, seed: 1234, negative_prompt: "text, watermark" });
    const done = await waitForTask(s, key, id);
    expect(done.status, JSON.stringify(done)).toBe("completed");
    const { video, durationS } = await probeUrl(String(done.video_url), "a.mp4");
    expect(video).toMatchObject({ codecName: "h264", width: 1920, height: 1080 });
    expect(Math.round(durationS)).toBe(5);
    const node = inputsOf(a);
    expect(node("4").text).toBe("a paper boat on a canal");
    expect(node("5").text).toBe("text, watermark");
    expect(node("7").seed).toBe(1234);
    // 5 s at 24 fps: 121 frames (4n + 1, as Wan takes them).
    expect(node("6")).toMatchObject({ width: 1920, height: 1080, length: 121 });
    // The rest of the workflow is sent as written.
    expect(node("1")).toEqual(T2V["1"].inputs);
    expect(a.prompts[0]?.clientId).toMatch(/^[0-9a-f-]{36}$/);
    expect(routes(a)).toEqual(expect.arrayContaining(["POST /prompt", "GET /history/{id}", "GET /view"]));
    for (const r of a.core.requests) expect(r.auth).toBe(`Bearer ${SECRET_A}`);
  });

  it("makes a 720p 8 s video through /v1/videos (size, seconds), with a random seed when none is given", async () => {
    const a = await emulator();
    const s = await app([cu("a", a.url)]);
    const key = await s.newKey();
    const res = await s.request("/v1/videos", {
      key,
      body: { model: MODEL, prompt: "fog over a harbour", size: "720x1280", seconds: "8" },
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
    expect(Math.round(info.durationS)).toBe(8);
    const node = inputsOf(a);
    expect(node("6")).toMatchObject({ width: 720, height: 1280, length: 193 });
    expect(Number.isInteger(node("7").seed)).toBe(true);
  });

  it("refuses a duration the model does not make with 400 naming the field and its values; nothing reaches ComfyUI", async () => {
    const a = await emulator();
    const s = await app([cu("a", a.url)]);
    const key = await s.newKey();
    const res = await s.request("/v1/video/create", { key, body: { ...BODY, duration: 6 } });
    expect(res.status).toBe(400);
    const text = JSON.stringify(await res.json());
    expect(text).toContain("duration");
    expect(text).toMatch(/5.*8/);
    expect(a.core.requests).toEqual([]);
  });
});

describe("comfyui: several servers, failures", () => {
  it("fails over when a server is down, and cools it down", async () => {
    const a = await emulator();
    const b = await emulator(SECRET_B);
    await a.close();
    const s = await app([
      cu("a", a.url, { priority: 10, cooldown: { failures: 1, seconds: 60 } }),
      cu("b", b.url, { priority: 5 }),
    ]);
    const key = await s.newKey();
    const done = await waitForTask(s, key, await create(s, key));
    expect(done.status, JSON.stringify(done)).toBe("completed");
    expect(b.prompts).toHaveLength(1);
    expect((await channelsView(s)).find((c) => c.id === "a")).toMatchObject({ state: "cooling_down" });
  });

  it("fails over when the auth proxy refuses the credential or the server answers 503, and cools down", async () => {
    const a = await emulator("another-proxy-token-0123");
    const b = await emulator(SECRET_B);
    const s = await app([
      cu("a", a.url, { priority: 10, cooldown: { failures: 2, seconds: 60 } }),
      cu("b", b.url, { priority: 5 }),
    ]);
    const key = await s.newKey();
    expect((await waitForTask(s, key, await create(s, key))).status).toBe("completed");
    a.core.fault("POST /prompt", {
      kind: "status",
      status: 503,
      body: "503 Service Unavailable",
      contentType: "text/plain",
    });
    expect((await waitForTask(s, key, await create(s, key))).status).toBe("completed");
    expect(a.prompts).toHaveLength(0);
    expect(b.prompts).toHaveLength(2);
    expect((await channelsView(s)).find((c) => c.id === "a")).toMatchObject({
      state: "cooling_down",
      failures: 2,
    });
  });

  it("fails a prompt ComfyUI refuses (node error) with its reason, not sent elsewhere", async () => {
    const a = await emulator();
    const b = await emulator(SECRET_B);
    const s = await app([cu("a", a.url, { priority: 10 }), cu("b", b.url, { priority: 5 })]);
    const key = await s.newKey();
    a.nextNodeError = "1";
    const done = await waitForTask(s, key, await create(s, key));
    expect(done.status).toBe("failed");
    expect(failure(done).code).toBe("upstream_rejected");
    expect(failure(done).message).toContain("prompt_outputs_failed_validation");
    expect(failure(done).message).toContain("node 1 (UNETLoader)");
    expect(failure(done).message).toContain("wan2.2_ti2v_5B_fp16.safetensors");
    expect(b.core.requests).toEqual([]);
  });

  it("fails a task whose execution ran out of GPU memory, naming the node and the exception", async () => {
    const a = await emulator();
    const s = await app([cu("a", a.url)]);
    const key = await s.newKey();
    a.core.nextTask({
      outcome: "fail",
      runMs: 300,
      failCode: "torch.OutOfMemoryError",
      failMessage: "Allocation on device",
    });
    const done = await waitForTask(s, key, await create(s, key));
    expect(done.status).toBe("failed");
    expect(JSON.stringify(done.error)).toContain("torch.OutOfMemoryError");
    expect(JSON.stringify(done.error)).toContain("KSampler");
  });

  it("waits through a slow queue (queue_pending) and an odd status word, then completes", async () => {
    const a = await emulator();
    a.queueMs = 600;
    a.core.defaultBehaviour = { runMs: 1500, runningStatuses: [undefined, "paused"] };
    const s = await app([cu("a", a.url)]);
    const key = await s.newKey();
    const done = await waitForTask(s, key, await create(s, key));
    expect(done.status, JSON.stringify(done)).toBe("completed");
    expect(routes(a)).toContain("GET /queue");
    const metrics = await (await s.request("/metrics", { key: s.adminToken })).text();
    expect(metrics).toMatch(/reelay_upstream_unknown_status_total\{channel="a",status="paused"\} [1-9]/);
  });

  it("fails clearly when the output is gone (deleted on the server) or is not an MP4", async () => {
    const a = await emulator();
    const s = await app([cu("a", a.url, { workflowMap: { ...T2V_MAP } })]);
    const key = await s.newKey();
    a.deleteOutputs();
    const gone = await waitForTask(s, key, await create(s, key));
    expect(gone.status).toBe("failed");
    expect(failure(gone).code).toBe("upstream_bad_content");
    expect(failure(gone).message).toContain("404");

    const webpFile = join(dir, "webp.json");
    await writeFile(
      webpFile,
      JSON.stringify({
        ...T2V,
        "10": {
          class_type: "SaveAnimatedWEBP",
          inputs: {
            images: ["8", 0],
            filename_prefix: "reelay",
            fps: 24,
            lossless: false,
            quality: 80,
            method: "default",
          },
        },
      }),
    );
    const b = await emulator(SECRET_B);
    const s2 = await app([cu("b", b.url, { workflowFile: webpFile })]);
    const key2 = await s2.newKey();
    const webp = await waitForTask(s2, key2, await create(s2, key2));
    expect(webp.status).toBe("failed");
    expect(failure(webp).message).toContain("not an MP4");
  });
});

describe("comfyui: cancel, images, config", () => {
  it("deletes a queued prompt from the queue, and interrupts a running one", async () => {
    const a = await emulator();
    a.queueMs = 60_000;
    const s = await app([cu("a", a.url)]);
    const key = await s.newKey();
    const id = await create(s, key);
    await pollUntil(
      async () => routes(a),
      (seen) => seen.includes("GET /queue"),
      { what: "the prompt queued", timeoutMs: 10_000, intervalMs: 50 },
    );
    expect(
      (await s.request(`/v1/video/cancel?id=${encodeURIComponent(id)}`, { key, method: "POST" })).status,
    ).toBe(200);
    await pollUntil(
      async () => a.deleted.length,
      (n) => n === 1,
      { what: "queue delete", timeoutMs: 10_000, intervalMs: 50 },
    );
    expect(a.deleted).toEqual([a.prompts[0]?.id]);

    a.queueMs = 0;
    a.core.nextTask({ outcome: "never" });
    const id2 = await create(s, key);
    await pollUntil(
      async () => (await s.query(key, id2)).status,
      (st) => st === "processing",
      { what: "running", timeoutMs: 10_000, intervalMs: 50 },
    );
    await sleep(300);
    expect(
      (await s.request(`/v1/video/cancel?id=${encodeURIComponent(id2)}`, { key, method: "POST" })).status,
    ).toBe(200);
    await pollUntil(
      async () => a.interrupts,
      (n) => n === 1,
      { what: "interrupt", timeoutMs: 10_000, intervalMs: 50 },
    );
    expect((await s.query(key, id2)).status).toBe("cancelled");
  });

  it("uploads the first and last frames and names them in the mapped LoadImage nodes", async () => {
    const a = await emulator();
    const s = await app([cu("a", a.url, { workflowFile: flfFile, workflowMap: FLF_MAP })]);
    const key = await s.newKey();
    const png = `data:image/png;base64,${TINY_PNG.toString("base64")}`;
    const done = await waitForTask(
      s,
      key,
      await create(s, key, { ...BODY, size: "small", images: [png], last_frame: png }),
    );
    expect(done.status, JSON.stringify(done)).toBe("completed");
    expect(routes(a).filter((r) => r === "POST /upload/image")).toHaveLength(2);
    const node = inputsOf(a);
    const first = String(node("11").image);
    const last = String(node("12").image);
    expect(first).toMatch(/first\.png$/);
    expect(last).toMatch(/last\.png$/);
    expect(a.uploads.get(first)).toEqual(TINY_PNG);
    expect(a.uploads.get(last)).toEqual(TINY_PNG);
    expect(node("6")).toMatchObject({ width: 1280, height: 720, length: 121, start_image: ["11", 0] });
  });

  it("refuses to start with a workflowMap path the workflow does not have, naming the channel and the path", async () => {
    const a = await emulator();
    await expect(
      app([cu("a", a.url, { workflowMap: { ...T2V_MAP, seed: "99.inputs.seed" } })]),
    ).rejects.toThrow(/channels\[0\] \('a'\).*workflowMap\.seed '99\.inputs\.seed'/);
    await expect(app([cu("a", a.url, { workflowMap: { ...T2V_MAP, width: "6.inputs.w" } })])).rejects.toThrow(
      /no input 'w'/,
    );
    await expect(app([cu("a", a.url, { workflowFile: join(dir, "missing.json") })])).rejects.toThrow(
      /channels\[0\] \('a'\): workflowFile .*missing\.json cannot be read/,
    );
    const uiFormat = join(dir, "ui.json");
    await writeFile(uiFormat, JSON.stringify({ last_node_id: 9, nodes: [], links: [] }));
    await expect(app([cu("a", a.url, { workflowFile: uiFormat })])).rejects.toThrow(/is this the API format/);
    await expect(
      app([
        channel("a", "minimax", a.url, {
          models: ["hailuo-02"],
          workflowFile: t2vFile,
          workflowMap: T2V_MAP,
        }),
      ]),
    ).rejects.toThrow(/workflowFile and workflowMap are for kind 'comfyui' only/);
    await expect(app([channel("a", "comfyui", a.url, { models: [MODEL] })])).rejects.toThrow(
      /a comfyui channel needs workflowFile and workflowMap/,
    );
  });
});

describe("comfyui: live progress over /ws", () => {
  /** Queries the task until it ends, keeping the progress seen while it was processing. */
  async function progressUntilDone(s: ChannelApp, key: string, id: string) {
    const progress: number[] = [];
    const done = await pollUntil(
      async () => {
        const t = await s.query(key, id);
        if (t.status === "processing") progress.push(Number(t.progress));
        return t;
      },
      (t) => t.status === "completed" || t.status === "failed",
      { what: `task ${id} ended`, timeoutMs: 30_000, intervalMs: 50 },
    );
    return { done, progress };
  }
  /** Waits until the task's progress has moved (the events are heard), and returns it. */
  const progressMoved = (s: ChannelApp, key: string, id: string) =>
    pollUntil(
      async () => Number((await s.query(key, id)).progress),
      (p) => p > 0,
      { what: "progress from the events", timeoutMs: 10_000, intervalMs: 50 },
    );
  const historyPolls = (e: ComfyUiEmulator) => routes(e).filter((r) => r === "GET /history/{id}").length;

  it("shows progress rising from the server's events while the prompt runs, then completes", async () => {
    const a = await emulator();
    a.core.defaultBehaviour = { runMs: 4000 };
    const s = await app([cu("a", a.url)]);
    const key = await s.newKey();
    const { done, progress } = await progressUntilDone(s, key, await create(s, key));
    expect(done.status, JSON.stringify(done)).toBe("completed");
    expect(done.progress).toBe(100);
    expect(progress).toEqual([...progress].sort((x, y) => x - y));
    expect(new Set(progress.filter((p) => p > 0 && p < 100)).size).toBeGreaterThanOrEqual(2);
    // One socket, under the client id the prompt was queued with, carrying the proxy's credential.
    expect(a.ws.connections).toBe(1);
    const ws = a.core.requests.find((r) => r.route === "GET /ws");
    expect(ws?.path).toBe(`/ws?clientId=${a.prompts[0]?.clientId}`);
    expect(ws?.auth).toBe(`Bearer ${SECRET_A}`);
  });

  it("polls at once when the server's events say the prompt ended (polling every 10 minutes)", async () => {
    const a = await emulator();
    const s = await app([cu("a", a.url, { pollIntervalS: 600 })]);
    const key = await s.newKey();
    const id = await create(s, key);
    // Only the event can bring this poll forward: the next scheduled one is 10 minutes away.
    const done = await waitForTask(s, key, id, { timeoutMs: 30_000 });
    expect(done.status, JSON.stringify(done)).toBe("completed");
    expect(a.ws.connections).toBe(1);
  });

  it("completes through /history alone when the socket is refused, or cut mid-task (progress then stays where it was)", async () => {
    const a = await emulator();
    a.core.defaultBehaviour = { runMs: 1500 };
    a.ws.refuse = true;
    const s = await app([cu("a", a.url)]);
    const key = await s.newKey();
    const refused = await progressUntilDone(s, key, await create(s, key));
    expect(refused.done.status, JSON.stringify(refused.done)).toBe("completed");
    // Without the events nothing reports progress: the figure stays 0 while it runs.
    expect(refused.progress.every((p) => p === 0)).toBe(true);
    expect(a.ws.connections).toBe(0);

    a.ws.refuse = false;
    a.core.nextTask({ runMs: 5000 });
    const id = await create(s, key);
    const moving = await progressMoved(s, key, id);
    expect(moving).toBeGreaterThan(0);
    a.ws.refuse = true;
    a.ws.drop();
    const cut = await progressUntilDone(s, key, id);
    expect(cut.done.status, JSON.stringify(cut.done)).toBe("completed");
    expect(Math.min(...cut.progress)).toBeGreaterThanOrEqual(moving);
  });

  it("does not complete a task on a forged success the server's history does not show", async () => {
    const a = await emulator();
    a.core.nextTask({ outcome: "never" });
    const s = await app([cu("a", a.url)]);
    const key = await s.newKey();
    const id = await create(s, key);
    // Running, with the events heard (its progress has moved).
    await progressMoved(s, key, id);
    const prompt = a.prompts[0];
    if (!prompt) throw new Error("no prompt queued");
    a.ws.send(prompt.clientId, "execution_success", { prompt_id: prompt.id, timestamp: Date.now() });
    a.ws.send(prompt.clientId, "executing", { node: null, prompt_id: prompt.id });
    // Reelay keeps asking the history (which has no entry) and the task stays running.
    const before = historyPolls(a);
    await pollUntil(
      async () => historyPolls(a),
      (n) => n >= before + 5,
      { what: "five more history polls", timeoutMs: 10_000, intervalMs: 50 },
    );
    const t = await s.query(key, id);
    expect(t.status).toBe("processing");
    expect(Number(t.progress)).toBeLessThan(100);
    expect(routes(a)).not.toContain("GET /view");
  });
});
