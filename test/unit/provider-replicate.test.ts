/** Replicate's pure mapping: create targets, per-model input names, status words, error classes. */
import { describe, expect, it } from "vitest";
import {
  buildInput,
  classifyFailure,
  classifyRefusal,
  createCall,
  createTarget,
  DEFAULT_INPUTS,
  type InputValues,
  outputUrl,
  ReplicateUnsupported,
  readPrediction,
  resolutionFor,
} from "../../src/adapters/providers/replicate/mapping.js";
import { REPLICATE_MODELS } from "../../src/core/catalogue/builtin/replicate.js";

const VERSION = "c43b610efe40d08a28d2c07cb3515dab1cd3324dfc7418f3304a092571071d22";

const values = (over: Partial<InputValues> = {}): InputValues => ({
  prompt: "a kite",
  duration: 6,
  aspectRatio: "16:9",
  resolution: "1080p",
  firstFrame: null,
  lastFrame: null,
  references: [],
  ...over,
});

const inputsOf = (name: string) => {
  const m = REPLICATE_MODELS.find((x) => x.name === name);
  if (!m?.inputs) throw new Error(`no inputs for ${name}`);
  return m.inputs;
};

describe("replicate: where a create goes", () => {
  it("sends an official model (owner/name) to its model's predictions route, with the input only", () => {
    const t = createTarget("minimax/hailuo-02");
    expect(t).toEqual({ kind: "model", owner: "minimax", name: "hailuo-02" });
    expect(createCall(t as NonNullable<typeof t>, { prompt: "x" })).toEqual({
      path: "v1/models/minimax/hailuo-02/predictions",
      body: { input: { prompt: "x" } },
    });
  });

  it("sends a version (owner/name:<id> or the bare id) to /v1/predictions with the version id", () => {
    for (const id of [`minimax/hailuo-02:${VERSION}`, VERSION]) {
      const t = createTarget(id);
      expect(t).toEqual({ kind: "version", version: VERSION });
      expect(createCall(t as NonNullable<typeof t>, {})).toEqual({
        path: "v1/predictions",
        body: { version: VERSION, input: {} },
      });
    }
  });

  it("knows no target for other names", () => {
    for (const id of ["hailuo-02", "a/b/c", "minimax/hailuo-02:latest", "", "../x/y"])
      expect(createTarget(id)).toBeNull();
  });
});

describe("replicate: the model's own input names", () => {
  it("maps hailuo-02's inputs: prompt, duration, resolution; no aspect ratio field, so none sent", () => {
    expect(buildInput(inputsOf("replicate-hailuo-02"), values())).toEqual({
      prompt: "a kite",
      duration: 6,
      resolution: "1080p",
    });
  });

  it("puts first and last frames under the model's fields (hailuo-02: first_frame_image, last_frame_image)", () => {
    expect(
      buildInput(
        inputsOf("replicate-hailuo-02"),
        values({ firstFrame: "https://img.example/a.png", lastFrame: "data:image/png;base64,AAAA" }),
      ),
    ).toMatchObject({
      first_frame_image: "https://img.example/a.png",
      last_frame_image: "data:image/png;base64,AAAA",
    });
  });

  it("sends kling-v2.1's fixed mode, start/end images and negative prompt; no resolution field", () => {
    const input = buildInput(
      inputsOf("replicate-kling-v2.1"),
      values({ duration: 5, firstFrame: "https://img.example/s.png", negativePrompt: "blur" }),
    );
    expect(input).toEqual({
      mode: "pro",
      prompt: "a kite",
      duration: 5,
      start_image: "https://img.example/s.png",
      negative_prompt: "blur",
    });
  });

  it("never lets a request value override a fixed input", () => {
    expect(
      buildInput({ fields: { prompt: "prompt", resolution: "mode" }, fixed: { mode: "pro" } }, values()),
    ).toEqual({ mode: "pro", prompt: "a kite" });
  });

  it("sends optional values only when asked, in their JSON types", () => {
    const all = {
      fields: { prompt: "prompt", seed: "seed", audio: "generate_audio", negativePrompt: "negative_prompt" },
    } as const;
    expect(buildInput(all, values())).toEqual({ prompt: "a kite" });
    expect(buildInput(all, values({ seed: 7, audio: false, negativePrompt: "x" }))).toEqual({
      prompt: "a kite",
      seed: 7,
      generate_audio: false,
      negative_prompt: "x",
    });
  });

  it("refuses images the model has no field for, naming the field, rather than dropping them", () => {
    expect(() => buildInput(DEFAULT_INPUTS, values({ firstFrame: "https://x/a.png" }))).toThrow(
      ReplicateUnsupported,
    );
    expect(() =>
      buildInput(inputsOf("replicate-hailuo-02"), values({ references: ["https://x/r.png"] })),
    ).toThrow(/reference_images/);
  });

  it("sends the asked resolution, else the size's own tier where the model names it, else Reelay's class", () => {
    const offered = ["512p", "768p", "1080p"];
    expect(resolutionFor("512p", { width: 1920, height: 1080 }, offered, "1080p")).toBe("512p");
    expect(resolutionFor(undefined, { width: 1366, height: 768 }, offered, "720p")).toBe("768p");
    expect(resolutionFor(undefined, { width: 1080, height: 1920 }, offered, "1080p")).toBe("1080p");
    expect(resolutionFor(undefined, { width: 1366, height: 768 }, undefined, "720p")).toBe("720p");
  });

  it("sends only the prompt for a model without an input map", () => {
    expect(buildInput(DEFAULT_INPUTS, values())).toEqual({ prompt: "a kite" });
  });
});

