/**
 * Runway's request table, status words and failure codes (src/adapters/providers/runway/mapping.ts),
 * and the credential headers every call carries.
 */
import { describe, expect, it } from "vitest";
import {
  classifyFailure,
  createBody,
  RUNWAY_VERSION,
  type RunwayImages,
  RunwayUnsupported,
  readTask,
  runwayRatio,
} from "../../src/adapters/providers/runway/mapping.js";
import { runwayAuthHeaders } from "../../src/adapters/providers/runway/provider.js";
import { DEFAULT_MODELS } from "../../src/core/catalogue/models.js";
import type { VideoRequest } from "../../src/core/tasks/task.js";
import { channelSchema, readChannels } from "../../src/main/channel_config.js";
import { textToVideo } from "../helpers/video-request.js";

const request = (over: Partial<VideoRequest> = {}): VideoRequest =>
  textToVideo({ model: "gen4.5", family: "gen-4.5", prompt: "a kite over dunes", ...over });
const none: RunwayImages = { firstFrame: null, lastFrame: null, references: 0 };

describe("Runway ratio", () => {
  it("names pixel sizes from aspect ratio and resolution", () => {
    expect(runwayRatio(request())).toBe("1280:720");
    expect(runwayRatio(request({ orientation: "portrait", width: 720, height: 1280 }))).toBe("720:1280");
    expect(runwayRatio(request({ size: "large", width: 1920, height: 1080 }))).toBe("1920:1080");
    expect(runwayRatio(request({ aspectRatio: "9:16", resolution: "1080p" }))).toBe("1080:1920");
    expect(runwayRatio(request({ aspectRatio: "1:1" }))).toBe("960:960");
    expect(runwayRatio(request({ aspectRatio: "21:9" }))).toBe("1584:672");
    expect(runwayRatio(request({ aspectRatio: "4:3" }))).toBe("1104:832");
  });

  it("takes an OpenAI-style size that is one of Runway's as it is", () => {
    expect(runwayRatio(request({ api: "openai", size: "1104x832", width: 1104, height: 832 }))).toBe(
      "1104:832",
    );
    expect(runwayRatio(request({ api: "openai", size: "1080x1920", width: 1080, height: 1920 }))).toBe(
      "1080:1920",
    );
  });
});

describe("Runway create body", () => {
  it("text-to-video: model, promptText, ratio, duration, seed where the model takes one", () => {
    expect(createBody(request({ seed: 42 }), { model: "gen4.5", images: none })).toEqual({
      endpoint: "text_to_video",
      body: { model: "gen4.5", promptText: "a kite over dunes", ratio: "1280:720", duration: 5, seed: 42 },
    });
  });

  it("veo3.1: 1080p ratio, audio said explicitly, negative prompt, no seed", () => {
    const r = request({
      size: "large",
      width: 1920,
      height: 1080,
      duration: 8,
      seed: 7,
      negativePrompt: "rain",
    });
    expect(createBody(r, { model: "veo3.1", images: none }).body).toEqual({
      model: "veo3.1",
      promptText: "a kite over dunes",
      ratio: "1920:1080",
      duration: 8,
      negativePrompt: "rain",
      audio: false,
    });
    expect(createBody({ ...r, audio: true }, { model: "veo3.1", images: none }).body.audio).toBe(true);
  });

  it("image-to-video: a first frame alone as a string, with a last frame as positioned entries", () => {
    const one = createBody(request(), {
      model: "gen4.5",
      images: { ...none, firstFrame: "https://img.example/a.png" },
    });
    expect(one).toMatchObject({
      endpoint: "image_to_video",
      body: { promptImage: "https://img.example/a.png" },
    });
    const two = createBody(request({ duration: 6 }), {
      model: "veo3.1",
      images: {
        firstFrame: "data:image/png;base64,AAAA",
        lastFrame: "https://img.example/z.png",
        references: 0,
      },
    });
    expect(two.body.promptImage).toEqual([
      { uri: "data:image/png;base64,AAAA", position: "first" },
      { uri: "https://img.example/z.png", position: "last" },
    ]);
  });

  it("refuses what Runway's models cannot make, naming the field", () => {
    const refuse = (r: VideoRequest, model: string, images = none) => {
      try {
        createBody(r, { model, images });
      } catch (e) {
        expect(e).toBeInstanceOf(RunwayUnsupported);
        return (e as Error).message;
      }
      throw new Error("not refused");
    };
    expect(refuse(request(), "gen4_turbo")).toMatch(/^first_frame: .*image-to-video only/);
    expect(refuse(request({ aspectRatio: "1:1" }), "gen4.5")).toMatch(/^aspect_ratio: .*1280:720, 720:1280/);
    expect(
      refuse(request(), "gen4.5", {
        ...none,
        firstFrame: "https://a.example/x.png",
        lastFrame: "https://a.example/y.png",
      }),
    ).toMatch(/^last_frame/);
    expect(refuse(request(), "veo3.1", { ...none, lastFrame: "https://a.example/y.png" })).toMatch(
      /^last_frame/,
    );
    expect(refuse(request(), "gen4.5", { ...none, references: 1 })).toMatch(/^reference_images/);
  });

  it("gen4_turbo from a first frame at a 1:1 ratio", () => {
    const { endpoint, body } = createBody(request({ aspectRatio: "1:1", duration: 10 }), {
      model: "gen4_turbo",
      images: { ...none, firstFrame: "https://img.example/a.png" },
    });
    expect(endpoint).toBe("image_to_video");
    expect(body).toMatchObject({ model: "gen4_turbo", ratio: "960:960", duration: 10 });
  });
});

