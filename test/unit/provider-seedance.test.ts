/**
 * The Seedance adapter's pure parts: Reelay's request to Ark's create body, Ark's task to
 * Reelay's status, Ark's error codes to Reelay's classes, and how a create's answer is judged.
 */
import { describe, expect, it } from "vitest";
import {
  arkError,
  createBody,
  errorClassOf,
  imageUrls,
  readTask,
} from "../../src/adapters/providers/seedance/mapping.js";
import { createSeedanceProvider } from "../../src/adapters/providers/seedance/provider.js";
import type { CallResult, ChannelHttp } from "../../src/adapters/providers/upstream/http.js";
import { imagesByRole } from "../../src/adapters/providers/upstream/images.js";
import { ErrorCode, errors, isReelayError } from "../../src/core/errors.js";
import type { VideoRequest } from "../../src/core/tasks/task.js";
import { textToVideo } from "../helpers/video-request.js";

const req = (over: Partial<VideoRequest> = {}): VideoRequest =>
  textToVideo({
    model: "seedance-1.0-pro",
    family: "seedance-1.0",
    prompt: "a fox in the snow",
    size: "large",
    width: 1920,
    height: 1080,
    ...over,
  });
const none = { firstFrame: null, lastFrame: null, references: [] };

describe("createBody", () => {
  it("sends the prompt as text content and the controls as top-level fields", () => {
    expect(createBody(req(), "seedance-1-0-pro-250528", none)).toEqual({
      model: "seedance-1-0-pro-250528",
      content: [{ type: "text", text: "a fox in the snow" }],
      ratio: "16:9",
      resolution: "1080p",
      duration: 5,
      watermark: false,
    });
  });

  it("takes size and orientation when no aspect ratio or resolution is asked", () => {
    const b = createBody(
      req({ orientation: "portrait", size: "small", width: 720, height: 1280, watermark: true }),
      "m",
      none,
    );
    expect(b).toMatchObject({ ratio: "9:16", resolution: "720p", watermark: true });
  });

  it("passes an asked aspect ratio, resolution, seed and audio; never a negative prompt", () => {
    const b = createBody(
      req({
        aspectRatio: "21:9",
        resolution: "480p",
        seed: 4294967295,
        audio: false,
        negativePrompt: "blur",
      }),
      "m",
      none,
    );
    expect(b).toMatchObject({ ratio: "21:9", resolution: "480p", seed: 4294967295, generate_audio: false });
    expect(JSON.stringify(b)).not.toContain("blur");
    expect(b).not.toHaveProperty("negative_prompt");
  });

  it("puts first and last frames in content with their roles", () => {
    const b = createBody(req(), "m", {
      firstFrame: "https://img.example/first.png",
      lastFrame: "data:image/png;base64,AAAA",
      references: [],
    });
    expect(b.content).toEqual([
      { type: "text", text: "a fox in the snow" },
      { type: "image_url", image_url: { url: "https://img.example/first.png" }, role: "first_frame" },
      { type: "image_url", image_url: { url: "data:image/png;base64,AAAA" }, role: "last_frame" },
    ]);
  });

  it("sends reference images with the reference_image role", () => {
    const b = createBody(req(), "m", {
      firstFrame: null,
      lastFrame: null,
      references: ["https://r/1.png", "https://r/2.png"],
    });
    expect(b.content.slice(1)).toEqual([
      { type: "image_url", image_url: { url: "https://r/1.png" }, role: "reference_image" },
      { type: "image_url", image_url: { url: "https://r/2.png" }, role: "reference_image" },
    ]);
  });

  it("refuses frames and references together, and a last frame without a first", () => {
    expect(() =>
      createBody(req(), "m", { firstFrame: "https://a", lastFrame: null, references: ["https://b"] }),
    ).toThrow(/either first\/last frames or reference images/);
    expect(() =>
      createBody(req(), "m", { firstFrame: null, lastFrame: "https://a", references: [] }),
    ).toThrow(/last frame only together with a first frame/);
  });
});

