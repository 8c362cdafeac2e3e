/** The DashScope (Alibaba Wan) adapter's pure parts: request → body, task answers, error classes. */
import { describe, expect, it } from "vitest";
import {
  buildBody,
  classOf,
  DashScopeMappingError,
  isChannelFault,
  linkExpiredAt,
  readError,
  readTask,
  t2vSize,
} from "../../src/adapters/providers/dashscope/mapping.js";
import { DASHSCOPE_MODELS } from "../../src/core/catalogue/builtin/dashscope.js";
import type { VideoRequest } from "../../src/core/tasks/task.js";
import { textToVideo } from "../helpers/video-request.js";

const REQ: VideoRequest = textToVideo({
  model: "wan2.5",
  family: "wan2.5",
  prompt: "a heron in the reeds",
  size: "large",
  width: 1920,
  height: 1080,
  watermark: true,
});

describe("DashScope request body", () => {
  it("maps the seed fields of a text-to-video request to size W*H, duration and the watermark switch", () => {
    expect(buildBody(REQ, "wan2.5-t2v-preview", null)).toEqual({
      model: "wan2.5-t2v-preview",
      input: { prompt: "a heron in the reeds" },
      parameters: { size: "1920*1080", duration: 5, watermark: true },
    });
    const portrait = { ...REQ, orientation: "portrait" as const, size: "small", width: 720, height: 1280 };
    expect(buildBody(portrait, "wan2.5-t2v-preview", null).parameters).toEqual({
      size: "720*1280",
      duration: 5,
      watermark: true,
    });
  });

  it("maps aspect ratio × resolution to the documented size list", () => {
    const cases: [string, string, string][] = [
      ["480p", "16:9", "832*480"],
      ["480p", "9:16", "480*832"],
      ["480p", "1:1", "624*624"],
      ["720p", "1:1", "960*960"],
      ["720p", "4:3", "1088*832"],
      ["720p", "3:4", "832*1088"],
      ["1080p", "1:1", "1440*1440"],
      ["1080p", "4:3", "1632*1248"],
      ["1080p", "3:4", "1248*1632"],
    ];
    for (const [resolution, aspectRatio, size] of cases)
      expect(t2vSize({ ...REQ, resolution, aspectRatio }), `${resolution} ${aspectRatio}`).toBe(size);
  });

  it("takes an OpenAI-style WxH as it is when DashScope makes it", () => {
    expect(t2vSize({ ...REQ, api: "openai", size: "960x960", width: 960, height: 960 })).toBe("960*960");
    expect(t2vSize({ ...REQ, api: "openai", size: "832x480", width: 832, height: 480 })).toBe("832*480");
  });

  it("refuses what DashScope does not make, naming the field", () => {
    expect(() => t2vSize({ ...REQ, resolution: "480p", aspectRatio: "4:3" })).toThrow(DashScopeMappingError);
    expect(() => t2vSize({ ...REQ, resolution: "480p", aspectRatio: "4:3" })).toThrow(
      /480p only in 16:9, 9:16, 1:1/,
    );
    expect(() => buildBody({ ...REQ, resolution: "4k" }, "m", null)).toThrow(DashScopeMappingError);
  });

  it("sends negative prompt, seed and watermark off when asked; never an audio switch (wan2.5 always has sound)", () => {
    const body = buildBody(
      { ...REQ, negativePrompt: "blur, text", seed: 42, watermark: false },
      "wan2.5-t2v-preview",
      null,
    );
    expect(body.input).toEqual({ prompt: "a heron in the reeds", negative_prompt: "blur, text" });
    expect(body.parameters).toEqual({
      size: "1920*1080",
      duration: 5,
      watermark: false,
      seed: 42,
    });
    expect("audio" in buildBody({ ...REQ, audio: true }, "m", null).parameters).toBe(false);
  });

  it("makes an image-to-video body: img_url and resolution, no size", () => {
    const body = buildBody(
      { ...REQ, size: "small", width: 1280, height: 720 },
      "wan2.5-i2v-preview",
      "https://x/y.png",
    );
    expect(body).toEqual({
      model: "wan2.5-i2v-preview",
      input: { prompt: "a heron in the reeds", img_url: "https://x/y.png" },
      parameters: { resolution: "720P", duration: 5, watermark: true },
    });
    expect(
      buildBody({ ...REQ, resolution: "480p" }, "m", "data:image/png;base64,AAAA").parameters.resolution,
    ).toBe("480P");
  });
});

