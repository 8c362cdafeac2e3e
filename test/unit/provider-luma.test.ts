/**
 * Luma's request table, state words and failure wording (src/adapters/providers/luma/), and the
 * adapter's submit, poll, result and cancel over a recorded stand-in for the channel's HTTP client.
 */
import { describe, expect, it } from "vitest";
import {
  classifyReason,
  createBody,
  errorDetail,
  LumaUnsupported,
  lumaResolution,
  readGeneration,
} from "../../src/adapters/providers/luma/mapping.js";
import { createLumaProvider } from "../../src/adapters/providers/luma/provider.js";
import type { CallResult, ChannelHttp } from "../../src/adapters/providers/upstream/http.js";
import { errors, isReelayError, type ReelayError } from "../../src/core/errors.js";
import type { VideoRequest } from "../../src/core/tasks/task.js";
import { textToVideo } from "../helpers/video-request.js";

const base = {
  model: "ray-2",
  prompt: "a kite",
  duration: 5,
  resolution: "1080p",
  aspectRatio: "16:9",
  firstFrame: null,
  lastFrame: null,
  references: 0,
};

describe("Luma request table", () => {
  it("maps Reelay's resolutions to Luma's words (2160p → 4k) and refuses others", () => {
    expect(lumaResolution("540p")).toBe("540p");
    expect(lumaResolution("720p")).toBe("720p");
    expect(lumaResolution("1080p")).toBe("1080p");
    expect(lumaResolution("2160p")).toBe("4k");
    expect(lumaResolution("480p")).toBeNull();
  });

  it("builds a text-to-video body with the model id, aspect ratio, resolution and duration as strings", () => {
    expect(createBody(base)).toEqual({
      model: "ray-2",
      prompt: "a kite",
      aspect_ratio: "16:9",
      resolution: "1080p",
      duration: "5s",
    });
    expect(createBody({ ...base, duration: 9, aspectRatio: "21:9", resolution: "720p" })).toMatchObject({
      duration: "9s",
      aspect_ratio: "21:9",
      resolution: "720p",
    });
  });

  it("sends first and last frames as keyframes frame0 and frame1 (image URLs)", () => {
    expect(
      createBody({ ...base, firstFrame: { url: "https://x/a.jpg" }, lastFrame: { url: "https://x/b.jpg" } })
        .keyframes,
    ).toEqual({
      frame0: { type: "image", url: "https://x/a.jpg" },
      frame1: { type: "image", url: "https://x/b.jpg" },
    });
    expect(createBody({ ...base, lastFrame: { url: "https://x/b.jpg" } }).keyframes).toEqual({
      frame1: { type: "image", url: "https://x/b.jpg" },
    });
  });

  it("refuses what Luma cannot take, naming the field", () => {
    const refused = (over: Partial<Parameters<typeof createBody>[0]>) => {
      try {
        createBody({ ...base, ...over });
      } catch (e) {
        expect(e).toBeInstanceOf(LumaUnsupported);
        return (e as Error).message;
      }
      throw new Error("not refused");
    };
    expect(refused({ duration: 6 })).toMatch(/^duration: .*5 or 9/);
    expect(refused({ aspectRatio: "2:1" })).toMatch(/^aspect_ratio/);
    expect(refused({ resolution: "480p" })).toMatch(/^resolution/);
    expect(refused({ references: 1 })).toMatch(/^reference_images/);
    expect(refused({ firstFrame: { upload: true } })).toMatch(/^first_frame: .*URL only/);
    expect(refused({ lastFrame: { upload: true } })).toMatch(/^last_frame: .*URL only/);
  });
});

describe("Luma states and failures", () => {
  it("reads Luma's four states; an unknown or missing state is still running, unknown", () => {
    expect(readGeneration({ state: "queued" })).toMatchObject({ state: "queued", known: true });
    expect(readGeneration({ state: "dreaming" })).toMatchObject({ state: "running", known: true });
    expect(readGeneration({ state: "completed", assets: { video: "https://cdn/v.mp4" } })).toMatchObject({
      state: "completed",
      videoUrl: "https://cdn/v.mp4",
      error: null,
    });
    expect(readGeneration({ state: "rendering" })).toMatchObject({
      state: "running",
      known: false,
      raw: "rendering",
    });
    expect(readGeneration({})).toMatchObject({ state: "running", known: false, raw: null });
  });

  it("classes failure_reason by Luma's documented wording", () => {
    for (const r of [
      "Contains blacklisted words",
      "Frame moderation failed",
      "Advanced prompt moderation failed",
    ])
      expect(classifyReason(r)).toBe("content_policy");
    expect(classifyReason("Failed to read user input frames")).toBe("invalid_request");
    expect(classifyReason("Prompt processing failed")).toBe("upstream_internal");
    expect(classifyReason("something new")).toBe("upstream_internal");
    expect(readGeneration({ state: "failed", failure_reason: "Frame moderation failed" }).error).toEqual({
      code: null,
      message: "Frame moderation failed",
      class: "content_policy",
    });
    expect(readGeneration({ state: "failed" }).error).toMatchObject({ class: "upstream_internal" });
  });

  it("reads Luma's error envelope: detail as a string or a list of {loc, msg}", () => {
    expect(errorDetail({ detail: "Invalid API key is provided" })).toBe("Invalid API key is provided");
    expect(errorDetail({ detail: [{ loc: ["body", "duration"], msg: "bad value" }] })).toBe(
      "duration: bad value",
    );
    expect(errorDetail({ error: "x" })).toBeNull();
  });
});

