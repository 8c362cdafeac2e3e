/**
 * fal's queue API mapping (src/adapters/providers/fal/mapping.ts): app ids and upstream ids, the
 * model input built from a catalogue entry's `inputs`, status words, error envelopes; and the
 * built-in catalogue entries and a config-file entry naming fal inputs.
 */
import { describe, expect, it } from "vitest";
import {
  buildInput,
  classifyError,
  DEFAULT_INPUTS,
  FalUnsupported,
  falAppId,
  isFalEnvelope,
  parseUpstreamId,
  queuePaths,
  readStatus,
  upstreamIdOf,
  videoUrlOf,
} from "../../src/adapters/providers/fal/mapping.js";
import { falAuthHeaders } from "../../src/adapters/providers/fal/provider.js";
import { FAL_MODELS } from "../../src/core/catalogue/builtin/fal.js";
import { DEFAULT_MODELS } from "../../src/core/catalogue/models.js";
import { modelEntrySchema } from "../../src/main/model_config.js";

const req = {
  prompt: "a kite",
  duration: 5,
  aspectRatio: "16:9",
  resolution: "1080p",
  firstFrame: null,
  lastFrame: null,
  references: [],
};
const wan = FAL_MODELS.find((m) => m.name === "fal-wan-2.5");
const kling = FAL_MODELS.find((m) => m.name === "fal-kling-v2.1-master");

describe("fal ids and paths", () => {
  it("takes the app id (owner/alias) of an endpoint id with a subpath", () => {
    expect(falAppId("fal-ai/kling-video/v2.1/master/text-to-video")).toBe("fal-ai/kling-video");
    expect(falAppId("/fal-ai/veo3")).toBe("fal-ai/veo3");
    expect(() => falAppId("veo3")).toThrow(FalUnsupported);
    expect(() => falAppId("fal-ai/../x")).toThrow(FalUnsupported);
  });

  it("keeps the app id and request id in the upstream id, and builds the queue's paths from it", () => {
    const id = upstreamIdOf("fal-ai/wan-25-preview/text-to-video", "764cabcf-b745-4b3e-ae38-1200304cf45b");
    expect(id).toBe("fal-ai/wan-25-preview:764cabcf-b745-4b3e-ae38-1200304cf45b");
    expect(parseUpstreamId(id)).toEqual({
      appId: "fal-ai/wan-25-preview",
      requestId: "764cabcf-b745-4b3e-ae38-1200304cf45b",
    });
    expect(queuePaths(id)).toEqual({
      status: "fal-ai/wan-25-preview/requests/764cabcf-b745-4b3e-ae38-1200304cf45b/status?logs=1",
      response: "fal-ai/wan-25-preview/requests/764cabcf-b745-4b3e-ae38-1200304cf45b",
      cancel: "fal-ai/wan-25-preview/requests/764cabcf-b745-4b3e-ae38-1200304cf45b/cancel",
    });
    expect(() => parseUpstreamId("nonsense")).toThrow(FalUnsupported);
    expect(() => parseUpstreamId("fal-ai/x:../y")).toThrow(FalUnsupported);
  });

  it("sends the key as `Key <key>`", () => {
    expect(falAuthHeaders("k-123")()).toEqual({ authorization: "Key k-123" });
    expect(falAuthHeaders(null)()).toEqual({});
  });
});

describe("fal model input", () => {
  it("maps Reelay's inputs to the fields a catalogue entry names, in fal's formats", () => {
    expect(
      buildInput(
        { ...req, negativePrompt: "blur", seed: 7, resolution: "720P" },
        wan?.inputs ?? DEFAULT_INPUTS,
      ),
    ).toEqual({
      prompt: "a kite",
      duration: "5",
      aspect_ratio: "16:9",
      resolution: "720p",
      negative_prompt: "blur",
      seed: 7,
    });
  });

  it("leaves out what the model names no field for, and the aspect when the video takes the image's", () => {
    expect(
      buildInput(
        { ...req, seed: 7, aspectRatio: null, firstFrame: "https://x/a.png" },
        kling?.inputs ?? DEFAULT_INPUTS,
      ),
    ).toEqual({
      prompt: "a kite",
      duration: "5",
      image_url: "https://x/a.png",
    });
  });

  it("sends fixed inputs, mapped fields over them; images by role; references as a list; audio as a boolean", () => {
    const inputs = {
      fields: {
        prompt: "prompt",
        firstFrame: "start_image_url",
        lastFrame: "end_image_url",
        referenceImages: "image_urls",
        audio: "generate_audio",
      },
      fixed: { enable_safety_checker: true, prompt: "overridden" },
    };
    expect(
      buildInput(
        {
          ...req,
          audio: false,
          firstFrame: "data:image/png;base64,AA==",
          lastFrame: "https://x/b.png",
          references: ["https://x/r.png"],
        },
        inputs,
      ),
    ).toEqual({
      enable_safety_checker: true,
      prompt: "a kite",
      start_image_url: "data:image/png;base64,AA==",
      end_image_url: "https://x/b.png",
      image_urls: ["https://x/r.png"],
      generate_audio: false,
    });
  });

  it("refuses an image the model names no field for, and sends only the prompt without a mapping", () => {
    expect(() =>
      buildInput({ ...req, lastFrame: "https://x/b.png" }, kling?.inputs ?? DEFAULT_INPUTS),
    ).toThrow(/last_frame/);
    expect(() => buildInput({ ...req, references: ["https://x/r.png"] }, DEFAULT_INPUTS)).toThrow(
      /reference_images/,
    );
    expect(buildInput(req, DEFAULT_INPUTS)).toEqual({ prompt: "a kite" });
  });
});