describe("Runway tasks", () => {
  it("maps the status words, progress 0–1 to percent, and an unknown word to still running", () => {
    expect(readTask({ id: "t", status: "PENDING" })).toMatchObject({ state: "queued", known: true });
    expect(readTask({ id: "t", status: "THROTTLED" })).toMatchObject({ state: "queued", known: true });
    expect(readTask({ id: "t", status: "RUNNING", progress: 0.42 })).toMatchObject({
      state: "running",
      progress: 42,
    });
    expect(readTask({ id: "t", status: "RENDERING" })).toMatchObject({
      state: "running",
      known: false,
      raw: "RENDERING",
    });
    expect(readTask({ id: "t" })).toMatchObject({ state: "running", known: false, raw: null });
    expect(readTask({ id: "t", status: "SUCCEEDED", output: ["https://cdn.example/v.mp4"] })).toMatchObject({
      state: "completed",
      videoUrl: "https://cdn.example/v.mp4",
      progress: 100,
    });
    expect(readTask({ id: "t", status: "SUCCEEDED", output: [] })).toMatchObject({ state: "running" });
  });

  it("reads a failure's code, reason and class; CANCELLED ends the task", () => {
    expect(
      readTask({ id: "t", status: "FAILED", failure: "Prompt rejected", failureCode: "SAFETY.INPUT.TEXT" })
        .error,
    ).toEqual({ code: "SAFETY.INPUT.TEXT", message: "Prompt rejected", class: "content_policy" });
    expect(readTask({ id: "t", status: "CANCELLED" })).toMatchObject({
      state: "failed",
      error: { code: null },
    });
  });

  it("classifies failure codes by family", () => {
    expect(classifyFailure("SAFETY.OUTPUT.VIDEO")).toBe("content_policy");
    expect(classifyFailure("INPUT_PREPROCESSING.SAFETY.TEXT")).toBe("content_policy");
    expect(classifyFailure("ASSET.INVALID")).toBe("invalid_request");
    expect(classifyFailure("INPUT_PREPROCESSING.INTERNAL")).toBe("upstream_internal");
    expect(classifyFailure("INTERNAL.BAD_OUTPUT.CODE01")).toBe("upstream_internal");
    expect(classifyFailure("INTERNAL")).toBe("upstream_internal");
    expect(classifyFailure(null)).toBe("upstream_internal");
  });
});

describe("Runway headers", () => {
  it("sends the key as Bearer and the API version on every call", () => {
    expect(runwayAuthHeaders("key_abc")()).toEqual({
      authorization: "Bearer key_abc",
      "x-runway-version": RUNWAY_VERSION,
    });
    expect(runwayAuthHeaders("key_abc", "2025-01-01")()["x-runway-version"]).toBe("2025-01-01");
  });
});

describe("Runway channel config", () => {
  const parse = (c: Record<string, unknown>) =>
    channelSchema.parse({ baseUrl: "https://api.dev.runwayml.com", ...c });
  const env = { RW_KEY: "key_x" };

  it("takes runwayVersion on a runway channel, and leaves it out when not given", () => {
    const [ch] = readChannels(
      [parse({ id: "rw", kind: "runway", secretEnv: "RW_KEY", runwayVersion: "2025-06-01" })],
      DEFAULT_MODELS,
      env,
      "test",
    );
    expect(ch?.runwayVersion).toBe("2025-06-01");
    const [plain] = readChannels(
      [parse({ id: "rw", kind: "runway", secretEnv: "RW_KEY" })],
      DEFAULT_MODELS,
      env,
      "test",
    );
    expect(plain).not.toHaveProperty("runwayVersion");
  });

  it("refuses runwayVersion on another kind, and a value that is not a version date", () => {
    expect(() =>
      readChannels(
        [parse({ id: "k", kind: "minimax", secretEnv: "RW_KEY", runwayVersion: "2024-11-06" })],
        DEFAULT_MODELS,
        env,
        "test",
      ),
    ).toThrow(/runwayVersion is for kind 'runway' only/);
    expect(() => parse({ id: "rw", kind: "runway", runwayVersion: "latest" })).toThrow(/version date/);
  });
});
