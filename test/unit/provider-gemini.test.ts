/**
 * The gemini adapter's pure parts: Reelay's request → predictLongRunning's body, operations →
 * Reelay's status, Google's errors → Reelay's classes.
 */
import { describe, expect, it } from "vitest";
import type { ImageFetcher } from "../../src/adapters/net/safe-fetch.js";
import {
  channelFault,
  classOf,
  createPath,
  googleError,
  operationPath,
  predictBody,
  readOperation,
  veoRoles,
  videoUriOf,
} from "../../src/adapters/providers/gemini/mapping.js";
import { createGeminiProvider, geminiAuthHeaders } from "../../src/adapters/providers/gemini/provider.js";
import type { CallResult, ChannelHttp } from "../../src/adapters/providers/upstream/http.js";
import { ErrorCode, type ReelayError } from "../../src/core/errors.js";
import type { VideoRequest } from "../../src/core/tasks/task.js";
import { checkPredictBody } from "../emulators/gemini.js";
import { textToVideo } from "../helpers/video-request.js";

const request = (over: Partial<VideoRequest> = {}): VideoRequest =>
  textToVideo({
    model: "veo-3.1",
    family: "veo-3.1",
    prompt: "a red kite",
    size: "large",
    width: 1920,
    height: 1080,
    duration: 8,
    ...over,
  });

const img = (n: string) => ({ bytesBase64Encoded: Buffer.from(n).toString("base64"), mimeType: "image/png" });
const NONE = { firstFrame: null, lastFrame: null, references: [] };

describe("predictBody", () => {
  it("maps the seed's fields: aspect ratio, resolution, duration as a number, nothing else", () => {
    expect(predictBody(request(), NONE)).toEqual({
      instances: [{ prompt: "a red kite" }],
      parameters: { aspectRatio: "16:9", resolution: "1080p", durationSeconds: 8 },
    });
    const portrait = predictBody(
      request({ orientation: "portrait", size: "small", width: 720, height: 1280, duration: 4 }),
      NONE,
    );
    expect(portrait.parameters).toEqual({ aspectRatio: "9:16", resolution: "720p", durationSeconds: 4 });
  });

  it("takes the asked aspect ratio, resolution and negative prompt; never seed, audio or watermark", () => {
    const body = predictBody(
      request({
        aspectRatio: "9:16",
        resolution: "720p",
        negativePrompt: "blur",
        seed: 42,
        audio: false,
        watermark: false,
      }),
      NONE,
    );
    expect(body.parameters).toEqual({
      aspectRatio: "9:16",
      resolution: "720p",
      durationSeconds: 8,
      negativePrompt: "blur",
    });
    expect(JSON.stringify(body)).not.toMatch(/seed|generateAudio|watermark/);
  });

  it("puts images in image, lastFrame and referenceImages (asset)", () => {
    const body = predictBody(request(), { firstFrame: img("a"), lastFrame: img("b"), references: [] });
    expect(body.instances[0]).toEqual({ prompt: "a red kite", image: img("a"), lastFrame: img("b") });
    const refs = predictBody(request(), {
      firstFrame: null,
      lastFrame: null,
      references: [img("r1"), img("r2")],
    });
    expect(refs.instances[0].referenceImages).toEqual([
      { image: img("r1"), referenceType: "asset" },
      { image: img("r2"), referenceType: "asset" },
    ]);
  });

  it("makes bodies the emulator (the documented rules) accepts, and the rules refuse what Veo refuses", () => {
    expect(checkPredictBody(predictBody(request(), NONE))).toMatchObject({
      ok: true,
      width: 1920,
      height: 1080,
    });
    expect(checkPredictBody(predictBody(request({ duration: 6 }), NONE))).toMatchObject({ ok: false });
    expect(
      checkPredictBody({
        instances: [{ prompt: "x" }],
        parameters: { durationSeconds: "6", resolution: "720p" },
      }),
    ).toMatchObject({ ok: true, seconds: 6 });
    expect(checkPredictBody({ instances: [{ prompt: "x" }], parameters: { seed: 1 } })).toMatchObject({
      ok: false,
    });
    expect(
      checkPredictBody({
        instances: [{ prompt: "x", image: { inlineData: { mimeType: "image/png", data: "AA==" } } }],
      }),
    ).toMatchObject({ ok: false });
  });
});

