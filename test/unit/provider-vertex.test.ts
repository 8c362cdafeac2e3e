/**
 * The vertex adapter's pure parts: Reelay's request → predictLongRunning's body, paths and gs://
 * URIs, fetchPredictOperation answers → Reelay's status, and the service-account assertion and
 * token cache (against a token endpoint on loopback).
 */
import { createPublicKey, verify } from "node:crypto";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { describe, expect, it } from "vitest";
import {
  gcsMediaPath,
  modelOfOperation,
  modelPath,
  predictBody,
  readOperation,
  videoOf,
} from "../../src/adapters/providers/vertex/mapping.js";
import {
  CLOUD_PLATFORM_SCOPE,
  createTokenSource,
  readServiceAccountKey,
  signAssertion,
} from "../../src/adapters/providers/vertex/token.js";
import { GEMINI_MODELS } from "../../src/core/catalogue/builtin/gemini.js";
import { ErrorCode, type ReelayError } from "../../src/core/errors.js";
import type { VideoRequest } from "../../src/core/tasks/task.js";
import { channelSchema, readChannels } from "../../src/main/channel_config.js";
import { checkVertexBody, testServiceAccountKey } from "../emulators/vertex.js";
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

const NONE = { firstFrame: null, lastFrame: null, references: [] };
const PNG = { bytesBase64Encoded: "iVBORw0KGgo=", mimeType: "image/png" };
const NAME =
  "projects/p-1/locations/us-central1/publishers/google/models/veo-3.1-generate-preview/operations/abc-123";

describe("vertex mapping: request → body", () => {
  it("maps aspect ratio, resolution, duration, one sample and sound on; the emulator accepts it", () => {
    const body = predictBody(request(), NONE);
    expect(body).toEqual({
      instances: [{ prompt: "a red kite" }],
      parameters: {
        aspectRatio: "16:9",
        resolution: "1080p",
        durationSeconds: 8,
        sampleCount: 1,
        generateAudio: true,
      },
    });
    expect(checkVertexBody(body)).toMatchObject({ ok: true, width: 1920, height: 1080, seconds: 8 });
  });

  it("sends negative prompt, seed, audio off and storageUri where given", () => {
    const body = predictBody(
      request({
        orientation: "portrait",
        size: "small",
        width: 720,
        height: 1280,
        duration: 4,
        negativePrompt: "rain",
        seed: 42,
        audio: false,
      }),
      NONE,
      "gs://b/out/",
    );
    expect(body.parameters).toEqual({
      aspectRatio: "9:16",
      resolution: "720p",
      durationSeconds: 4,
      sampleCount: 1,
      generateAudio: false,
      negativePrompt: "rain",
      seed: 42,
      storageUri: "gs://b/out/",
    });
    expect(checkVertexBody(body)).toMatchObject({ ok: true, width: 720, height: 1280, seconds: 4 });
  });

  it("puts first frame, last frame and asset references in their documented fields", () => {
    const body = predictBody(request(), { firstFrame: PNG, lastFrame: PNG, references: [] });
    expect(body.instances[0]).toEqual({ prompt: "a red kite", image: PNG, lastFrame: PNG });
    const refs = predictBody(request(), { firstFrame: null, lastFrame: null, references: [PNG, PNG] });
    expect(refs.instances[0].referenceImages).toEqual([
      { image: PNG, referenceType: "asset" },
      { image: PNG, referenceType: "asset" },
    ]);
  });

  it("builds the model paths and reads the model back from an operation name, refusing others", () => {
    expect(
      modelPath(
        { project: "p-1", location: "us-central1" },
        "veo-3.1-generate-preview",
        "predictLongRunning",
      ),
    ).toBe(
      "v1/projects/p-1/locations/us-central1/publishers/google/models/veo-3.1-generate-preview:predictLongRunning",
    );
    expect(modelOfOperation(NAME)).toBe("veo-3.1-generate-preview");
    expect(() => modelOfOperation("projects/p/../../x")).toThrow();
    expect(() => modelOfOperation("models/veo/operations/1")).toThrow();
  });

  it("turns gs:// URIs into Cloud Storage media paths (object names encoded)", () => {
    expect(gcsMediaPath("gs://reelay-out/veo/123/sample_0.mp4")).toBe(
      "storage/v1/b/reelay-out/o/veo%2F123%2Fsample_0.mp4?alt=media",
    );
    expect(() => gcsMediaPath("https://example.com/x.mp4")).toThrow();
    expect(() => gcsMediaPath("gs://bucket-only")).toThrow();
  });
});

