/**
 * OpenRouter's create body, job status words and error envelope (src/adapters/providers/openrouter/),
 * and the adapter's submit, poll and result over a recorded stand-in for the channel's HTTP client.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  classifyError,
  createBody,
  errorEnvelope,
  isModeration,
  OpenRouterUnsupported,
  readJob,
} from "../../src/adapters/providers/openrouter/mapping.js";
import { createOpenRouterProvider } from "../../src/adapters/providers/openrouter/provider.js";
import type { CallResult, ChannelHttp } from "../../src/adapters/providers/upstream/http.js";
import { errors, isReelayError, type ReelayError } from "../../src/core/errors.js";
import type { VideoRequest } from "../../src/core/tasks/task.js";
import { TINY_PNG } from "../helpers/images.js";
import { textToVideo } from "../helpers/video-request.js";

const base = {
  model: "google/veo-3.1",
  prompt: "a kite",
  duration: 8,
  resolution: "1080p",
  aspectRatio: "16:9",
  firstFrame: null,
  lastFrame: null,
  references: [] as string[],
};

describe("OpenRouter create body", () => {
  it("sends the model slug, prompt, duration (a number), resolution and aspect ratio, nothing else by default", () => {
    expect(createBody(base)).toEqual({
      model: "google/veo-3.1",
      prompt: "a kite",
      duration: 8,
      resolution: "1080p",
      aspect_ratio: "16:9",
    });
  });

  it("adds seed and generate_audio only when asked", () => {
    expect(createBody({ ...base, seed: 7, audio: false })).toMatchObject({ seed: 7, generate_audio: false });
    expect(createBody({ ...base, audio: true })).toMatchObject({ generate_audio: true });
    expect(createBody(base)).not.toHaveProperty("seed");
  });

  it("puts first and last frames in frame_images with their frame_type, references in input_references", () => {
    const frames = createBody({
      ...base,
      firstFrame: "https://x/a.png",
      lastFrame: "data:image/png;base64,AA",
    });
    expect(frames.frame_images).toEqual([
      { type: "image_url", image_url: { url: "https://x/a.png" }, frame_type: "first_frame" },
      { type: "image_url", image_url: { url: "data:image/png;base64,AA" }, frame_type: "last_frame" },
    ]);
    expect(frames).not.toHaveProperty("input_references");
    const refs = createBody({ ...base, references: ["https://x/r1.png", "https://x/r2.png"] });
    expect(refs.input_references).toEqual([
      { type: "image_url", image_url: { url: "https://x/r1.png" } },
      { type: "image_url", image_url: { url: "https://x/r2.png" } },
    ]);
    expect(refs).not.toHaveProperty("frame_images");
  });

  it("refuses what OpenRouter cannot take: a negative prompt, frames with references, values outside its enums", () => {
    expect(() => createBody({ ...base, negativePrompt: "blur" })).toThrow(OpenRouterUnsupported);
    expect(() =>
      createBody({ ...base, firstFrame: "https://x/a.png", references: ["https://x/r.png"] }),
    ).toThrow(/reference_images/);
    expect(() => createBody({ ...base, aspectRatio: "5:4" })).toThrow(/aspect_ratio/);
    expect(() => createBody({ ...base, resolution: "1440p" })).toThrow(/resolution/);
  });
});

describe("OpenRouter errors", () => {
  const env = (code: number, message: string, metadata?: object) => ({ error: { code, message, metadata } });

  it("reads the error envelope, numeric code included", () => {
    expect(errorEnvelope(env(402, "Insufficient credits"))).toEqual({
      code: 402,
      message: "Insufficient credits",
      metadata: {},
    });
    expect(errorEnvelope({ id: "x" })).toBeNull();
    expect(errorEnvelope({ error: "text" })).toBeNull();
  });

  it("classifies by code: 403 moderation, 401 auth, 402 quota, 429/502/503 overloaded, 5xx internal, other 4xx the request's", () => {
    const cases: [number, string, boolean][] = [
      [403, "content_policy", false],
      [401, "auth", true],
      [402, "quota", true],
      [408, "timeout", true],
      [429, "overloaded", true],
      [502, "overloaded", true],
      [503, "overloaded", true],
      [500, "upstream_internal", true],
      [400, "invalid_request", false],
      [404, "invalid_request", false],
    ];
    for (const [code, cls, channelFault] of cases)
      expect(classifyError(code, env(code, "m")), String(code)).toMatchObject({ class: cls, channelFault });
  });

  it("names moderation reasons in the message", () => {
    const c = classifyError(
      403,
      env(403, "Input flagged", { reasons: ["violence", "hate"], provider_name: "x" }),
    );
    expect(c).toMatchObject({ class: "content_policy", code: "403" });
    expect(c.message).toBe("Input flagged (reasons: violence, hate)");
  });

  it("takes the envelope's code over the HTTP status (a 200 carrying an error)", () => {
    expect(classifyError(0, env(402, "no credits"))).toMatchObject({ class: "quota", code: "402" });
  });

  it("reads moderation from a failed job's words", () => {
    expect(isModeration("The provider's content moderation flagged the video")).toBe(true);
    expect(isModeration("Request blocked by safety filters")).toBe(true);
    expect(isModeration("NSFW content detected in the output")).toBe(true);
    expect(isModeration("Provider timed out")).toBe(false);
  });
});

describe("OpenRouter job status", () => {
  it("maps the documented words", () => {
    expect(readJob({ status: "pending" })).toMatchObject({ state: "queued", known: true });
    expect(readJob({ status: "in_progress" })).toMatchObject({ state: "running", known: true });
    expect(readJob({ status: "completed", unsigned_urls: ["u"], urls: ["s"] })).toMatchObject({
      state: "completed",
      links: ["u", "s"],
      error: null,
    });
    expect(readJob({ status: "expired" })).toMatchObject({
      state: "expired",
      error: { class: "result_unavailable" },
    });
    expect(readJob({ status: "cancelled" })).toMatchObject({ state: "failed", error: { code: "cancelled" } });
  });

  it("reads a failure's error string, moderation as content_policy", () => {
    expect(readJob({ status: "failed", error: "Provider returned error" })).toMatchObject({
      state: "failed",
      error: { code: "failed", message: "Provider returned error", class: "upstream_internal" },
    });
    expect(readJob({ status: "failed", error: "flagged by content moderation" }).error?.class).toBe(
      "content_policy",
    );
    expect(readJob({ status: "failed" }).error?.message).toContain("failed");
  });

  it("keeps an unknown or missing status running, as unknown", () => {
    expect(readJob({ status: "rendering" })).toMatchObject({
      state: "running",
      known: false,
      raw: "rendering",
    });
    expect(readJob({})).toMatchObject({ state: "running", known: false, raw: null });
  });
});

/** A ChannelHttp that records calls and answers from a script (status and body per path prefix). */
function fakeHttp(answers: Record<string, { status: number; json: unknown }>) {
  const calls: {
    method: string;
    path: string;
    json: unknown;
    headers: Record<string, string> | undefined;
  }[] = [];
  const downloads: string[] = [];
  const http: ChannelHttp = {
    channelId: "or",
    async call(method, path, opts) {
      calls.push({ method, path, json: opts.json, headers: opts.headers });
      const key = Object.keys(answers)
        .sort((a, b) => b.length - a.length)
        .find((k) => path.startsWith(k));
      const a = key ? answers[key] : undefined;
      return {
        status: a?.status ?? 404,
        retryAfterS: null,
        json: a?.json,
        text: JSON.stringify(a?.json ?? ""),
      } satisfies CallResult;
    },
    refusal: (res) =>
      errors.upstreamRejected(
        "or",
        { status: res.status, code: null, message: "refused" },
        { retryable: true },
      ),
    download: async (url) => {
      downloads.push(url);
      return { bytes: 1 };
    },
    close: async () => undefined,
  };
  return { http, calls, downloads };
}

