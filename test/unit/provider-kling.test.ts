/**
 * Kling's tables and signing, without a server: request → create body, status words, service
 * codes → error classes, the HS256 JWT (checked here with node:crypto, not with the emulator's
 * checker), the channel fields for the access key + secret key, and the adapter's submit against a
 * recording fake of the channel's HTTP client (raw base64 for uploads, the lookup by
 * external_task_id first).
 */
import { createHmac } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { klingJwtHeaders, signKlingJwt } from "../../src/adapters/providers/kling/jwt.js";
import {
  buildCreateBody,
  classOfCode,
  decodeUpstreamId,
  encodeUpstreamId,
  klingError,
  readKlingTask,
} from "../../src/adapters/providers/kling/mapping.js";
import { createKlingProvider } from "../../src/adapters/providers/kling/provider.js";
import type { CallResult, ChannelHttp } from "../../src/adapters/providers/upstream/http.js";
import { KLING_MODELS } from "../../src/core/catalogue/builtin/kling.js";
import { isReelayError } from "../../src/core/errors.js";
import type { VideoRequest } from "../../src/core/tasks/task.js";
import { channelSchema, readChannels } from "../../src/main/channel_config.js";
import { TINY_PNG } from "../helpers/images.js";
import { textToVideo } from "../helpers/video-request.js";

const request = (over: Partial<VideoRequest> = {}): VideoRequest =>
  textToVideo({
    model: "kling-v2.1-master",
    family: "kling-v2.1",
    prompt: "a kite over the sea",
    size: "large",
    width: 1920,
    height: 1080,
    ...over,
  });

const opts = { model: "kling-v2-1-master", taskId: "task_01", firstFrame: null, lastFrame: null };

describe("Kling create body", () => {
  it("maps a text-to-video request: model, prompt, mode by resolution, duration as a string, aspect ratio, external_task_id", () => {
    expect(buildCreateBody(request(), opts)).toEqual({
      endpoint: "text2video",
      body: {
        model_name: "kling-v2-1-master",
        prompt: "a kite over the sea",
        mode: "pro",
        duration: "5",
        aspect_ratio: "16:9",
        external_task_id: "task_01",
      },
    });
  });

  it("takes the asked aspect ratio, resolution and negative prompt; never sends a seed or sound", () => {
    const { body } = buildCreateBody(
      request({
        aspectRatio: "1:1",
        resolution: "720p",
        negativePrompt: "blur",
        seed: 7,
        audio: true,
        duration: 10,
      }),
      opts,
    );
    expect(body).toMatchObject({ aspect_ratio: "1:1", mode: "std", negative_prompt: "blur", duration: "10" });
    expect(body).not.toHaveProperty("seed");
    expect(body).not.toHaveProperty("sound");
    expect(body).not.toHaveProperty("cfg_scale");
  });

  it("portrait requests ask for 9:16", () => {
    const { body } = buildCreateBody(request({ orientation: "portrait", width: 1080, height: 1920 }), opts);
    expect(body.aspect_ratio).toBe("9:16");
  });

  it("sends first and last frames as image and image_tail on image2video, without aspect_ratio", () => {
    const { endpoint, body } = buildCreateBody(request(), {
      ...opts,
      firstFrame: "https://img.example/first.png",
      lastFrame: "iVBORw0KGgo",
    });
    expect(endpoint).toBe("image2video");
    expect(body).toMatchObject({ image: "https://img.example/first.png", image_tail: "iVBORw0KGgo" });
    expect(body).not.toHaveProperty("aspect_ratio");
  });

  it("encodes the endpoint in the upstream id and reads it back", () => {
    expect(encodeUpstreamId("image2video", "8668")).toBe("image2video:8668");
    expect(decodeUpstreamId("image2video:8668")).toEqual({ endpoint: "image2video", taskId: "8668" });
    expect(decodeUpstreamId("text2video:1")).toEqual({ endpoint: "text2video", taskId: "1" });
    expect(decodeUpstreamId("8668")).toEqual({ endpoint: "text2video", taskId: "8668" });
  });
});

describe("Kling task status", () => {
  const answer = (data: Record<string, unknown>) => ({ code: 0, message: "SUCCEED", request_id: "r", data });

  it("normalises Kling's four words", () => {
    expect(readKlingTask(answer({ task_id: "1", task_status: "submitted" }))).toMatchObject({
      state: "queued",
      known: true,
      taskId: "1",
    });
    expect(readKlingTask(answer({ task_status: "processing" }))).toMatchObject({
      state: "running",
      known: true,
    });
    const done = readKlingTask(
      answer({
        task_status: "succeed",
        task_result: { videos: [{ id: "v", url: "https://cdn.example/v.mp4", duration: "5.1" }] },
      }),
    );
    expect(done).toMatchObject({
      state: "completed",
      progress: 100,
      videoUrl: "https://cdn.example/v.mp4",
      usage: { seconds: 5.1 },
      error: null,
    });
  });

  it("keeps an unknown word (or none) running and unknown", () => {
    expect(readKlingTask(answer({ task_status: "rendering_now" }))).toMatchObject({
      state: "running",
      known: false,
      raw: "rendering_now",
    });
    expect(readKlingTask(answer({}))).toMatchObject({ state: "running", known: false, raw: null });
  });

  it("keeps polling a success without a link yet", () => {
    expect(readKlingTask(answer({ task_status: "succeed", task_result: { videos: [] } })).state).toBe(
      "running",
    );
  });

  it("classes a risk-control failure as content_policy and others as the provider's", () => {
    const mod = readKlingTask(
      answer({ task_status: "failed", task_status_msg: "Failure to pass the risk control system" }),
    );
    expect(mod.error).toEqual({
      code: null,
      message: "Failure to pass the risk control system",
      class: "content_policy",
    });
    const other = readKlingTask(answer({ task_status: "failed", task_status_msg: "internal error" }));
    expect(other.error?.class).toBe("upstream_internal");
  });
});

