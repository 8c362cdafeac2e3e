/** The additions' validator (core/tasks/additions.ts), without HTTP. */
import { describe, expect, it } from "vitest";
import type { ModelCapability } from "../../src/core/catalogue/models.js";
import { modelTable } from "../../src/core/catalogue/models.js";
import { ReelayError } from "../../src/core/errors.js";
import {
  framePixels,
  imageRoles,
  openAiFrame,
  orList,
  otherAdditions,
  unifiedFrame,
} from "../../src/core/tasks/additions.js";
import { parseUnifiedCreate } from "../../src/core/tasks/params.js";

const base = {
  family: "t",
  sizes: ["small", "large"],
  durations: [4, 6, 8],
  maxImages: 4,
  videoSizes: ["1280x720"],
  videoSeconds: [4, 8],
} as const;
const full: ModelCapability = {
  ...base,
  name: "full",
  accepts: {
    aspectRatios: ["16:9", "9:16", "1:1"],
    resolutions: ["480p", "720p", "1080p"],
    firstFrame: true,
    lastFrame: true,
    referenceImages: 2,
    referenceVideo: false,
    audio: "optional",
    seed: true,
    negativePrompt: true,
  },
};
const always: ModelCapability = {
  ...base,
  name: "always",
  accepts: {
    ...(full.accepts as NonNullable<ModelCapability["accepts"]>),
    firstFrame: false,
    lastFrame: false,
    referenceImages: 0,
    audio: "always",
    seed: false,
    negativePrompt: false,
  },
};
const plain: ModelCapability = { ...base, name: "plain" };

/** The field a refusal names, and its message. */
function refusal(f: () => unknown): { param: string | null; message: string } {
  try {
    f();
  } catch (e) {
    if (e instanceof ReelayError) return { param: e.param ?? null, message: e.message };
    throw e;
  }
  throw new Error("not refused");
}

describe("frame", () => {
  it("aspect ratio × resolution, the short side being the resolution, even pixels", () => {
    expect(framePixels("1:1", "720p")).toEqual({ width: 720, height: 720 });
    expect(framePixels("16:9", "1080p")).toEqual({ width: 1920, height: 1080 });
    expect(framePixels("9:16", "720p")).toEqual({ width: 720, height: 1280 });
    expect(framePixels("16:9", "480p")).toEqual({ width: 854, height: 480 });
  });
  it("lists read as people write them", () => {
    expect(orList([4, 6, 8])).toBe("4, 6 or 8");
    expect(orList(["720p"])).toBe("720p");
  });
  it("seed fields alone keep the seed's sizes", () => {
    expect(unifiedFrame(full, { orientation: "portrait", size: "large" }, {})).toEqual({
      orientation: "portrait",
      width: 1080,
      height: 1920,
    });
  });
  it("conflicts name both fields; a square fits either orientation", () => {
    const c = refusal(() =>
      unifiedFrame(full, { orientation: "landscape", size: "small" }, { aspect_ratio: "9:16" }),
    );
    expect(c.param).toBe("aspect_ratio");
    expect(c.message).toMatch(/orientation.*aspect_ratio/);
    expect(
      unifiedFrame(full, { orientation: "landscape", size: "small" }, { aspect_ratio: "1:1" }),
    ).toMatchObject({
      width: 720,
      height: 720,
    });
    const s = refusal(() =>
      unifiedFrame(full, { orientation: "landscape", size: "large" }, { resolution: "720p" }),
    );
    expect(s.param).toBe("resolution");
    expect(s.message).toMatch(/size.*resolution/);
  });
  it("values outside the model's lists name the field and the allowed values", () => {
    const r = refusal(() =>
      unifiedFrame(always, { orientation: "landscape", size: undefined }, { resolution: "2160p" }),
    );
    expect(r).toEqual({
      param: "resolution",
      message: "Model 'always' does not support resolution '2160p'; allowed: 480p, 720p or 1080p",
    });
  });
  it("OpenAI: WxH must agree with the additions; alone they pick the size", () => {
    expect(openAiFrame(full, undefined, { aspect_ratio: "9:16" })).toMatchObject({ size: "720x1280" });
    const c = refusal(() =>
      openAiFrame(full, { width: 1280, height: 720, text: "1280x720" }, { resolution: "480p" }),
    );
    expect(c.param).toBe("resolution");
    expect(refusal(() => openAiFrame(plain, undefined, { resolution: "720p" })).param).toBe("resolution");
  });
});

describe("other additions", () => {
  it("seed, negative prompt and audio only where the model takes them", () => {
    expect(otherAdditions(full, { seed: 0, negative_prompt: " x ", audio: false })).toEqual({
      seed: 0,
      negativePrompt: "x",
      audio: false,
    });
    expect(refusal(() => otherAdditions(always, { seed: 1 })).param).toBe("seed");
    expect(refusal(() => otherAdditions(always, { negative_prompt: "x" })).param).toBe("negative_prompt");
    expect(refusal(() => otherAdditions(always, { audio: false })).message).toContain("always");
    expect(otherAdditions(always, { audio: true })).toEqual({ audio: true });
    expect(refusal(() => otherAdditions(plain, { audio: true })).param).toBe("audio");
  });
});

describe("image roles", () => {
  it("first image is the first frame, the rest references; last_frame and references follow", () => {
    const roles = imageRoles(full, {
      primary: ["a", "b"],
      primaryField: "images",
      lastFrame: "c",
      references: ["d"],
    });
    expect(roles?.map((r) => [r.image, r.role, r.param])).toEqual([
      ["a", "first_frame", "images[0]"],
      ["b", "reference", "images[1]"],
      ["c", "last_frame", "last_frame"],
      ["d", "reference", "reference_images[0]"],
    ]);
  });
  it("a model without accepts reads images as before (no roles) and takes no additions", () => {
    expect(
      imageRoles(plain, { primary: ["a"], primaryField: "images", lastFrame: undefined, references: [] }),
    ).toBeNull();
    expect(
      refusal(() =>
        imageRoles(plain, { primary: [], primaryField: "images", lastFrame: "x", references: [] }),
      ).param,
    ).toBe("last_frame");
  });
  it("counts: references above the model's, images above maxImages", () => {
    expect(
      refusal(() =>
        imageRoles(full, {
          primary: ["a"],
          primaryField: "images",
          lastFrame: undefined,
          references: ["1", "2", "3"],
        }),
      ).message,
    ).toContain("at most 2 reference images");
    expect(
      refusal(() =>
        imageRoles(full, {
          primary: ["a", "b"],
          primaryField: "images",
          lastFrame: "c",
          references: ["d", "e"],
        }),
      ).message,
    ).toContain("at most 4 images in all");
  });
});

describe("parseUnifiedCreate with additions", () => {
  const models = modelTable([full, plain]);
  it("maps every addition into the VideoRequest", () => {
    const r = parseUnifiedCreate(
      {
        model: "full",
        prompt: "p",
        duration: 4,
        aspect_ratio: "1:1",
        resolution: "720p",
        seed: 9,
        audio: true,
      },
      models,
    );
    expect(r).toMatchObject({
      orientation: "landscape",
      width: 720,
      height: 720,
      aspectRatio: "1:1",
      seed: 9,
      audio: true,
    });
  });
  it("a duration the model lacks lists the allowed values", () => {
    expect(
      refusal(() =>
        parseUnifiedCreate(
          { model: "full", prompt: "p", duration: 15, orientation: "portrait", size: "small" },
          models,
        ),
      ).message,
    ).toContain("4, 6 or 8");
  });
});
