/**
 * MiniMax's request table, status words and error codes (src/adapters/providers/minimax/), and the
 * adapter's submit and poll over a recorded stand-in for the channel's HTTP client.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  classifyCode,
  createBody,
  MiniMaxUnsupported,
  minimaxResolution,
  readQuery,
} from "../../src/adapters/providers/minimax/mapping.js";
import { createMiniMaxProvider } from "../../src/adapters/providers/minimax/provider.js";
import type { CallResult, ChannelHttp } from "../../src/adapters/providers/upstream/http.js";
import { errors, isReelayError, type ReelayError } from "../../src/core/errors.js";
import type { VideoRequest } from "../../src/core/tasks/task.js";
import { TINY_PNG } from "../helpers/images.js";
import { textToVideo } from "../helpers/video-request.js";

const base = {
  model: "MiniMax-Hailuo-02",
  prompt: "a kite",
  duration: 6,
  resolution: "1080p",
  aspectRatio: "16:9",
  watermark: false,
  firstFrame: null,
  lastFrame: null,
  references: 0,
};

describe("MiniMax request table", () => {
  it("maps Reelay's resolutions to MiniMax's tiers (720p class → 768P)", () => {
    expect(minimaxResolution("1080p")).toBe("1080P");
    expect(minimaxResolution("720p")).toBe("768P");
    expect(minimaxResolution("768p")).toBe("768P");
    expect(minimaxResolution("480p")).toBe("512P");
    expect(minimaxResolution("512p")).toBe("512P");
  });

  it("builds a text-to-video body with the model id, duration, resolution and the watermark off", () => {
    expect(createBody(base)).toEqual({
      model: "MiniMax-Hailuo-02",
      prompt: "a kite",
      duration: 6,
      resolution: "1080P",
      aigc_watermark: false,
    });
    expect(createBody({ ...base, watermark: true }).aigc_watermark).toBe(true);
  });

  it("sends links as they are and uploads as data URLs, in the first and last frame fields", () => {
    const body = createBody({
      ...base,
      firstFrame: { url: "https://img.example/a.jpg" },
      lastFrame: { dataUrl: "data:image/png;base64,AAAA" },
    });
    expect(body.first_frame_image).toBe("https://img.example/a.jpg");
    expect(body.last_frame_image).toBe("data:image/png;base64,AAAA");
  });

  it("refuses what MiniMax documents it cannot make, naming the field", () => {
    const refused = (over: Partial<Parameters<typeof createBody>[0]>) => {
      try {
        createBody({ ...base, ...over });
      } catch (e) {
        expect(e).toBeInstanceOf(MiniMaxUnsupported);
        return (e as Error).message;
      }
      throw new Error("not refused");
    };
    expect(refused({ duration: 10 })).toMatch(/^duration: .*1080P.*6 s/);
    expect(refused({ aspectRatio: "9:16" })).toMatch(/^aspect_ratio: .*16:9/);
    expect(refused({ lastFrame: { url: "https://x/b.png" } })).toMatch(/^last_frame: /);
    expect(refused({ references: 1 })).toMatch(/^reference_images: /);
    expect(refused({ resolution: "480p" })).toMatch(/^resolution: .*512P/);
    // With a first frame the video takes the image's aspect ratio; 512P is then allowed.
    expect(
      createBody({ ...base, aspectRatio: "9:16", firstFrame: { url: "https://x/a.png" } }).resolution,
    ).toBe("1080P");
    expect(
      createBody({ ...base, resolution: "480p", firstFrame: { url: "https://x/a.png" } }).resolution,
    ).toBe("512P");
  });
});

describe("MiniMax codes and status words", () => {
  it("classifies base_resp codes: the channel's faults, the request's, moderation", () => {
    for (const code of [1002, 1004, 1008, 2049, 1000, 1024, 1033])
      expect(classifyCode(code).channelFault, String(code)).toBe(true);
    expect(classifyCode(1002).class).toBe("overloaded");
    expect(classifyCode(1004).class).toBe("auth");
    expect(classifyCode(2049).class).toBe("auth");
    expect(classifyCode(1008).class).toBe("quota");
    expect(classifyCode(1026)).toEqual({ class: "content_policy", channelFault: false });
    expect(classifyCode(1027)).toEqual({ class: "content_policy", channelFault: false });
    expect(classifyCode(2013)).toEqual({ class: "invalid_request", channelFault: false });
    expect(classifyCode(987654)).toEqual({ class: "invalid_request", channelFault: false });
  });

  it("reads MiniMax's status words, unknown ones as still running", () => {
    const ok = { status_code: 0, status_msg: "success" };
    expect(readQuery({ status: "Preparing", base_resp: ok })).toMatchObject({ state: "queued", known: true });
    expect(readQuery({ status: "Queueing", base_resp: ok })).toMatchObject({ state: "queued", known: true });
    expect(readQuery({ status: "Processing", base_resp: ok })).toMatchObject({
      state: "running",
      known: true,
    });
    expect(readQuery({ status: "Success", file_id: "123", base_resp: ok })).toMatchObject({
      state: "completed",
      fileId: "123",
    });
    expect(readQuery({ status: "Rendering", base_resp: ok })).toMatchObject({
      state: "running",
      known: false,
      raw: "Rendering",
    });
    expect(readQuery({ base_resp: ok })).toMatchObject({ state: "running", known: false, raw: null });
  });

  it("reads a failure with MiniMax's code and class: moderation as content_policy", () => {
    expect(
      readQuery({ status: "Fail", base_resp: { status_code: 1027, status_msg: "output new_sensitive" } }),
    ).toMatchObject({
      state: "failed",
      error: { code: "1027", message: "output new_sensitive", class: "content_policy" },
    });
    expect(readQuery({ status: "Fail", base_resp: { status_code: 0, status_msg: "success" } })).toMatchObject(
      {
        state: "failed",
        error: { code: null, class: "upstream_internal" },
      },
    );
    expect(readQuery({ base_resp: { status_code: 2013, status_msg: "invalid params" } })).toMatchObject({
      state: "failed",
      error: { code: "2013", class: "invalid_request" },
    });
  });
});

/** A ChannelHttp that records calls and answers from a script. */
function fakeHttp(answers: Record<string, unknown>) {
  const calls: { method: string; path: string; json: unknown }[] = [];
  const http: ChannelHttp = {
    channelId: "mm",
    async call(method, path, opts) {
      calls.push({ method, path, json: opts.json });
      const key = Object.keys(answers).find((k) => path.startsWith(k));
      const json = key ? answers[key] : undefined;
      return { status: 200, retryAfterS: null, json, text: JSON.stringify(json ?? "") } satisfies CallResult;
    },
    refusal: (res) =>
      errors.upstreamRejected(
        "mm",
        { status: res.status, code: null, message: "refused" },
        { retryable: true },
      ),
    download: async () => ({ bytes: 0 }),
    close: async () => undefined,
  };
  return { http, calls };
}