describe("veoRoles", () => {
  it("reads two images without roles as first and last frame; asked roles stand", () => {
    const byRole = { firstFrame: "a", lastFrame: null, references: ["b"] };
    expect(veoRoles(byRole, false)).toEqual({ firstFrame: "a", lastFrame: "b", references: [] });
    expect(veoRoles(byRole, true)).toEqual(byRole);
    const three = { firstFrame: "a", lastFrame: null, references: ["b", "c"] };
    expect(veoRoles(three, false)).toEqual(three);
  });
});

describe("paths and auth", () => {
  it("builds the create and operation paths; refuses names that would leave the API", () => {
    expect(createPath("veo-3.1-generate-preview")).toBe(
      "v1beta/models/veo-3.1-generate-preview:predictLongRunning",
    );
    expect(operationPath("models/veo-3.1-generate-preview/operations/abc123")).toBe(
      "v1beta/models/veo-3.1-generate-preview/operations/abc123",
    );
    for (const bad of ["../admin", "models/x/../../y", "/abs", "https://evil/x", "a//b", ""])
      expect(() => operationPath(bad)).toThrow();
  });

  it("sends the key as x-goog-api-key, never as a Bearer token", () => {
    expect(geminiAuthHeaders("k-123")()).toEqual({ "x-goog-api-key": "k-123" });
    expect(geminiAuthHeaders(null)()).toEqual({});
  });
});

describe("operations", () => {
  const name = "models/veo-3.1-generate-preview/operations/op1";
  it("reads a running operation (no done, or false) as running, and an odd done as unknown", () => {
    expect(readOperation({ name })).toMatchObject({ state: "running", known: true });
    expect(readOperation({ name, done: false })).toMatchObject({ state: "running", known: true });
    expect(readOperation({ name, done: "PROCESSING" })).toMatchObject({ state: "running", known: false });
  });

  it("reads a done operation with a video as completed, with its link", () => {
    const op = {
      name,
      done: true,
      response: {
        generateVideoResponse: {
          generatedSamples: [{ video: { uri: "https://x/v1beta/files/f:download?alt=media" } }],
        },
      },
    };
    expect(readOperation(op)).toMatchObject({ state: "completed", progress: 100, error: null });
    expect(videoUriOf(op)).toBe("https://x/v1beta/files/f:download?alt=media");
  });

  it("reads filtered media as content_policy, and an operation error by its google.rpc code", () => {
    const filtered = readOperation({
      name,
      done: true,
      response: { generateVideoResponse: { raiMediaFilteredCount: 1, raiMediaFilteredReasons: ["unsafe"] } },
    });
    expect(filtered).toMatchObject({
      state: "failed",
      error: { code: "RAI_MEDIA_FILTERED", message: "unsafe", class: "content_policy" },
    });
    expect(readOperation({ name, done: true, error: { code: 13, message: "boom" } })).toMatchObject({
      state: "failed",
      error: { code: "INTERNAL", message: "boom", class: "upstream_internal" },
    });
    expect(readOperation({ name, done: true, error: { code: 8, message: "quota" } }).error?.class).toBe(
      "quota",
    );
    expect(
      readOperation({
        name,
        done: true,
        error: { code: 3, message: "violates Google's Responsible AI practices" },
      }).error?.class,
    ).toBe("content_policy");
    expect(readOperation({ name, done: true, response: {} })).toMatchObject({
      state: "failed",
      error: { class: "upstream_internal" },
    });
  });
});