describe("DashScope task answers", () => {
  const answer = (output: object, usage?: object) => ({
    request_id: "r-1",
    output,
    ...(usage ? { usage } : {}),
  });

  it("reads the documented status words", () => {
    expect(readTask(answer({ task_id: "t", task_status: "PENDING" }))).toMatchObject({
      state: "queued",
      known: true,
    });
    expect(readTask(answer({ task_id: "t", task_status: "RUNNING" }))).toMatchObject({
      state: "running",
      known: true,
    });
    const done = readTask(
      answer(
        {
          task_id: "t",
          task_status: "SUCCEEDED",
          video_url: "https://oss/x.mp4?Expires=1",
          actual_prompt: "better",
        },
        { video_duration: 10, video_ratio: "1920*1080", video_count: 1 },
      ),
    );
    expect(done).toMatchObject({
      state: "completed",
      raw: "SUCCEEDED",
      videoUrl: "https://oss/x.mp4?Expires=1",
      usage: { seconds: 10 },
      enhancedPrompt: "better",
      error: null,
    });
  });

  it("an unlisted word keeps the task running, flagged unknown; a success without its link keeps polling", () => {
    expect(readTask(answer({ task_id: "t", task_status: "WAITING_FOR_GPU" }))).toMatchObject({
      state: "running",
      known: false,
      raw: "WAITING_FOR_GPU",
    });
    expect(readTask(answer({ task_id: "t" }))).toMatchObject({ state: "running", known: false });
    expect(readTask(answer({ task_id: "t", task_status: "SUCCEEDED" }))).toMatchObject({ state: "running" });
  });

  it("classifies failures: moderation is content_policy, others keep DashScope's code and message", () => {
    expect(
      readTask(
        answer({
          task_id: "t",
          task_status: "FAILED",
          code: "DataInspectionFailed",
          message: "Output data may contain inappropriate content.",
        }),
      ).error,
    ).toEqual({
      code: "DataInspectionFailed",
      message: "Output data may contain inappropriate content.",
      class: "content_policy",
    });
    expect(
      readTask(answer({ task_id: "t", task_status: "FAILED", code: "IPInfringementSuspect", message: "ip" }))
        .error?.class,
    ).toBe("content_policy");
    expect(
      readTask(answer({ task_id: "t", task_status: "FAILED", code: "InternalError.Algo", message: "boom" }))
        .error,
    ).toEqual({ code: "InternalError.Algo", message: "boom", class: "upstream_internal" });
    expect(readTask(answer({ task_id: "t", task_status: "CANCELED" }))).toMatchObject({
      state: "failed",
      error: { code: "CANCELED" },
    });
  });

  it("UNKNOWN is a task DashScope no longer has: expired, result unavailable", () => {
    expect(readTask(answer({ task_id: "t", task_status: "UNKNOWN" }))).toMatchObject({
      state: "expired",
      error: { class: "result_unavailable" },
    });
  });
});

describe("DashScope errors", () => {
  it.each([
    ["InvalidApiKey", 401, "auth", true],
    ["AccessDenied", 403, "auth", true],
    ["Arrearage", 400, "quota", true],
    ["Throttling.AllocationQuota", 429, "quota", true],
    ["Throttling.RateQuota", 429, "overloaded", true],
    ["Throttling", 429, "overloaded", true],
    ["InternalError", 500, "upstream_internal", true],
    ["InvalidParameter", 400, "invalid_request", false],
    ["DataInspectionFailed", 400, "content_policy", false],
    ["IPInfringementSuspect", 400, "content_policy", false],
  ] as const)("%s (HTTP %i) is %s", (code, status, cls, channelFault) => {
    expect(classOf(code, status)).toBe(cls);
    expect(isChannelFault(classOf(code, status))).toBe(channelFault);
  });

  it("falls back on the HTTP status when the code is unknown", () => {
    expect(classOf("Whatever", 503)).toBe("upstream_internal");
    expect(classOf(null, 429)).toBe("overloaded");
    expect(classOf(null, 400)).toBe("invalid_request");
  });

  it("reads the envelope, or the text when it is not one", () => {
    expect(
      readError({ request_id: "r", code: "InvalidApiKey", message: "Invalid API-key provided." }, ""),
    ).toEqual({
      code: "InvalidApiKey",
      message: "Invalid API-key provided.",
    });
    expect(readError(undefined, "<html>502</html>")).toEqual({ code: null, message: "<html>502</html>" });
  });

  it("knows an expired signed result link by its Expires", () => {
    expect(linkExpiredAt("https://oss/x.mp4?Expires=1000&Signature=s", 2_000_000)).toBe(
      new Date(1_000_000).toISOString(),
    );
    expect(linkExpiredAt("https://oss/x.mp4?Expires=3000", 2_000_000)).toBeNull();
    expect(linkExpiredAt("https://oss/x.mp4", 2_000_000)).toBeNull();
  });
});

describe("the wan2.5 catalogue entry", () => {
  it("names both upstream ids and what the docs say it takes", () => {
    const [wan] = DASHSCOPE_MODELS;
    expect(wan).toMatchObject({
      name: "wan2.5",
      durations: [5, 10],
      upstream: { dashscope: { textToVideo: "wan2.5-t2v-preview", imageToVideo: "wan2.5-i2v-preview" } },
      accepts: { firstFrame: true, lastFrame: false, referenceImages: 0, audio: "always" },
    });
    // Every OpenAI-style size it lists is one the text-to-video size list has.
    for (const s of wan?.videoSizes ?? []) {
      const [w, h] = s.split("x").map(Number);
      expect(t2vSize({ ...REQ, api: "openai", size: s, width: w ?? 0, height: h ?? 0 })).toBe(
        s.replace("x", "*"),
      );
    }
  });
});