describe("fal status and errors", () => {
  it("reads the queue's status words; unknown or missing ones are still running", () => {
    expect(readStatus({ status: "IN_QUEUE", queue_position: 3 })).toEqual({
      state: "queued",
      raw: "IN_QUEUE",
      known: true,
    });
    expect(readStatus({ status: "IN_PROGRESS" })).toMatchObject({ state: "running", known: true });
    expect(readStatus({ status: "COMPLETED" })).toMatchObject({ state: "completed", known: true });
    expect(readStatus({ status: "WARMING_UP" })).toEqual({
      state: "running",
      raw: "WARMING_UP",
      known: false,
    });
    expect(readStatus({})).toEqual({ state: "running", raw: null, known: false });
  });

  it("classifies model errors by detail[].type", () => {
    const flagged = classifyError(422, {
      detail: [
        {
          loc: ["body", "prompt"],
          msg: "The content was flagged by a content checker.",
          type: "content_policy_violation",
        },
      ],
    });
    expect(flagged).toEqual({
      code: "content_policy_violation",
      message: "prompt: The content was flagged by a content checker.",
      class: "content_policy",
      channelFault: false,
    });
    expect(
      classifyError(422, {
        detail: [{ loc: ["body", "duration"], msg: "Input should be '5' or '10'", type: "literal_error" }],
      }),
    ).toMatchObject({
      code: "literal_error",
      class: "invalid_request",
      channelFault: false,
    });
    expect(
      classifyError(500, { detail: [{ loc: ["body"], msg: "boom", type: "internal_server_error" }] }),
    ).toMatchObject({
      class: "upstream_internal",
      channelFault: true,
    });
    expect(
      classifyError(504, { detail: [{ loc: ["body"], msg: "slow", type: "generation_timeout" }] }),
    ).toMatchObject({ class: "timeout" });
  });

  it("classifies request errors by error_type, else by HTTP status", () => {
    expect(classifyError(504, { detail: "Request timed out", error_type: "request_timeout" })).toEqual({
      code: "request_timeout",
      message: "Request timed out",
      class: "timeout",
      channelFault: true,
    });
    expect(classifyError(503, { detail: "x", error_type: "runner_scheduling_failure" })).toMatchObject({
      class: "overloaded",
    });
    expect(classifyError(401, { detail: "No user found for Key ID and Secret" })).toMatchObject({
      class: "auth",
      channelFault: true,
    });
    expect(
      classifyError(403, {
        detail: "User is locked. Reason: Exhausted balance. Top up your balance at fal.ai/dashboard/billing.",
      }),
    ).toMatchObject({ class: "quota", channelFault: true });
    expect(classifyError(403, { detail: "Forbidden" })).toMatchObject({ class: "auth" });
    expect(classifyError(429, { detail: "slow down" })).toMatchObject({
      class: "overloaded",
      channelFault: true,
    });
    expect(classifyError(502, undefined, "<html>bad gateway</html>")).toMatchObject({
      class: "upstream_internal",
      message: "<html>bad gateway</html>",
    });
    expect(classifyError(404, { detail: "Application 'x' not found" })).toMatchObject({
      class: "invalid_request",
      channelFault: false,
    });
  });

  it("tells fal's envelope from other answers, and finds the video link", () => {
    expect(isFalEnvelope({ detail: "Request timed out" })).toBe(true);
    expect(isFalEnvelope({ detail: [{ type: "x" }] })).toBe(true);
    expect(isFalEnvelope({ error: "x" })).toBe(false);
    expect(isFalEnvelope(undefined)).toBe(false);
    expect(
      videoUrlOf({ video: { url: "https://v3.fal.media/files/x.mp4", content_type: "video/mp4" } }),
    ).toBe("https://v3.fal.media/files/x.mp4");
    expect(videoUrlOf({ images: [] })).toBeNull();
  });
});

describe("fal catalogue", () => {
  it("offers the built-in fal models with their upstream ids and input mappings", () => {
    for (const m of FAL_MODELS) {
      expect(DEFAULT_MODELS).toContain(m);
      expect(m.inputs?.fields.prompt).toBe("prompt");
      expect(m.upstream?.fal).toBeDefined();
      expect(m.price).toBeDefined();
    }
    expect(kling?.upstream?.fal).toEqual({
      textToVideo: "fal-ai/kling-video/v2.1/master/text-to-video",
      imageToVideo: "fal-ai/kling-video/v2.1/master/image-to-video",
    });
  });

  it("takes a config-file entry naming one upstream kind and fal inputs", () => {
    const parsed = modelEntrySchema.safeParse({
      name: "my-fal-model",
      family: "x",
      sizes: ["small"],
      durations: [5],
      maxImages: 1,
      upstream: { fal: "fal-ai/some/video" },
      inputs: {
        fields: { prompt: "prompt", firstFrame: "image_url" },
        fixed: { enable_safety_checker: true },
      },
    });
    expect(parsed.success, JSON.stringify(parsed.error?.issues)).toBe(true);
  });
});