describe("errors", () => {
  it("reads Google's envelope with its ErrorInfo reason", () => {
    expect(
      googleError({
        error: {
          code: 400,
          message: "API key not valid.",
          status: "INVALID_ARGUMENT",
          details: [{ "@type": "type.googleapis.com/google.rpc.ErrorInfo", reason: "API_KEY_INVALID" }],
        },
      }),
    ).toEqual({
      httpCode: 400,
      status: "INVALID_ARGUMENT",
      message: "API key not valid.",
      reason: "API_KEY_INVALID",
    });
  });

  it.each([
    ["INVALID_ARGUMENT", "Request contains an invalid argument.", null, "invalid_request", false],
    ["INVALID_ARGUMENT", "API key not valid.", "API_KEY_INVALID", "auth", true],
    [
      "INVALID_ARGUMENT",
      "This prompt contains words that violate Google's Responsible AI practices",
      null,
      "content_policy",
      false,
    ],
    ["UNAUTHENTICATED", "no", null, "auth", true],
    ["PERMISSION_DENIED", "no", null, "auth", true],
    ["FAILED_PRECONDITION", "User location is not supported for the API use.", null, "auth", true],
    ["RESOURCE_EXHAUSTED", "quota", null, "quota", true],
    ["UNAVAILABLE", "The model is overloaded.", null, "overloaded", true],
    ["INTERNAL", "oops", null, "upstream_internal", true],
    ["NOT_FOUND", "models/x is not found", null, "invalid_request", false],
  ] as const)("%s (%s) is %s", (status, message, reason, cls, failover) => {
    expect(classOf(status, message, reason)).toBe(cls);
    expect(channelFault(classOf(status, message, reason))).toBe(failover);
  });
});

describe("a refused create, as the router sees it", () => {
  /** A provider whose one call answers `res` (no network). */
  const refusedWith = async (res: Partial<CallResult>): Promise<ReelayError> => {
    const answer: CallResult = { status: 200, retryAfterS: null, json: undefined, text: "", ...res };
    const http = {
      channelId: "g",
      call: async () => answer,
      refusal: () => {
        throw new Error("not used here");
      },
      download: async () => ({ bytes: 0 }),
      close: async () => undefined,
    } as unknown as ChannelHttp;
    const fetcher = {} as ImageFetcher;
    const p = createGeminiProvider(http, fetcher);
    const ctx = {
      taskId: "t",
      upstreamModel: "veo-3.1-generate-preview",
      imageFiles: [],
      workDir: "/nonexistent",
    };
    return p.submit(request(), { ...ctx, signal: AbortSignal.timeout(5000) }).then(
      () => {
        throw new Error("the create was taken");
      },
      (e: ReelayError) => e,
    );
  };
  const envelope = (code: number, status: string, message: string, reason?: string) => ({
    error: { code, status, message, ...(reason ? { details: [{ reason }] } : {}) },
  });

  it("sends the channel's faults elsewhere (retryable), Retry-After kept", async () => {
    const quota = await refusedWith({
      status: 429,
      retryAfterS: 7,
      json: envelope(429, "RESOURCE_EXHAUSTED", "quota"),
    });
    expect(quota).toMatchObject({ code: ErrorCode.upstreamRejected, retryable: true, retryAfterS: 7 });
    const key = await refusedWith({
      status: 400,
      json: envelope(400, "INVALID_ARGUMENT", "API key not valid.", "API_KEY_INVALID"),
    });
    expect(key).toMatchObject({ code: ErrorCode.upstreamRejected, retryable: true });
    const page = await refusedWith({ status: 502, text: "<html>Bad Gateway</html>" });
    expect(page).toMatchObject({ code: ErrorCode.upstreamRejected, retryable: true });
    expect(page.message).toContain("Bad Gateway");
  });

  it("fails the request's own faults here: invalid arguments (not retried), moderation as content_policy", async () => {
    const bad = await refusedWith({
      status: 400,
      json: envelope(400, "INVALID_ARGUMENT", "bad aspect ratio"),
    });
    expect(bad).toMatchObject({ code: ErrorCode.upstreamRejected, retryable: false });
    expect(bad.message).toContain("INVALID_ARGUMENT");
    expect(bad.message).toContain("bad aspect ratio");
    const moderated = await refusedWith({
      status: 400,
      json: envelope(
        400,
        "INVALID_ARGUMENT",
        "This prompt contains words that violate Google's Responsible AI practices.",
      ),
    });
    expect(moderated).toMatchObject({ code: ErrorCode.contentPolicy, retryable: false });
  });
});
