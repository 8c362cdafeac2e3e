/**
 * Issue 17's request vocabulary on both create APIs: the optional additions reach the task (the
 * local renderer makes the resolved size; the views show them), and every refusal is a 400 naming
 * the field and what is allowed, before anything is charged or any task is made.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestApp, type TestApp, waitForTask } from "../helpers/app.js";
import { dataUrl, TINY_PNG } from "../helpers/images.js";
import { VOCAB_MODELS } from "../helpers/vocab-models.js";

let dir: string;
let app: TestApp;
const owner = "vocab-owner";
let key: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "reelay-vocab-"));
  const configFile = join(dir, "reelay.json");
  await writeFile(
    configFile,
    JSON.stringify({
      models: VOCAB_MODELS,
      pricing: { perSecond: { "vocab-full": 1, "vocab-veo": 1, "sora-2": 1 } },
    }),
  );
  app = await startTestApp({ env: { REELAY_CONFIG_FILE: configFile } });
  key = await app.newKey(owner);
  await app.request(`/admin/accounts/${owner}/credits`, { key: app.adminToken, body: { amount: 1000 } });
}, 60_000);
afterAll(async () => {
  await app.close();
  await rm(dir, { recursive: true, force: true });
});

type Json = Record<string, unknown> & {
  error: { message: string; code: string; param: string | null; type: string };
};

const balance = async (): Promise<number> =>
  (
    (await (await app.request(`/admin/accounts/${owner}`, { key: app.adminToken })).json()) as {
      balance: number;
    }
  ).balance;
const taskCount = async (): Promise<number> =>
  ((await (await app.request("/v1/video/list", { key })).json()) as { data: unknown[] }).data.length;

const unified = (body: object) =>
  app.request("/v1/video/create", {
    key,
    body: { model: "vocab-full", prompt: "a lighthouse", duration: 1, ...body },
  });

async function openAi(body: FormData | object): Promise<Response> {
  return fetch(`${app.url}/v1/videos`, {
    method: "POST",
    headers: {
      authorization: `Bearer ${key}`,
      ...(body instanceof FormData ? {} : { "content-type": "application/json" }),
    },
    body: body instanceof FormData ? body : JSON.stringify(body),
  });
}

describe("accepted additions reach the task", () => {
  it("unified: aspect_ratio 1:1 at 720p renders 720×720, and the view shows every addition", async () => {
    const before = await balance();
    const res = await unified({
      aspect_ratio: "1:1",
      resolution: "720p",
      seed: 42,
      negative_prompt: "  blur  ",
      audio: false,
      images: [dataUrl(TINY_PNG)],
      last_frame: dataUrl(TINY_PNG),
      reference_images: [dataUrl(TINY_PNG)],
    });
    const body = (await res.json()) as Json;
    expect(res.status, JSON.stringify(body)).toBe(200);
    // Billing is on: an accepted create is charged (so the refusals below show that nothing was).
    expect(await balance()).toBeLessThan(before);
    const task = await waitForTask(app, key, body.id as string);
    expect(task.status).toBe("completed");
    expect(task).toMatchObject({ width: 720, height: 720 });
    expect((task.detail as { input: unknown }).input).toMatchObject({
      aspect_ratio: "1:1",
      resolution: "720p",
      seed: 42,
      negative_prompt: "blur",
      audio: false,
      image_roles: ["first_frame", "last_frame", "reference"],
      images: [],
    });
  });

  it("unified: seed fields only on a model with accepts keep their meaning (landscape large = 1920×1080)", async () => {
    const res = await unified({ orientation: "landscape", size: "large" });
    const body = (await res.json()) as Json;
    expect(res.status, JSON.stringify(body)).toBe(200);
    const task = await waitForTask(app, key, body.id as string);
    expect(task).toMatchObject({ status: "completed", width: 1920, height: 1080 });
    const input = (task.detail as { input: Record<string, unknown> }).input;
    expect(input).toMatchObject({ orientation: "landscape", size: "large" });
    expect(input.aspect_ratio).toBeUndefined();
  });

  it("unified: resolution without size (480p, 9:16) renders 480×854 (even)", async () => {
    const res = await unified({ aspect_ratio: "9:16", resolution: "480p" });
    const body = (await res.json()) as Json;
    expect(res.status, JSON.stringify(body)).toBe(200);
    const task = await waitForTask(app, key, body.id as string);
    expect(task).toMatchObject({ status: "completed", width: 480, height: 854 });
    expect((task.detail as { input: unknown }).input).toMatchObject({ orientation: "portrait" });
  });

  it("OpenAI multipart: aspect_ratio 16:9 at 1080p is 1920×1080; files for last_frame and reference_images", async () => {
    const f = new FormData();
    f.append("prompt", "a harbour");
    f.append("model", "vocab-full");
    f.append("seconds", "1");
    f.append("aspect_ratio", "16:9");
    f.append("resolution", "1080p");
    f.append("seed", "7");
    f.append("audio", "true");
    f.append("negative_prompt", "rain");
    f.append("input_reference", new Blob([TINY_PNG], { type: "image/png" }), "first.png");
    f.append("last_frame", new Blob([TINY_PNG], { type: "image/png" }), "last.png");
    f.append("reference_images", new Blob([TINY_PNG], { type: "image/png" }), "r1.png");
    f.append("reference_images", new Blob([TINY_PNG], { type: "image/png" }), "r2.png");
    const res = await openAi(f);
    const video = (await res.json()) as Json;
    expect(res.status, JSON.stringify(video)).toBe(200);
    expect(video).toMatchObject({
      size: "1920x1080",
      aspect_ratio: "16:9",
      resolution: "1080p",
      seed: 7,
      audio: true,
      negative_prompt: "rain",
      image_roles: ["first_frame", "last_frame", "reference", "reference"],
    });
    const task = await waitForTask(app, key, video.id as string);
    expect(task).toMatchObject({ status: "completed", width: 1920, height: 1080 });
    const again = (await (await app.request(`/v1/videos/${video.id}`, { key })).json()) as Json;
    expect(again).toMatchObject({ size: "1920x1080", seed: 7, aspect_ratio: "16:9" });
  });

  it("OpenAI JSON: reference_images as data URLs, resolution alone picks 16:9", async () => {
    const res = await openAi({
      prompt: "a field",
      model: "vocab-full",
      seconds: "1",
      resolution: "480p",
      reference_images: [dataUrl(TINY_PNG)],
    });
    const video = (await res.json()) as Json;
    expect(res.status, JSON.stringify(video)).toBe(200);
    expect(video).toMatchObject({ size: "854x480", resolution: "480p", image_roles: ["reference"] });
    expect((await waitForTask(app, key, video.id as string)).status).toBe("completed");
  });

  it("GET /v1/models carries each model's accepts in snake_case", async () => {
    const list = (await (await app.request("/v1/models", { key })).json()) as {
      data: { id: string; capabilities: Record<string, unknown> }[];
    };
    const full = list.data.find((m) => m.id === "vocab-full");
    expect(full?.capabilities).toEqual({
      orientations: ["portrait", "landscape"],
      sizes: ["small", "large"],
      durations: [1, 2],
      max_images: 5,
      video_sizes: ["1280x720", "720x1280"],
      video_seconds: [1, 2],
      aspect_ratios: ["16:9", "9:16", "1:1"],
      resolutions: ["480p", "720p", "1080p"],
      first_frame: true,
      last_frame: true,
      reference_images: 3,
      reference_video: false,
      audio: "optional",
      seed: true,
      negative_prompt: true,
    });
    const sora = list.data.find((m) => m.id === "sora-2");
    expect(sora?.capabilities).toMatchObject({
      aspect_ratios: [],
      seed: false,
      audio: "none",
      last_frame: false,
    });
  });
});

const data = dataUrl(TINY_PNG);
// [case, api, body, param, words the message must contain]
const refusals: [string, "unified" | "openai", object, string, string[]][] = [
  [
    "duration not allowed",
    "unified",
    { model: "vocab-veo", aspect_ratio: "16:9", resolution: "720p", duration: 15 },
    "duration",
    ["4, 6 or 8"],
  ],
  [
    "aspect_ratio not offered",
    "unified",
    { aspect_ratio: "4:3", resolution: "720p" },
    "aspect_ratio",
    ["16:9, 9:16 or 1:1"],
  ],
  ["aspect_ratio malformed", "unified", { aspect_ratio: "wide", size: "small" }, "aspect_ratio", ["16:9"]],
  [
    "resolution not offered",
    "unified",
    { model: "vocab-veo", duration: 4, orientation: "landscape", resolution: "480p" },
    "resolution",
    ["720p or 1080p"],
  ],
  [
    "orientation against aspect_ratio",
    "unified",
    { orientation: "landscape", aspect_ratio: "9:16", size: "small" },
    "aspect_ratio",
    ["orientation", "aspect_ratio"],
  ],
  [
    "size against resolution",
    "unified",
    { orientation: "landscape", size: "small", resolution: "1080p" },
    "resolution",
    ["size", "resolution"],
  ],
  ["no orientation and no aspect_ratio", "unified", { size: "small" }, "orientation", ["required"]],
  [
    "seed on a model without seed",
    "unified",
    { model: "vocab-veo", duration: 4, orientation: "landscape", size: "small", seed: 1 },
    "seed",
    ["seed"],
  ],
  [
    "seed of a wrong type",
    "unified",
    { orientation: "landscape", size: "small", seed: "x" },
    "seed",
    ["integer"],
  ],
  [
    "seed out of range",
    "unified",
    { orientation: "landscape", size: "small", seed: 2 ** 32 },
    "seed",
    ["0 to 4294967295"],
  ],
  [
    "audio of a wrong type",
    "unified",
    { orientation: "landscape", size: "small", audio: "yes" },
    "audio",
    ["boolean"],
  ],
  [
    "audio false on an always-sound model",
    "unified",
    { model: "vocab-veo", duration: 4, orientation: "landscape", size: "small", audio: false },
    "audio",
    ["always"],
  ],
  [
    "last_frame not taken",
    "unified",
    { model: "vocab-veo", duration: 4, orientation: "landscape", size: "small", last_frame: data },
    "last_frame",
    ["last_frame"],
  ],
  [
    "too many reference_images",
    "unified",
    { orientation: "landscape", size: "small", reference_images: [data, data, data, data] },
    "reference_images",
    ["at most 3"],
  ],
  [
    "images + additions above maxImages",
    "unified",
    {
      orientation: "landscape",
      size: "small",
      images: [data, data, data],
      last_frame: data,
      reference_images: [data, data],
    },
    "reference_images",
    ["at most 5", "images", "reference_images"],
  ],
  [
    "negative_prompt not taken",
    "unified",
    { model: "vocab-veo", duration: 4, orientation: "landscape", size: "small", negative_prompt: "x" },
    "negative_prompt",
    ["negative_prompt"],
  ],
  [
    "negative_prompt too long",
    "unified",
    { orientation: "landscape", size: "small", negative_prompt: "x".repeat(2001) },
    "negative_prompt",
    ["2000"],
  ],
  [
    "an addition on a model without accepts",
    "unified",
    { model: "sora-2", orientation: "landscape", size: "small", duration: 10, aspect_ratio: "16:9" },
    "aspect_ratio",
    ["sora-2", "seed's fields"],
  ],
  [
    "reference_images on a model without accepts",
    "unified",
    { model: "sora-2", orientation: "landscape", size: "small", duration: 10, reference_images: [data] },
    "reference_images",
    ["sora-2"],
  ],
  [
    "a bad reference image link",
    "unified",
    { orientation: "landscape", size: "small", reference_images: ["ftp://x/a.png"] },
    "reference_images[0]",
    ["http"],
  ],
  [
    "OpenAI: seconds not offered",
    "openai",
    { model: "vocab-veo", seconds: "5" },
    "seconds",
    ['"4", "6", "8"'],
  ],
  [
    "OpenAI: size WxH against aspect_ratio",
    "openai",
    { size: "1280x720", aspect_ratio: "9:16" },
    "aspect_ratio",
    ["size", "aspect_ratio"],
  ],
  [
    "OpenAI: size WxH against resolution",
    "openai",
    { size: "1280x720", resolution: "1080p" },
    "resolution",
    ["size", "resolution"],
  ],
  [
    "OpenAI: resolution not offered",
    "openai",
    { model: "vocab-veo", seconds: "4", resolution: "480p" },
    "resolution",
    ["720p or 1080p"],
  ],
  ["OpenAI: seed of a wrong type", "openai", { seed: "x" }, "seed", ["integer"]],
  ["OpenAI: audio of a wrong type", "openai", { audio: "yes" }, "audio", ["boolean"]],
  ["OpenAI: an addition on sora-2", "openai", { model: "sora-2", seconds: "4", seed: 3 }, "seed", ["sora-2"]],
  [
    "OpenAI: last_frame not taken",
    "openai",
    { model: "vocab-veo", seconds: "4", last_frame: data },
    "last_frame",
    ["last_frame"],
  ],
  [
    "OpenAI: too many reference_images",
    "openai",
    { reference_images: [data, data, data, data] },
    "reference_images",
    ["at most 3"],
  ],
  [
    "OpenAI: audio true on a model with audio none",
    "openai",
    { model: "sora-2", seconds: "4", audio: true },
    "audio",
    ["audio"],
  ],
];

describe("refusals: 400 naming the field, nothing charged, no task", () => {
  it.each(refusals)("%s", async (_name, api, body, param, words) => {
    const before = { balance: await balance(), tasks: await taskCount() };
    const res =
      api === "unified"
        ? await unified(body)
        : await openAi({ prompt: "x", model: "vocab-full", seconds: "1", ...body });
    const json = (await res.json()) as Json;
    expect(res.status, JSON.stringify(json)).toBe(400);
    expect(json.error.code).toBe("invalid_request");
    expect(json.error.param).toBe(param);
    for (const w of words) expect(json.error.message).toContain(w);
    expect({ balance: await balance(), tasks: await taskCount() }).toEqual(before);
  });

  it("a multipart seed that is not a number names seed", async () => {
    const f = new FormData();
    f.append("prompt", "x");
    f.append("model", "vocab-full");
    f.append("seconds", "1");
    f.append("seed", "-3");
    const res = await openAi(f);
    expect(res.status).toBe(400);
    expect(((await res.json()) as Json).error.param).toBe("seed");
  });

  it("a reference image file that is not an image names it", async () => {
    const f = new FormData();
    f.append("prompt", "x");
    f.append("model", "vocab-full");
    f.append("seconds", "1");
    f.append("reference_images", new Blob([TINY_PNG], { type: "image/png" }), "ok.png");
    f.append("reference_images", new Blob(["#EXTM3U\n"], { type: "image/png" }), "fake.png");
    const before = await balance();
    const res = await openAi(f);
    const json = (await res.json()) as Json;
    expect(res.status).toBe(400);
    expect(json.error.param).toBe("reference_images[1]");
    expect(await balance()).toBe(before);
  });
});