describe("Kling service codes", () => {
  it("classes every documented code", () => {
    const table: [number, string][] = [
      [1000, "auth"],
      [1004, "auth"],
      [1100, "quota"],
      [1102, "quota"],
      [1103, "auth"],
      [1200, "invalid_request"],
      [1201, "invalid_request"],
      [1203, "invalid_request"],
      [1300, "invalid_request"],
      [1301, "content_policy"],
      [1302, "overloaded"],
      [1303, "overloaded"],
      [1304, "auth"],
      [5000, "upstream_internal"],
      [5001, "upstream_internal"],
      [5002, "timeout"],
    ];
    for (const [code, cls] of table) expect(classOfCode(code), String(code)).toBe(cls);
    expect(classOfCode(42)).toBeNull();
  });

  it("reads Kling's envelope", () => {
    expect(klingError({ code: 1301, message: "risk", request_id: "r1" })).toEqual({
      code: 1301,
      message: "risk",
      requestId: "r1",
    });
    expect(klingError(undefined)).toEqual({ code: null, message: "no reason given", requestId: null });
  });
});

describe("Kling JWT", () => {
  const keys = { accessKey: "ak-123", secretKey: "sk-secret-456" };
  const decode = (part: string) => JSON.parse(Buffer.from(part, "base64url").toString("utf8")) as unknown;

  it("signs HS256 with the secret key; iss is the access key, exp now + 1800, nbf now - 5", () => {
    const token = signKlingJwt(keys, 1_700_000_000);
    const [h, p, s] = token.split(".") as [string, string, string];
    expect(decode(h)).toEqual({ alg: "HS256", typ: "JWT" });
    expect(decode(p)).toEqual({ iss: "ak-123", exp: 1_700_001_800, nbf: 1_699_999_995 });
    const want = createHmac("sha256", "sk-secret-456").update(`${h}.${p}`).digest("base64url");
    expect(s).toBe(want);
  });

  it("reuses the token until it is close to expiry, then signs a new one", () => {
    let now = 1_700_000_000_000;
    const headers = klingJwtHeaders(keys, () => now);
    const first = headers().authorization;
    expect(first).toMatch(/^Bearer [\w-]+\.[\w-]+\.[\w-]+$/);
    now += 60_000;
    expect(headers().authorization).toBe(first);
    now += 1500 * 1000; // 26 min after signing: within 5 min of expiry
    const renewed = headers().authorization;
    expect(renewed).not.toBe(first);
    const p = (renewed ?? "").split(".")[1] ?? "";
    expect((decode(p) as { exp: number }).exp).toBe(Math.floor(now / 1000) + 1800);
  });
});

describe("Kling channel config", () => {
  const read = (c: Record<string, unknown>, env: Record<string, string>) =>
    readChannels([channelSchema.parse(c)], KLING_MODELS, env, "test");
  const base = { id: "k", kind: "kling", baseUrl: "http://127.0.0.1:1", models: ["kling-v2.1-master"] };

  it("reads the access key and secret key from their variables", () => {
    const [c] = read({ ...base, accessKeyEnv: "AK", secretKeyEnv: "SK" }, { AK: "ak", SK: "sk" });
    expect(c?.signingKeys).toEqual({ accessKey: "ak", secretKey: "sk" });
    expect(c?.secret).toBeNull();
  });

  it("takes an API key alone", () => {
    const [c] = read({ ...base, secretEnv: "KEY" }, { KEY: "api-key" });
    expect(c?.secret).toBe("api-key");
    expect(c?.signingKeys).toBeUndefined();
  });

  it("refuses half a pair, unset variables, no credential, and the pair on other kinds", () => {
    expect(() => read({ ...base, accessKeyEnv: "AK" }, { AK: "ak" })).toThrow(/both or neither/);
    expect(() => read({ ...base, accessKeyEnv: "AK", secretKeyEnv: "SK" }, { AK: "ak" })).toThrow(
      /SK, which is not set/,
    );
    expect(() => read(base, {})).toThrow(/needs secretEnv/);
    expect(() =>
      read(
        { id: "u", kind: "unified", baseUrl: "http://127.0.0.1:1", accessKeyEnv: "AK", secretKeyEnv: "SK" },
        { AK: "a", SK: "s" },
      ),
    ).toThrow(/kind 'kling' only/);
  });
});