describe("replicate: predictions", () => {
  it("reads the status words; an unknown or missing one is still running, unknown", () => {
    expect(readPrediction({ status: "starting" })).toMatchObject({ state: "queued", known: true });
    expect(readPrediction({ status: "processing" })).toMatchObject({ state: "running", known: true });
    expect(readPrediction({ status: "warming_up" })).toMatchObject({
      state: "running",
      known: false,
      raw: "warming_up",
    });
    expect(readPrediction({})).toMatchObject({ state: "running", known: false, raw: null });
  });

  it("reads a success's output link and predict_time as usage seconds", () => {
    const p = readPrediction({
      status: "succeeded",
      output: "https://replicate.delivery/xezq/abc/output.mp4",
      metrics: { predict_time: 81.5 },
      data_removed: false,
    });
    expect(p).toMatchObject({
      state: "completed",
      outputUrl: "https://replicate.delivery/xezq/abc/output.mp4",
      dataRemoved: false,
      usage: { seconds: 81.5 },
      error: null,
    });
  });

  it("takes the first URL of a list output, and none from other shapes", () => {
    expect(outputUrl(["https://a/1.mp4", "https://a/2.mp4"])).toBe("https://a/1.mp4");
    expect(outputUrl([null, "https://a/2.mp4"])).toBe("https://a/2.mp4");
    expect(outputUrl({ video: "https://a/1.mp4" })).toBeNull();
    expect(outputUrl("data:video/mp4;base64,AAAA")).toBeNull();
    expect(outputUrl(null)).toBeNull();
  });

  it("classes a failure's error text: moderation, invalid input, or the model's own failure", () => {
    const nsfw = readPrediction({
      status: "failed",
      error: "NSFW content detected. Try running it again, or try a different prompt.",
    });
    expect(nsfw).toMatchObject({
      state: "failed",
      error: { class: "content_policy", code: "content_policy" },
    });
    expect(
      classifyFailure(
        "The input or output was flagged as sensitive. Please try again with different inputs. (E005)",
      ),
    ).toBe("content_policy");
    expect(classifyFailure("Input validation error: image could not be downloaded")).toBe("invalid_request");
    expect(classifyFailure("CUDA out of memory")).toBe("upstream_internal");
    expect(readPrediction({ status: "failed" }).error?.message).toContain("without an error message");
  });

  it("reads canceled as failed with the code canceled", () => {
    expect(readPrediction({ status: "canceled" })).toMatchObject({
      state: "failed",
      error: { code: "canceled" },
    });
  });
});

describe("replicate: refusals", () => {
  it("classes Replicate's documented statuses", () => {
    expect(classifyRefusal(401, "You did not pass a valid authentication token")).toBe("auth");
    expect(classifyRefusal(402, "You have insufficient credit to run this model.")).toBe("quota");
    expect(classifyRefusal(429, "Request was throttled.")).toBe("overloaded");
    expect(classifyRefusal(503, "Service unavailable")).toBe("upstream_internal");
    expect(classifyRefusal(422, "- input.duration: duration must be one of the following: 6, 10")).toBe(
      "invalid_request",
    );
    expect(classifyRefusal(404, "The requested resource could not be found.")).toBe("invalid_request");
    expect(classifyRefusal(422, "Your prompt was flagged as sensitive (E005)")).toBe("content_policy");
  });
});