describe("imageUrls", () => {
  it("keeps links and turns uploads into data URLs, by role", async () => {
    const r = req({ images: ["https://img.example/a.png"], imageRoles: ["last_frame", "first_frame"] });
    const urls = await imageUrls(
      imagesByRole(r, { imageFiles: ["/work/up.png"] }),
      async (f) => `data:image/png;base64,${f}`,
    );
    expect(urls).toEqual({
      firstFrame: "data:image/png;base64,/work/up.png",
      lastFrame: "https://img.example/a.png",
      references: [],
    });
  });
});

describe("errorClassOf", () => {
  it.each([
    ["InputTextSensitiveContentDetected", 400, "content_policy"],
    ["InputImageSensitiveContentDetected", 400, "content_policy"],
    ["OutputVideoSensitiveContentDetected", null, "content_policy"],
    ["InputImageSensitiveContentDetected.PrivacyInformation", 400, "content_policy"],
    ["SensitiveContentDetected.Violence", 400, "content_policy"],
    ["InputTextRiskDetection", 400, "content_policy"],
    ["InvalidParameter", 400, "invalid_request"],
    ["MissingParameter", 400, "invalid_request"],
    ["AuthenticationError", 401, "auth"],
    ["AccessDenied", 403, "auth"],
    ["ModelNotOpen", 404, "auth"],
    ["AccountOverdueError", 403, "quota"],
    ["QuotaExceeded", 429, "quota"],
    ["SetLimitExceeded", 429, "quota"],
    ["ServerOverloaded", 429, "overloaded"],
    ["RateLimitExceeded.EndpointRPMExceeded", 429, "overloaded"],
    ["ModelAccountTpmRateLimitExceeded", 429, "overloaded"],
    ["InternalServiceError", 500, "upstream_internal"],
  ] as const)("%s (HTTP %s) is %s", (code, status, cls) => {
    expect(errorClassOf(code, status)).toBe(cls);
  });

  it("falls back on the HTTP status for codes it does not know", () => {
    expect(errorClassOf("SomethingNew", 503)).toBe("upstream_internal");
    expect(errorClassOf(null, 401)).toBe("auth");
    expect(errorClassOf(null, 429)).toBe("overloaded");
    expect(errorClassOf("SomethingNew", null)).toBeNull();
  });
});

describe("readTask", () => {
  it.each([
    ["queued", "queued"],
    ["running", "running"],
    ["succeeded", "completed"],
    ["failed", "failed"],
    ["cancelled", "failed"],
    ["expired", "expired"],
  ] as const)("reads '%s' as %s", (word, state) => {
    expect(readTask({ id: "cgt-1", status: word })).toMatchObject({ state, raw: word, known: true });
  });

  it("keeps an unknown or missing status running, marked unknown", () => {
    expect(readTask({ status: "warming_up" })).toMatchObject({
      state: "running",
      raw: "warming_up",
      known: false,
    });
    expect(readTask({})).toMatchObject({ state: "running", raw: null, known: false });
  });

  it("reports usage tokens and full progress on success", () => {
    const s = readTask({
      status: "succeeded",
      content: { video_url: "https://tos.example/v.mp4" },
      usage: { completion_tokens: 246840, total_tokens: 246840 },
    });
    expect(s).toMatchObject({ state: "completed", progress: 100, error: null, usage: { tokens: 246840 } });
  });

  it("classes a moderated output as content_policy, with Ark's code and message", () => {
    const s = readTask({
      status: "failed",
      error: {
        code: "OutputVideoSensitiveContentDetected",
        message: "The output video may contain sensitive information.",
      },
    });
    expect(s.error).toEqual({
      code: "OutputVideoSensitiveContentDetected",
      message: "The output video may contain sensitive information.",
      class: "content_policy",
    });
  });

  it("says why when a failed task carries no error, and classes an expired task as a timeout", () => {
    expect(readTask({ status: "failed", error: null }).error?.message).toContain("'failed'");
    expect(readTask({ status: "expired" }).error?.class).toBe("timeout");
  });
});