/** A ChannelHttp that answers from a script and records each call. */
function fakeHttp(answers: CallResult[]) {
  const calls: { method: string; path: string; json: unknown }[] = [];
  const http: ChannelHttp = {
    channelId: "k",
    async call(method, path, o) {
      calls.push({ method, path, json: o.json });
      const next = answers.shift();
      if (!next) throw new Error("no scripted answer");
      return next;
    },
    refusal: (res) => new Error(`refused ${res.status}`) as never,
    download: async () => ({ bytes: 0 }),
    close: async () => undefined,
  };
  return { http, calls };
}
const json = (status: number, body: unknown): CallResult => ({
  status,
  retryAfterS: null,
  json: body,
  text: JSON.stringify(body),
});

describe("Kling adapter submit", () => {
  it("takes the task an earlier create made when Kling refuses this one as a duplicate", async () => {
    const { http, calls } = fakeHttp([
      json(404, { code: 1203, message: "none", request_id: "r" }),
      json(400, { code: 1201, message: "external_task_id must be unique", request_id: "r" }),
      json(200, {
        code: 0,
        message: "SUCCEED",
        request_id: "r",
        data: { task_id: "91", task_status: "submitted" },
      }),
    ]);
    const out = await createKlingProvider(http).submit(request(), {
      taskId: "task_03",
      upstreamModel: "kling-v2-1-master",
      imageFiles: [],
      workDir: "/nonexistent",
      signal: new AbortController().signal,
    });
    expect(out.upstreamId).toBe("text2video:91");
    expect(calls.map((c) => c.method)).toEqual(["GET", "POST", "GET"]);
  });

  it("looks the task id up first, then creates with an uploaded first frame as raw base64", async () => {
    const dir = await mkdtemp(join(tmpdir(), "kling-unit-"));
    try {
      const file = join(dir, "up.png");
      await writeFile(file, TINY_PNG);
      const { http, calls } = fakeHttp([
        json(404, { code: 1203, message: "task does not exist", request_id: "r" }),
        json(200, {
          code: 0,
          message: "SUCCEED",
          request_id: "r",
          data: { task_id: "86", task_status: "submitted" },
        }),
      ]);
      const p = createKlingProvider(http);
      const out = await p.submit(request({ imageKeys: ["k1"] }), {
        taskId: "task_01",
        upstreamModel: "kling-v2-1-master",
        imageFiles: [file],
        workDir: dir,
        signal: new AbortController().signal,
      });
      expect(out.upstreamId).toBe("image2video:86");
      expect(out.status.state).toBe("queued");
      expect(calls.map((c) => `${c.method} ${c.path}`)).toEqual([
        "GET v1/videos/image2video/task_01",
        "POST v1/videos/image2video",
      ]);
      expect(calls[1]?.json).toMatchObject({
        image: TINY_PNG.toString("base64"),
        external_task_id: "task_01",
      });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("recognises a task an earlier create made (by external_task_id) and does not create again", async () => {
    const { http, calls } = fakeHttp([
      json(200, {
        code: 0,
        message: "SUCCEED",
        request_id: "r",
        data: { task_id: "77", task_status: "processing" },
      }),
    ]);
    const out = await createKlingProvider(http).submit(request(), {
      taskId: "task_02",
      upstreamModel: "kling-v2-1-master",
      imageFiles: [],
      workDir: "/nonexistent",
      signal: new AbortController().signal,
    });
    expect(out.upstreamId).toBe("text2video:77");
    expect(calls).toHaveLength(1);
  });

  it("classes refusals: content security → content_policy; quota → retryable; bad parameter → final", async () => {
    const refuse = async (status: number, code: number) => {
      const { http } = fakeHttp([
        json(404, { code: 1203, message: "none", request_id: "r" }),
        json(status, { code, message: `refused ${code}`, request_id: "r" }),
        // The second look for an earlier create after a parameter refusal: none either.
        json(404, { code: 1203, message: "none", request_id: "r" }),
      ]);
      return createKlingProvider(http)
        .submit(request(), {
          taskId: "t",
          upstreamModel: "kling-v2-1-master",
          imageFiles: [],
          workDir: "/nonexistent",
          signal: new AbortController().signal,
        })
        .then(
          () => null,
          (e: unknown) => e,
        );
    };
    const policy = await refuse(400, 1301);
    expect(isReelayError(policy) && policy.code).toBe("content_policy");
    const quota = await refuse(429, 1102);
    expect(isReelayError(quota) && [quota.code, quota.retryable]).toEqual(["upstream_rejected", true]);
    const bad = await refuse(400, 1201);
    expect(isReelayError(bad) && [bad.code, bad.retryable]).toEqual(["upstream_rejected", false]);
    // A 200 that carries an error code is a refusal too.
    const in200 = await refuse(200, 1303);
    expect(isReelayError(in200) && [in200.code, in200.retryable]).toEqual(["upstream_rejected", true]);
  });
});