const request = (over: Partial<VideoRequest> = {}): VideoRequest =>
  textToVideo({
    model: "openrouter-veo-3.1",
    family: "openrouter-veo-3.1",
    prompt: "a red kite",
    orientation: "portrait",
    width: 720,
    height: 1280,
    duration: 6,
    ...over,
  });

describe("OpenRouter adapter over HTTP", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "reelay-openrouter-unit-"));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });
  const ctx = (imageFiles: string[] = []) => ({
    taskId: "task_1",
    upstreamModel: "google/veo-3.1",
    imageFiles,
    workDir: dir,
    signal: new AbortController().signal,
  });
  const thrown = async (p: Promise<unknown>): Promise<ReelayError> => {
    try {
      await p;
    } catch (e) {
      if (isReelayError(e)) return e;
      throw e;
    }
    throw new Error("expected a ReelayError");
  };

  it("submits to api/v1/videos with the mapped body and the X-Title header, an upload as a data URL", async () => {
    const file = join(dir, "first.png");
    await writeFile(file, TINY_PNG);
    const { http, calls } = fakeHttp({
      "api/v1/videos": {
        status: 202,
        json: { id: "job-1", polling_url: "/api/v1/videos/job-1", status: "pending" },
      },
    });
    const r = await createOpenRouterProvider(http).submit(request({ imageKeys: ["k"] }), ctx([file]));
    expect(r.upstreamId).toBe("job-1");
    expect(r.status.state).toBe("queued");
    expect(calls[0]).toMatchObject({
      method: "POST",
      path: "api/v1/videos",
      headers: { "x-title": "Reelay" },
    });
    expect(calls[0]?.json).toEqual({
      model: "google/veo-3.1",
      prompt: "a red kite",
      duration: 6,
      resolution: "720p",
      aspect_ratio: "9:16",
      frame_images: [
        {
          type: "image_url",
          image_url: { url: `data:image/png;base64,${TINY_PNG.toString("base64")}` },
          frame_type: "first_frame",
        },
      ],
    });
  });

  it("turns a 403 into content_policy, a 402 into a retryable refusal, a 400 into a final one", async () => {
    const answer = (status: number, message: string) => ({
      "api/v1/videos": { status, json: { error: { code: status, message } } },
    });
    const p403 = await thrown(
      createOpenRouterProvider(fakeHttp(answer(403, "flagged")).http).submit(request(), ctx()),
    );
    expect(p403.code).toBe("content_policy");
    const p402 = await thrown(
      createOpenRouterProvider(fakeHttp(answer(402, "Insufficient credits")).http).submit(request(), ctx()),
    );
    expect(p402).toMatchObject({ code: "upstream_rejected", retryable: true });
    const p400 = await thrown(
      createOpenRouterProvider(fakeHttp(answer(400, "bad duration")).http).submit(request(), ctx()),
    );
    expect(p400).toMatchObject({ code: "upstream_rejected", retryable: false });
    expect(p400.message).toContain("bad duration");
  });

  it("a create answered 2xx without an id is an unknown outcome, never resent", async () => {
    const { http } = fakeHttp({ "api/v1/videos": { status: 202, json: { status: "pending" } } });
    const e = await thrown(createOpenRouterProvider(http).submit(request(), ctx()));
    expect(e).toMatchObject({ code: "upstream_outcome_unknown", retryable: false });
  });

  it("refuses a negative prompt before sending anything", async () => {
    const { http, calls } = fakeHttp({});
    const e = await thrown(createOpenRouterProvider(http).submit(request({ negativePrompt: "blur" }), ctx()));
    expect(e).toMatchObject({ code: "upstream_rejected", retryable: false });
    expect(calls).toEqual([]);
  });

  it("polls the job and downloads the proxy link first, then the signed one, then fails with the last reason", async () => {
    const { http, calls, downloads } = fakeHttp({
      "api/v1/videos/job-1": {
        status: 200,
        json: {
          id: "job-1",
          status: "completed",
          unsigned_urls: ["https://openrouter.ai/api/v1/videos/job-1/content?index=0"],
          urls: ["https://storage.example/v.mp4?sig=x"],
        },
      },
    });
    const p = createOpenRouterProvider(http);
    expect((await p.poll("job-1", new AbortController().signal)).status.state).toBe("completed");
    expect(calls[0]).toMatchObject({ method: "GET", path: "api/v1/videos/job-1" });
    await p.fetchResult("job-1", dir, new AbortController().signal);
    expect(downloads).toEqual(["https://openrouter.ai/api/v1/videos/job-1/content?index=0"]);
    let n = 0;
    http.download = async (url) => {
      downloads.push(url);
      n++;
      throw errors.upstreamBadContent("or", `link ${n} refused (HTTP 403)`);
    };
    const e = await thrown(p.fetchResult("job-1", dir, new AbortController().signal));
    expect(downloads.slice(1)).toEqual([
      "https://openrouter.ai/api/v1/videos/job-1/content?index=0",
      "https://storage.example/v.mp4?sig=x",
    ]);
    expect(e.message).toContain("link 2");
  });

  it("uses the content endpoint when a completed job names no link", async () => {
    const { http, downloads } = fakeHttp({
      "api/v1/videos/job-2": { status: 200, json: { id: "job-2", status: "completed" } },
    });
    await createOpenRouterProvider(http).fetchResult("job-2", dir, new AbortController().signal);
    expect(downloads).toEqual(["api/v1/videos/job-2/content?index=0"]);
  });

  it("a passing refusal at poll is retryable; cancel sends nothing", async () => {
    const { http, calls } = fakeHttp({
      "api/v1/videos/job-3": { status: 429, json: { error: { code: 429, message: "Rate limit exceeded" } } },
    });
    const p = createOpenRouterProvider(http);
    const e = await thrown(p.poll("job-3", new AbortController().signal));
    expect(e).toMatchObject({ code: "upstream_rejected", retryable: true });
    await p.cancel("job-3", new AbortController().signal);
    expect(calls).toHaveLength(1);
  });
});