describe("vertex mapping: operation → status", () => {
  it("is running until done, and unknown for an odd done", () => {
    expect(readOperation({ name: NAME })).toMatchObject({ state: "running", known: true });
    expect(readOperation({ name: NAME, done: false })).toMatchObject({ state: "running", known: true });
    expect(readOperation({ name: NAME, done: "PROCESSING" })).toMatchObject({
      state: "running",
      known: false,
    });
  });

  it("completes with an inline or gs:// video", () => {
    const inline = {
      done: true,
      response: { videos: [{ bytesBase64Encoded: "AAAA", mimeType: "video/mp4" }] },
    };
    expect(readOperation(inline)).toMatchObject({ state: "completed", progress: 100 });
    expect(videoOf(inline)).toEqual({ base64: "AAAA" });
    const gcs = { done: true, response: { videos: [{ gcsUri: "gs://b/o.mp4", mimeType: "video/mp4" }] } };
    expect(videoOf(gcs)).toEqual({ gcsUri: "gs://b/o.mp4" });
  });

  it("fails with content_policy when the RAI filters kept the video back", () => {
    const s = readOperation({
      done: true,
      response: { raiMediaFilteredCount: 1, raiMediaFilteredReasons: ["violates usage guidelines"] },
    });
    expect(s).toMatchObject({
      state: "failed",
      error: { code: "RAI_MEDIA_FILTERED", message: "violates usage guidelines", class: "content_policy" },
    });
  });

  it("fails with Google's code name and class for an operation error", () => {
    expect(readOperation({ done: true, error: { code: 8, message: "quota" } })).toMatchObject({
      state: "failed",
      error: { code: "RESOURCE_EXHAUSTED", class: "quota" },
    });
    expect(readOperation({ done: true, error: { code: 3, message: "bad duration" } })).toMatchObject({
      error: { code: "INVALID_ARGUMENT", class: "invalid_request" },
    });
    expect(readOperation({ done: true, response: {} })).toMatchObject({
      state: "failed",
      error: { class: "upstream_internal" },
    });
  });
});