function fakeHttp(answers: { status: number; json: unknown }[]) {
  const calls: { method: string; path: string; json: unknown }[] = [];
  const downloads: string[] = [];
  const http: ChannelHttp = {
    channelId: "lm",
    async call(method, path, opts) {
      calls.push({ method, path, json: opts.json });
      const a = answers.shift() ?? { status: 200, json: {} };
      return {
        status: a.status,
        retryAfterS: null,
        json: a.json,
        text: JSON.stringify(a.json ?? ""),
      } satisfies CallResult;
    },
    refusal: (res, phase) =>
      errors.upstreamRejected(
        "lm",
        { status: res.status, code: null, message: "refused" },
        { retryable: phase !== "submit" || res.status >= 401 },
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
    model: "ray-2",
    family: "ray-2",
    prompt: "a red kite",
    orientation: "portrait",
    width: 720,
    height: 1280,
    duration: 9,
    ...over,
  });

const ctx = {
  taskId: "t1",
  upstreamModel: "ray-flash-2",
  imageFiles: [],
  workDir: "/tmp",
  signal: new AbortController().signal,
};

async function rejection(p: Promise<unknown>): Promise<ReelayError> {
  try {
    await p;
  } catch (e) {
    if (isReelayError(e)) return e;
    throw e;
  }
  throw new Error("did not reject");
}

describe("Luma adapter over HTTP", () => {
  it("posts the create to /dream-machine/v1/generations/video and keeps Luma's id", async () => {
    const { http, calls } = fakeHttp([{ status: 201, json: { id: "gen-1", state: "queued" } }]);
    const out = await createLumaProvider(http).submit(request(), ctx);
    expect(out.upstreamId).toBe("gen-1");
    expect(out.status.state).toBe("queued");
    expect(calls).toEqual([
      {
        method: "POST",
        path: "dream-machine/v1/generations/video",
        json: {
          model: "ray-flash-2",
          prompt: "a red kite",
          aspect_ratio: "9:16",
          resolution: "720p",
          duration: "9s",
        },
      },
    ]);
  });

  it("refuses an uploaded image before sending anything", async () => {
    const { http, calls } = fakeHttp([]);
    const e = await rejection(
      createLumaProvider(http).submit(request({ imageKeys: ["k"] }), { ...ctx, imageFiles: ["/tmp/x.png"] }),
    );
    expect(e.code).toBe("upstream_rejected");
    expect(e.retryable).toBe(false);
    expect(e.message).toContain("URL only");
    expect(calls).toEqual([]);
  });

  it("reads a create refused in moderation words as content policy, others through the channel's refusal", async () => {
    const mod = fakeHttp([{ status: 400, json: { detail: "Advanced prompt moderation failed" } }]);
    expect((await rejection(createLumaProvider(mod.http).submit(request(), ctx))).code).toBe(
      "content_policy",
    );
    const bad = fakeHttp([{ status: 400, json: { detail: "Prompt is required" } }]);
    const e = await rejection(createLumaProvider(bad.http).submit(request(), ctx));
    expect(e.code).toBe("upstream_rejected");
  });

  it("a 201 without an id is an unknown outcome, never sent elsewhere", async () => {
    const { http } = fakeHttp([{ status: 201, json: { state: "queued" } }]);
    const e = await rejection(createLumaProvider(http).submit(request(), ctx));
    expect(e.code).toBe("upstream_outcome_unknown");
    expect(e.retryable).toBe(false);
  });

  it("polls the generation, downloads assets.video, and cancels by DELETE", async () => {
    const { http, calls, downloads } = fakeHttp([
      { status: 200, json: { id: "g", state: "failed", failure_reason: "Contains blacklisted words" } },
      { status: 200, json: { id: "g", state: "completed", assets: { video: "https://cdn.example/v.mp4" } } },
      { status: 204, json: undefined },
    ]);
    const p = createLumaProvider(http);
    const { status } = await p.poll("g", new AbortController().signal);
    expect(status).toMatchObject({ state: "failed", error: { class: "content_policy" } });
    const r = await p.fetchResult("g", "/tmp", new AbortController().signal);
    expect(r.videoPath).toBe("/tmp/upstream.mp4");
    expect(downloads).toEqual(["https://cdn.example/v.mp4"]);
    await p.cancel("g", new AbortController().signal);
    expect(calls.map((c) => `${c.method} ${c.path}`)).toEqual([
      "GET dream-machine/v1/generations/g",
      "GET dream-machine/v1/generations/g",
      "DELETE dream-machine/v1/generations/g",
    ]);
  });
});