const request = (over: Partial<VideoRequest> = {}): VideoRequest =>
  textToVideo({ model: "hailuo-02", family: "hailuo-02", prompt: "a red kite", duration: 10, ...over });

describe("MiniMax adapter over HTTP", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "reelay-minimax-unit-"));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });
  const ctx = (imageFiles: string[] = []) => ({
    taskId: "task_1",
    upstreamModel: "MiniMax-Hailuo-02",
    imageFiles,
    workDir: dir,
    signal: new AbortController().signal,
  });
  const thrown = async (p: Promise<unknown>): Promise<ReelayError> => {
    try {
      await p;
    } catch (e) {
      if (isReelayError(e)) return e;
      throw e;
    }
    throw new Error("did not throw");
  };

  it("posts the mapped body; seed, negative prompt and audio have no MiniMax field and are not sent", async () => {
    const { http, calls } = fakeHttp({
      "v1/video_generation": { task_id: "t1", base_resp: { status_code: 0 } },
    });
    const p = createMiniMaxProvider(http);
    const out = await p.submit(
      request({ seed: 7, negativePrompt: "blur", audio: true, resolution: "720p", aspectRatio: "16:9" }),
      ctx(),
    );
    expect(out.upstreamId).toBe("t1");
    expect(out.status.state).toBe("queued");
    expect(calls[0]).toEqual({
      method: "POST",
      path: "v1/video_generation",
      json: {
        model: "MiniMax-Hailuo-02",
        prompt: "a red kite",
        duration: 10,
        resolution: "768P",
        aigc_watermark: false,
      },
    });
  });

  it("sends an uploaded first frame as a data URL and a linked last frame as its URL", async () => {
    const file = join(dir, "up.png");
    await writeFile(file, TINY_PNG);
    const { http, calls } = fakeHttp({
      "v1/video_generation": { task_id: "t2", base_resp: { status_code: 0 } },
    });
    await createMiniMaxProvider(http).submit(
      request({
        images: ["https://img.example/end.jpg"],
        imageKeys: ["k"],
        imageRoles: ["last_frame", "first_frame"],
      }),
      ctx([file]),
    );
    const body = calls[0]?.json as Record<string, unknown>;
    expect(body.first_frame_image).toBe(`data:image/png;base64,${TINY_PNG.toString("base64")}`);
    expect(body.last_frame_image).toBe("https://img.example/end.jpg");
  });

  it("turns a 200 carrying an error into the right refusal", async () => {
    const refusal = async (code: number) => {
      const { http } = fakeHttp({
        "v1/video_generation": { task_id: "", base_resp: { status_code: code, status_msg: `said ${code}` } },
      });
      return thrown(createMiniMaxProvider(http).submit(request(), ctx()));
    };
    for (const code of [1002, 1004, 1008, 2049]) {
      const e = await refusal(code);
      expect(e.code, String(code)).toBe("upstream_rejected");
      expect(e.retryable, String(code)).toBe(true);
    }
    const invalid = await refusal(2013);
    expect(invalid).toMatchObject({ code: "upstream_rejected", retryable: false });
    expect(invalid.message).toContain("said 2013");
    expect(await refusal(1026)).toMatchObject({ code: "content_policy", retryable: false });
  });

  it("refuses before sending what MiniMax cannot make", async () => {
    const { http, calls } = fakeHttp({});
    const e = await thrown(createMiniMaxProvider(http).submit(request({ orientation: "portrait" }), ctx()));
    expect(e).toMatchObject({ code: "upstream_rejected", retryable: false });
    expect(e.message).toContain("aspect_ratio");
    expect(calls).toEqual([]);
  });

  it("polls: a channel-side code is a passing failure, moderation ends the task as content_policy", async () => {
    const poll = (json: unknown) =>
      createMiniMaxProvider(fakeHttp({ "v1/query": json }).http).poll("t1", new AbortController().signal);
    const e = await thrown(poll({ task_id: "", base_resp: { status_code: 1002, status_msg: "rate limit" } }));
    expect(e).toMatchObject({ code: "upstream_rejected", retryable: true });
    // A code no table lists, on a task not reported as `Fail`: a passing poll failure too.
    const odd = await thrown(
      poll({ task_id: "t1", status: "Processing", base_resp: { status_code: 1041, status_msg: "?" } }),
    );
    expect(odd).toMatchObject({ code: "upstream_rejected", retryable: true });
    const failed = await poll({
      task_id: "t1",
      status: "Fail",
      base_resp: { status_code: 1027, status_msg: "output new_sensitive" },
    });
    expect(failed.status).toMatchObject({
      state: "failed",
      error: { code: "1027", class: "content_policy" },
    });
    const running = await poll({
      task_id: "t1",
      status: "Processing",
      base_resp: { status_code: 0, status_msg: "success" },
    });
    expect(running.status).toMatchObject({ state: "running", known: true, progress: null });
  });
});