describe("vertex token: service-account assertion and cache", () => {
  const keyJson = testServiceAccountKey("http://127.0.0.1:1/token");

  it("signs an RS256 assertion with the documented claims, verifiable with the public key", () => {
    const key = readServiceAccountKey(keyJson);
    const jwt = signAssertion(key, 1_700_000_000);
    const [h = "", c = "", s = ""] = jwt.split(".");
    expect(JSON.parse(Buffer.from(h, "base64url").toString())).toEqual({ alg: "RS256", typ: "JWT" });
    expect(JSON.parse(Buffer.from(c, "base64url").toString())).toEqual({
      iss: "reelay@reelay-test.iam.gserviceaccount.com",
      scope: CLOUD_PLATFORM_SCOPE,
      aud: "http://127.0.0.1:1/token",
      iat: 1_700_000_000,
      exp: 1_700_003_600,
    });
    const pub = createPublicKey(String((JSON.parse(keyJson) as { private_key: string }).private_key));
    expect(verify("RSA-SHA256", Buffer.from(`${h}.${c}`), pub, Buffer.from(s, "base64url"))).toBe(true);
    expect(readServiceAccountKey(keyJson, "http://other/token").tokenUrl).toBe("http://other/token");
  });

  it("fetches a token once, caches it until shortly before expiry, and treats invalid_grant as the channel's fault", async () => {
    let calls = 0;
    let refuse = false;
    const server = createServer((req, res) => {
      calls++;
      let body = "";
      req.on("data", (d: Buffer) => {
        body += d.toString();
      });
      req.on("end", () => {
        const form = new URLSearchParams(body);
        res.setHeader("content-type", "application/json");
        if (refuse || form.get("grant_type") !== "urn:ietf:params:oauth:grant-type:jwt-bearer") {
          res.statusCode = 400;
          res.end(JSON.stringify({ error: "invalid_grant", error_description: "Invalid JWT Signature." }));
          return;
        }
        res.end(JSON.stringify({ access_token: `tok-${calls}`, expires_in: 3600, token_type: "Bearer" }));
      });
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/token`;
    let now = 1_000_000;
    try {
      const tokens = createTokenSource("ch", readServiceAccountKey(keyJson, url), {
        timeoutMs: 2000,
        now: () => now,
      });
      expect(tokens.headers()).toEqual({});
      await tokens.ensure(AbortSignal.timeout(2000));
      await tokens.ensure(AbortSignal.timeout(2000));
      expect(calls).toBe(1);
      expect(tokens.headers()).toEqual({ authorization: "Bearer tok-1" });
      now += 3550 * 1000; // inside the renewal margin
      await tokens.ensure(AbortSignal.timeout(2000));
      expect(calls).toBe(2);
      expect(tokens.headers()).toEqual({ authorization: "Bearer tok-2" });
      refuse = true;
      now += 3600 * 1000;
      const e = (await tokens.ensure(AbortSignal.timeout(2000)).catch((x: unknown) => x)) as ReelayError;
      expect(e.code).toBe(ErrorCode.upstreamRejected);
      expect(e.retryable).toBe(true);
      expect(e.message).toContain("invalid_grant");
      expect(e.message).toContain("Invalid JWT Signature.");
    } finally {
      await new Promise((r) => server.close(r));
    }
  });
});

describe("vertex channel config", () => {
  const KEY = testServiceAccountKey();
  const read = (c: Record<string, unknown>, env: Record<string, string> = { SA: KEY }) =>
    readChannels(
      [
        channelSchema.parse({
          id: "v",
          kind: "vertex",
          baseUrl: "https://us-central1-aiplatform.googleapis.com",
          ...c,
        }),
      ],
      GEMINI_MODELS,
      env,
      "test",
    );

  it("reads project, location and the storage settings, with the documented defaults", () => {
    const [ch] = read({
      secretEnv: "SA",
      project: "my-project",
      location: "us-central1",
      storageUri: "gs://reelay-out/p/",
    });
    expect(ch?.vertex).toEqual({
      project: "my-project",
      location: "us-central1",
      storageUri: "gs://reelay-out/p/",
      storageBaseUrl: "https://storage.googleapis.com",
    });
  });

  it("refuses a vertex channel without project/location or without a service-account key JSON", () => {
    expect(() => read({ secretEnv: "SA", location: "us-central1" })).toThrow(/project and location/);
    expect(() =>
      read({ secretEnv: "SA", project: "my-project", location: "us-central1" }, { SA: "not-json" }),
    ).toThrow(/service-account key JSON/);
    expect(() =>
      read(
        { secretEnv: "SA", project: "my-project", location: "us-central1" },
        { SA: '{"client_email":"x"}' },
      ),
    ).toThrow(/client_email or private_key/);
  });

  it("refuses the vertex fields on other kinds", () => {
    expect(() =>
      readChannels(
        [
          channelSchema.parse({
            id: "g",
            kind: "gemini",
            baseUrl: "https://g.example",
            secretEnv: "SA",
            project: "my-project",
          }),
        ],
        GEMINI_MODELS,
        { SA: "k" },
        "test",
      ),
    ).toThrow(/kind 'vertex' only/);
  });
});