describe("arkError", () => {
  it("reads Ark's envelope, and nothing else", () => {
    expect(
      arkError({
        error: { code: "InvalidParameter", message: "bad ratio", param: "ratio", type: "BadRequest" },
      }),
    ).toEqual({
      code: "InvalidParameter",
      message: "bad ratio",
    });
    expect(arkError({ id: "cgt-1" })).toBeNull();
  });
});

describe("submit", () => {
  /** A channel whose every call answers `res`. */
  const httpAnswering = (res: CallResult): ChannelHttp => ({
    channelId: "ark",
    call: async () => res,
    refusal: (r) =>
      errors.upstreamRejected("ark", { status: r.status, code: null, message: r.text }, { retryable: true }),
    download: async () => ({ bytes: 0 }),
    close: async () => undefined,
  });
  const ctx = {
    taskId: "t1",
    upstreamModel: "seedance-1-0-pro-250528",
    imageFiles: [],
    workDir: "/tmp",
    signal: new AbortController().signal,
  };
  const answer = (status: number, json: unknown): CallResult => ({
    status,
    json,
    text: JSON.stringify(json),
    retryAfterS: null,
  });
  const submitError = async (res: CallResult) => {
    try {
      await createSeedanceProvider(httpAnswering(res)).submit(req(), ctx);
    } catch (e) {
      if (isReelayError(e)) return e;
      throw e;
    }
    throw new Error("submit did not throw");
  };

  it("takes the id of an accepted create as a queued task", async () => {
    const r = await createSeedanceProvider(httpAnswering(answer(200, { id: "cgt-20250101-abc" }))).submit(
      req(),
      ctx,
    );
    expect(r).toMatchObject({ upstreamId: "cgt-20250101-abc", status: { state: "queued" } });
  });

  it("refuses as content_policy on a moderation code", async () => {
    const e = await submitError(
      answer(400, { error: { code: "InputTextSensitiveContentDetected", message: "sensitive" } }),
    );
    expect(e.code).toBe(ErrorCode.contentPolicy);
  });

  it("fails an invalid parameter for good, and lets the router fail over on quota and overload", async () => {
    expect(
      (await submitError(answer(400, { error: { code: "InvalidParameter", message: "bad" } }))).retryable,
    ).toBe(false);
    expect(
      (await submitError(answer(429, { error: { code: "QuotaExceeded", message: "quota" } }))).retryable,
    ).toBe(true);
    expect(
      (await submitError(answer(429, { error: { code: "ServerOverloaded", message: "busy" } }))).retryable,
    ).toBe(true);
    expect(
      (await submitError(answer(401, { error: { code: "AuthenticationError", message: "key" } }))).retryable,
    ).toBe(true);
  });

  it("judges a 200 that carries an error by its code, and a 200 without an id as an unknown outcome", async () => {
    const e = await submitError(
      answer(200, { error: { code: "OutputVideoSensitiveContentDetected", message: "x" } }),
    );
    expect(e.code).toBe(ErrorCode.contentPolicy);
    expect((await submitError(answer(200, {}))).code).toBe(ErrorCode.upstreamOutcomeUnknown);
  });

  it("refuses frames mixed with references before calling Ark", async () => {
    const mixed = req({
      images: ["https://a/1.png", "https://a/2.png"],
      imageRoles: ["first_frame", "reference"],
    });
    let calls = 0;
    const http = {
      ...httpAnswering(answer(200, { id: "x" })),
      call: async () => {
        calls++;
        return answer(200, { id: "x" });
      },
    };
    await expect(createSeedanceProvider(http).submit(mixed, ctx)).rejects.toMatchObject({
      code: ErrorCode.upstreamRejected,
      retryable: false,
    });
    expect(calls).toBe(0);
  });
});
