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
import { createFalProvider, falAuthHeaders } from "../../src/adapters/providers/fal/provider.js";
import type { CallResult, ChannelHttp } from "../../src/adapters/providers/upstream/http.js";
import { FAL_MODELS } from "../../src/core/catalogue/builtin/fal.js";
import { DEFAULT_MODELS, modelTable } from "../../src/core/catalogue/models.js";
import { errors, isReelayError } from "../../src/core/errors.js";
import type { VideoRequest } from "../../src/core/tasks/task.js";
import { modelEntrySchema } from "../../src/main/model_config.js";
import { textToVideo } from "../helpers/video-request.js";

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
    expect(classifyError(402, { detail: "Payment required" })).toMatchObject({
      class: "quota",
      channelFault: true,
    });
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

/** A ChannelHttp that records calls and answers `[status, json]` from a script (first matching path prefix). */
function fakeHttp(answers: Record<string, [number, unknown]>) {
  const calls: { method: string; path: string; json: unknown }[] = [];
  const http: ChannelHttp = {
    channelId: "fal",
    async call(method, path, opts) {
      calls.push({ method, path, json: opts.json });
      const key = Object.keys(answers)
        .sort((a, b) => b.length - a.length)
        .find((k) => path.startsWith(k));
      const [status, json] = key ? (answers[key] ?? [404, undefined]) : [404, undefined];
      return { status, retryAfterS: null, json, text: JSON.stringify(json ?? "") } satisfies CallResult;
    },
    // As the real client: a submit's 504 is an unknown outcome.
    refusal: (res, phase) =>
      phase === "submit" && res.status === 504
        ? errors.upstreamOutcomeUnknown("fal", "HTTP 504", false)
        : errors.upstreamRejected(
            "fal",
            { status: res.status, code: null, message: "refused" },
            { retryable: true },
          ),
    download: async () => ({ bytes: 0 }),
    close: async () => undefined,
  };
  return { http, calls };
}

const request: VideoRequest = textToVideo({
  model: "fal-wan-2.5",
  family: "wan-2.5",
  prompt: "a red kite",
  duration: 10,
});
const ctx = {
  taskId: "task_1",
  upstreamModel: "fal-ai/wan-25-preview/text-to-video",
  imageFiles: [],
  workDir: "/tmp",
  signal: new AbortController().signal,
};
const ID = "fal-ai/wan-25-preview:req-1";
const RESULT = "fal-ai/wan-25-preview/requests/req-1";
const provider = (answers: Record<string, [number, unknown]>) => {
  const f = fakeHttp(answers);
  return { ...f, p: createFalProvider(f.http, modelTable(FAL_MODELS)) };
};

describe("fal adapter over a stand-in client", () => {
  it("submits the model's input to its endpoint and keeps app and request ids", async () => {
    const { p, calls } = provider({ "fal-ai/wan-25-preview/text-to-video": [200, { request_id: "req-1" }] });
    const { upstreamId } = await p.submit(request, ctx);
    expect(upstreamId).toBe(ID);
    expect(calls).toEqual([
      {
        method: "POST",
        path: "fal-ai/wan-25-preview/text-to-video",
        json: { prompt: "a red kite", duration: "10", aspect_ratio: "16:9", resolution: "720p" },
      },
    ]);
  });

  it("refuses at submit: content policy as such, a locked account retryable, invalid input not", async () => {
    const flagged = provider({
      "fal-ai/": [
        422,
        { detail: [{ loc: ["body", "prompt"], msg: "flagged", type: "content_policy_violation" }] },
      ],
    });
    await expect(flagged.p.submit(request, ctx)).rejects.toMatchObject({ code: "content_policy" });
    const locked = provider({ "fal-ai/": [403, { detail: "User is locked. Reason: Exhausted balance." }] });
    const e1 = await locked.p.submit(request, ctx).catch((e: unknown) => e);
    expect(isReelayError(e1) && e1.code === "upstream_rejected" && e1.retryable).toBe(true);
    const gateway = provider({ "fal-ai/": [504, { detail: "Gateway Timeout" }] });
    await expect(gateway.p.submit(request, ctx)).rejects.toMatchObject({ code: "upstream_outcome_unknown" });
    const invalid = provider({
      "fal-ai/": [422, { detail: [{ loc: ["body", "seed"], msg: "bad", type: "int_type" }] }],
    });
    const e2 = await invalid.p.submit(request, ctx).catch((e: unknown) => e);
    expect(isReelayError(e2) && e2.code === "upstream_rejected" && !e2.retryable).toBe(true);
  });

  it("reads a COMPLETED request's result: a video is completed, a stored error is the task's failure", async () => {
    const done = provider({
      [`${RESULT}/status`]: [200, { status: "COMPLETED" }],
      [RESULT]: [200, { video: { url: "https://v3.fal.media/files/x.mp4" } }],
    });
    expect((await done.p.poll(ID, ctx.signal)).status).toMatchObject({ state: "completed", progress: 100 });
    const flagged = provider({
      [`${RESULT}/status`]: [200, { status: "COMPLETED" }],
      [RESULT]: [
        422,
        { detail: [{ loc: ["body", "prompt"], msg: "flagged", type: "content_policy_violation" }] },
      ],
    });
    expect((await flagged.p.poll(ID, ctx.signal)).status).toMatchObject({
      state: "failed",
      error: { code: "content_policy_violation", class: "content_policy" },
    });
    const timedOut = provider({
      [`${RESULT}/status`]: [200, { status: "COMPLETED" }],
      [RESULT]: [504, { detail: "Request timed out", error_type: "request_timeout" }],
    });
    expect((await timedOut.p.poll(ID, ctx.signal)).status).toMatchObject({
      state: "failed",
      error: { class: "timeout" },
    });
  });

  it("throws (a passing failure) when the status or result answer is not fal's", async () => {
    const down = provider({ [`${RESULT}/status`]: [502, undefined] });
    await expect(down.p.poll(ID, ctx.signal)).rejects.toMatchObject({
      code: "upstream_rejected",
      retryable: true,
    });
    const proxy = provider({
      [`${RESULT}/status`]: [200, { status: "COMPLETED" }],
      [RESULT]: [502, undefined],
    });
    await expect(proxy.p.poll(ID, ctx.signal)).rejects.toMatchObject({ retryable: true });
  });

  it("cancels with PUT; a request already done or gone is no error", async () => {
    const ok = provider({ [`${RESULT}/cancel`]: [202, { status: "CANCELLATION_REQUESTED" }] });
    await ok.p.cancel(ID, ctx.signal);
    expect(ok.calls).toEqual([{ method: "PUT", path: `${RESULT}/cancel`, json: undefined }]);
    await provider({ [`${RESULT}/cancel`]: [400, { status: "ALREADY_COMPLETED" }] }).p.cancel(ID, ctx.signal);
    await provider({ [`${RESULT}/cancel`]: [404, { status: "NOT_FOUND" }] }).p.cancel(ID, ctx.signal);
    await expect(
      provider({ [`${RESULT}/cancel`]: [401, { detail: "no" }] }).p.cancel(ID, ctx.signal),
    ).rejects.toMatchObject({
      code: "upstream_rejected",
    });
  });
});
