/** The xAI (Grok Imagine) adapter's pure tables: request → create body, result → status, errors → classes. */
import { describe, expect, it } from "vitest";
import {
  createBody,
  errorClassOf,
  imageUrls,
  readResult,
  resultPath,
  videoUrlOf,
  XaiRequestError,
  xaiError,
} from "../../src/adapters/providers/xai/mapping.js";
import type { VideoRequest } from "../../src/core/tasks/task.js";
import { textToVideo } from "../helpers/video-request.js";

const request = (over: Partial<VideoRequest> = {}): VideoRequest =>
  textToVideo({
    model: "grok-imagine-video",
    prompt: "a kite over dunes",
    duration: 6,
    watermark: true,
    ...over,
  });

const none = { firstFrame: null, references: [] };

describe("createBody", () => {
  it("maps the seed fields to duration, aspect_ratio and resolution, the model id as given", () => {
    expect(createBody(request(), "grok-imagine-video", none)).toEqual({
      model: "grok-imagine-video",
      prompt: "a kite over dunes",
      duration: 6,
      aspect_ratio: "16:9",
      resolution: "720p",
    });
    expect(
      createBody(request({ orientation: "portrait", width: 720, height: 1280, duration: 15 }), "m", none),
    ).toMatchObject({
      aspect_ratio: "9:16",
      duration: 15,
    });
  });

  it("sends an asked aspect ratio and resolution as they are", () => {
    expect(
      createBody(request({ aspectRatio: "4:3", resolution: "480p" } as Partial<VideoRequest>), "m", none),
    ).toMatchObject({ aspect_ratio: "4:3", resolution: "480p" });
  });

  it("sends a first frame as image.url and references as reference_images", () => {
    expect(createBody(request(), "m", { firstFrame: "https://i/a.png", references: [] })).toMatchObject({
      image: { url: "https://i/a.png" },
    });
    const body = createBody(request(), "m", { firstFrame: null, references: ["https://i/a.png", "data:x"] });
    expect(body.reference_images).toEqual([{ url: "https://i/a.png" }, { url: "data:x" }]);
    expect(body.image).toBeUndefined();
  });

  it("refuses what xAI documents it does not take", () => {
    expect(() => createBody(request(), "m", { firstFrame: "a", references: ["b"] })).toThrow(XaiRequestError);
    expect(() => createBody(request(), "m", { firstFrame: null, references: Array(8).fill("r") })).toThrow(
      /at most 7/,
    );
    expect(() => createBody(request({ duration: 12 }), "m", { firstFrame: null, references: ["r"] })).toThrow(
      /10 seconds/,
    );
  });

  it("reads uploads as data URIs and says when a last frame was given", async () => {
    const urls = await imageUrls(
      {
        firstFrame: { url: null, file: "/tmp/f.png" },
        lastFrame: { url: "https://i/l.png", file: null },
        references: [],
      },
      async (f) => `data:image/png;base64,${f}`,
    );
    expect(urls).toEqual({ firstFrame: "data:image/png;base64,/tmp/f.png", lastFrame: true, references: [] });
  });
});

describe("readResult", () => {
  it("reads pending as running, with progress when given", () => {
    expect(readResult({ status: "pending", progress: 42 })).toMatchObject({
      state: "running",
      raw: "pending",
      known: true,
      progress: 42,
      error: null,
    });
  });

  it("reads done with the video's length as usage", () => {
    const done = {
      status: "done",
      video: { url: "https://vidgen.x.ai/b/v.mp4", duration: 6, respect_moderation: true },
      model: "grok-imagine-video",
    };
    expect(readResult(done)).toMatchObject({ state: "completed", progress: 100, usage: { seconds: 6 } });
    expect(videoUrlOf(done)).toBe("https://vidgen.x.ai/b/v.mp4");
  });

  it("reads a done video that does not respect moderation as a content_policy failure", () => {
    expect(readResult({ status: "done", video: { duration: 6, respect_moderation: false } })).toMatchObject({
      state: "failed",
      error: { class: "content_policy" },
    });
  });

  it("reads failed with xAI's code and message, classified", () => {
    expect(
      readResult({
        status: "failed",
        video: { duration: 0, respect_moderation: true },
        error: { code: "internal_error", message: "Video generation failed." },
      }),
    ).toMatchObject({
      state: "failed",
      error: { code: "internal_error", message: "Video generation failed.", class: "upstream_internal" },
    });
    expect(
      readResult({ status: "failed", error: { code: "x", message: "rejected by content moderation" } }).error
        ?.class,
    ).toBe("content_policy");
  });

  it("reads expired as expired, and an unknown or missing word as still running, unknown", () => {
    expect(readResult({ status: "expired" })).toMatchObject({
      state: "expired",
      error: { class: "timeout" },
    });
    expect(readResult({ status: "warming_up" })).toMatchObject({ state: "running", known: false });
    expect(readResult({})).toMatchObject({ state: "running", known: false, raw: null });
  });
});

describe("errors", () => {
  it("reads xAI's {code, error} body and the nested one", () => {
    expect(xaiError({ code: "Client specified an invalid argument", error: "bad" })).toEqual({
      code: "Client specified an invalid argument",
      message: "bad",
    });
    expect(xaiError({ error: { code: "internal_error", message: "m" } })).toEqual({
      code: "internal_error",
      message: "m",
    });
    expect(xaiError({ request_id: "x" })).toBeNull();
  });

  it.each([
    [400, "Incorrect API key provided: xa***ey.", "auth"],
    [401, "No authorization header", "auth"],
    [403, "Your team has used all available credits", "quota"],
    [403, "Your API key is blocked", "auth"],
    [429, "rate limit", "overloaded"],
    [429, "You ran out of credits.", "quota"],
    [503, "unavailable", "upstream_internal"],
    [400, "Prompt rejected by content moderation.", "content_policy"],
    [400, "duration must be between 1 and 15", "invalid_request"],
    [422, "invalid type", "invalid_request"],
  ])("classifies HTTP %i %j as %s", (status, message, cls) => {
    expect(errorClassOf(status, "Client specified an invalid argument", message)).toBe(cls);
  });

  it("builds the result path with the id escaped", () => {
    expect(resultPath("a/b")).toBe("v1/videos/a%2Fb");
  });
});
