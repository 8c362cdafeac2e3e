/**
 * Veo on Vertex AI (channel kind `vertex`) against its emulator: a service account's RS256
 * assertion exchanged for an OAuth token (renewed when it runs out), the seed's fields mapped to
 * predictLongRunning's, the operation followed with fetchPredictOperation to a real MP4 (inline
 * base64, or a gs:// object read from Cloud Storage), and Google's refusals sorted into the
 * channel's faults (fail over, cool down), the request's (fail, once) and moderation
 * (content_policy, never elsewhere).
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startVertex, testServiceAccountKey, type VertexEmulator, vertexFault } from "../emulators/vertex.js";
import { waitForTask } from "../helpers/app.js";
import type { ChannelApp } from "../helpers/channels.js";
import { secretEnv, startWithChannels } from "../helpers/channels.js";
import { ffprobe } from "../helpers/ffprobe.js";
import { type ImageServer, startImageServer } from "../helpers/image-server.js";
import { dataUrl, TINY_PNG } from "../helpers/images.js";
import { closedAfterEach } from "../helpers/provider-e2e.js";
import { pollUntil } from "../helpers/wait.js";

const KEY = testServiceAccountKey();

let images: ImageServer;
let scratch: string;
beforeAll(async () => {
  images = await startImageServer();
  scratch = await mkdtemp(join(tmpdir(), "reelay-vertex-"));
});
afterAll(async () => {
  await images.close();
  await rm(scratch, { recursive: true, force: true });
});

const running = closedAfterEach();

/** A vertex channel as the README shows it; the token URL and storage point at the emulator. */
const vertexChannel = (id: string, e: VertexEmulator, extra: Record<string, unknown> = {}) => ({
  id,
  kind: "vertex",
  baseUrl: e.url,
  secretEnv: `SECRET_${id.toUpperCase()}`,
  models: ["veo-3.1", "veo-3.1-fast"],
  project: "reelay-test",
  location: "us-central1",
  tokenUrl: `${e.url}/token`,
  ...extra,
});

async function emulator(opts: { tokenTtlS?: number } = {}): Promise<VertexEmulator> {
  const e = await startVertex({ secret: KEY, ...opts });
  e.core.defaultBehaviour = { runMs: 600, outcome: "complete" };
  running.push(e);
  return e;
}

async function app(channels: object[], env: Record<string, string> = {}): Promise<ChannelApp> {
  const s = await startWithChannels(
    { channels },
    {
      env: { ...secretEnv("a", KEY), ...secretEnv("b", KEY), REELAY_IMAGE_ALLOW_HOSTS: images.host, ...env },
    },
  );
  running.push(s);
  return s;
}

const BODY = {
  model: "veo-3.1",
  prompt: "a lighthouse at dusk",
  orientation: "landscape",
  size: "large",
  duration: 8,
};

async function create(s: ChannelApp, key: string, body: object = BODY): Promise<string> {
  const res = await s.request("/v1/video/create", { key, body });
  const json = (await res.json()) as { id: string };
  expect(res.status, JSON.stringify(json)).toBe(200);
  return json.id;
}

const routes = (e: VertexEmulator) => e.core.requests.map((r) => r.route);

async function probe(url: string, name: string) {
  const file = join(scratch, name);
  await writeFile(file, Buffer.from(await (await fetch(url)).arrayBuffer()));
  return ffprobe(file);
}

describe("vertex channel: Veo on Vertex AI", () => {
  it("makes a 1080p landscape 8 s video from the seed's fields, with a signed service-account token", async () => {
    const a = await emulator();
    const s = await app([vertexChannel("a", a)]);
    const key = await s.newKey();
    const done = await waitForTask(s, key, await create(s, key));
    expect(done.status, JSON.stringify(done)).toBe("completed");
    const info = await probe(String(done.video_url), "a.mp4");
    expect(info.streams.find((x) => x.codecType === "video")).toMatchObject({ width: 1920, height: 1080 });
    expect(info.durationS).toBeGreaterThan(7.5);
    expect(info.durationS).toBeLessThan(8.5);
    expect(a.creates).toHaveLength(1);
    expect(a.creates[0]).toMatchObject({
      project: "reelay-test",
      location: "us-central1",
      model: "veo-3.1-generate-preview",
      body: {
        instances: [{ prompt: "a lighthouse at dusk" }],
        parameters: {
          aspectRatio: "16:9",
          resolution: "1080p",
          durationSeconds: 8,
          sampleCount: 1,
          generateAudio: true,
        },
      },
    });
    // The token was fetched with a verified RS256 assertion, then sent as Bearer on every call.
    expect(routes(a)[0]).toBe("token");
    expect(a.assertions[0]).toMatchObject({
      iss: "reelay@reelay-test.iam.gserviceaccount.com",
      scope: "https://www.googleapis.com/auth/cloud-platform",
      aud: `${a.url}/token`,
    });
    const api = a.core.requests.filter((r) => r.route !== "token");
    expect(api.map((r) => r.route)).toEqual(expect.arrayContaining(["create", "query"]));
    expect(api.every((r) => /^Bearer ya29\./.test(r.auth ?? ""))).toBe(true);
  });

  it("serves the OpenAI Videos API too: size and seconds become aspect ratio, resolution and duration", async () => {
    const a = await emulator();
    const s = await app([vertexChannel("a", a)]);
    const key = await s.newKey();
    const res = await s.request("/v1/videos", {
      key,
      body: { model: "veo-3.1-fast", prompt: "a kite", size: "720x1280", seconds: "4" },
    });
    expect(res.status).toBe(200);
    const { id } = (await res.json()) as { id: string };
    expect((await waitForTask(s, key, id)).status).toBe("completed");
    const content = await s.request(`/v1/videos/${encodeURIComponent(id)}/content`, { key });
    expect(content.status).toBe(200);
    const file = join(scratch, "b.mp4");
    await writeFile(file, Buffer.from(await content.arrayBuffer()));
    const info = await ffprobe(file);
    expect(info.streams.find((x) => x.codecType === "video")).toMatchObject({ width: 720, height: 1280 });
    expect(Math.round(info.durationS)).toBe(4);
    expect(a.creates[0]).toMatchObject({
      model: "veo-3.1-fast-generate-preview",
      body: { parameters: { aspectRatio: "9:16", resolution: "720p", durationSeconds: 4 } },
    });
  });

  it("refuses a duration Veo does not make with a 400 naming duration, before anything reaches Google", async () => {
    const a = await emulator();
    const s = await app([vertexChannel("a", a)]);
    const key = await s.newKey();
    const res = await s.request("/v1/video/create", { key, body: { ...BODY, duration: 5 } });
    expect(res.status).toBe(400);
    const body = (await res.json()) as { error: { message: string; param: string | null } };
    expect(body.error.param).toBe("duration");
    expect(body.error.message).toContain("4, 6, 8");
    expect(a.core.requests).toHaveLength(0);
  });

  it("sends a first frame (a link, fetched by Reelay) and a last frame (an upload) as base64 image and lastFrame", async () => {
    const a = await emulator();
    const s = await app([vertexChannel("a", a)]);
    const key = await s.newKey();
    const id = await create(s, key, {
      ...BODY,
      size: "small",
      images: [`${images.url}/a.png`],
      last_frame: dataUrl(TINY_PNG),
    });
    expect((await waitForTask(s, key, id)).status).toBe("completed");
    const served = Buffer.from(await (await fetch(`${images.url}/a.png`)).arrayBuffer());
    const instance = ((a.creates[0]?.body.instances ?? []) as Record<string, unknown>[])[0];
    expect(instance).toMatchObject({
      image: { mimeType: "image/png", bytesBase64Encoded: served.toString("base64") },
      lastFrame: { mimeType: "image/png", bytesBase64Encoded: TINY_PNG.toString("base64") },
    });
    expect(instance).not.toHaveProperty("referenceImages");
  });

  it("writes results to the channel's storageUri and reads the gs:// object from Cloud Storage with the token", async () => {
    const a = await emulator();
    const s = await app([
      vertexChannel("a", a, { storageUri: "gs://reelay-out/veo/", storageBaseUrl: a.url }),
    ]);
    const key = await s.newKey();
    const done = await waitForTask(s, key, await create(s, key, { ...BODY, size: "small", duration: 4 }));
    expect(done.status, JSON.stringify(done)).toBe("completed");
    expect(a.creates[0]?.body.parameters).toMatchObject({ storageUri: "gs://reelay-out/veo/" });
    const content = a.core.requests.filter((r) => r.route === "content");
    expect(content).toHaveLength(1);
    expect(content[0]?.path).toMatch(
      /^\/storage\/v1\/b\/reelay-out\/o\/veo%2F[^/]+%2Fsample_0\.mp4\?alt=media$/,
    );
    expect(content[0]?.auth).toMatch(/^Bearer ya29\./);
    const info = await probe(String(done.video_url), "gcs.mp4");
    expect(info.streams.find((x) => x.codecType === "video")).toMatchObject({ width: 1280, height: 720 });
  });

  it("renews the access token when it runs out (short-lived tokens), and the task still completes", async () => {
    const a = await emulator({ tokenTtlS: 1 });
    a.core.defaultBehaviour = { runMs: 2500, outcome: "complete" };
    const s = await app([vertexChannel("a", a)]);
    const key = await s.newKey();
    expect((await waitForTask(s, key, await create(s, key))).status).toBe("completed");
    expect(a.assertions.length).toBeGreaterThanOrEqual(2);
    // No call was refused for an expired token.
    expect(a.core.requests.filter((r) => r.route === "token").length).toBe(a.assertions.length);
  });
});

describe("vertex channel: Google's refusals", () => {
  async function pair(opts: { coolOnFirst?: boolean; keyA?: string } = {}) {
    const a = await emulator();
    const b = await emulator();
    const s = await app(
      [
        vertexChannel("a", a, {
          priority: 10,
          ...(opts.coolOnFirst === false ? {} : { cooldown: { failures: 1, seconds: 60 } }),
        }),
        vertexChannel("b", b, { priority: 5 }),
      ],
      { ...secretEnv("a", opts.keyA ?? KEY) },
    );
    return { a, b, s, key: await s.newKey() };
  }

  const channelState = async (s: ChannelApp, id: string) =>
    (
      (await (await s.request("/admin/channels", { key: s.adminToken })).json()) as {
        data: { id: string; state: string; failures: number }[];
      }
    ).data.find((c) => c.id === id);

  it("fails over when the service account is refused (invalid_grant), and cools the channel down", async () => {
    const { a, b, s, key } = await pair({ keyA: testServiceAccountKey() });
    const done = await waitForTask(s, key, await create(s, key));
    expect(done.status).toBe("completed");
    expect(routes(a)).toEqual(["token"]);
    expect(b.creates).toHaveLength(1);
    expect(await channelState(s, "a")).toMatchObject({ state: "cooling_down", failures: 1 });
  });

  for (const kind of ["quota", "overloaded", "denied"] as const) {
    it(`fails over on ${kind} at submit and cools the channel down`, async () => {
      const { a, b, s, key } = await pair();
      a.core.fault("create", vertexFault(kind));
      expect((await waitForTask(s, key, await create(s, key))).status).toBe("completed");
      expect(routes(a)).toEqual(["token", "create"]);
      expect(b.creates).toHaveLength(1);
      expect(await channelState(s, "a")).toMatchObject({ state: "cooling_down" });
    });
  }

  it("fails the task with Google's reason on an invalid argument, without failing over", async () => {
    const { a, b, s, key } = await pair();
    a.core.fault("create", vertexFault("invalid"));
    const done = await waitForTask(s, key, await create(s, key));
    expect(done.status).toBe("failed");
    expect(done.error).toMatchObject({ code: "upstream_rejected" });
    const message = String((done.error as { message: string }).message);
    expect(message).toContain("INVALID_ARGUMENT");
    expect(message).toContain("Request contains an invalid argument.");
    expect(routes(b)).toEqual([]);
    expect(await channelState(s, "a")).toMatchObject({ state: "healthy" });
  });

  it("fails with content_policy when the prompt is refused at submit, tried once and nowhere else", async () => {
    const { a, b, s, key } = await pair();
    a.core.fault("create", vertexFault("moderation"));
    const done = await waitForTask(s, key, await create(s, key));
    expect(done.status).toBe("failed");
    expect(done.error).toMatchObject({ code: "content_policy" });
    expect(routes(a).filter((r) => r === "create")).toHaveLength(1);
    expect(routes(b)).toEqual([]);
  });

  it("fails with content_policy when the RAI filters keep the video back, not retried", async () => {
    const { a, b, s, key } = await pair();
    a.core.nextTask({ outcome: "fail", runMs: 300, failCode: "RAI_MEDIA_FILTERED" });
    const done = await waitForTask(s, key, await create(s, key));
    expect(done.status).toBe("failed");
    expect(done.error).toMatchObject({ code: "content_policy" });
    expect(String((done.error as { message: string }).message)).toContain("usage guidelines");
    expect(routes(a).filter((r) => r === "create")).toHaveLength(1);
    expect(routes(b)).toEqual([]);
  });

  it("keeps a task running while the operation says something it does not know, then completes it", async () => {
    const { a, s, key } = await pair({ coolOnFirst: false });
    a.core.nextTask({ runMs: 6000, runningStatuses: ["PROCESSING"] });
    const id = await create(s, key);
    await pollUntil(
      async () => ({ q: await s.query(key, id), polls: [...a.core.tasks.values()][0]?.polls ?? 0 }),
      (x) => x.polls >= 1 && x.q.status === "processing",
      { what: "an odd operation polled and the task still processing", timeoutMs: 20_000, intervalMs: 100 },
    );
    expect((await waitForTask(s, key, id)).status).toBe("completed");
  });

  it("fails with a clear reason when the gs:// result is gone (deleted by a lifecycle rule)", async () => {
    const a = await emulator();
    a.setObjectTtl(0);
    const s = await app([
      vertexChannel("a", a, { storageUri: "gs://reelay-out/veo/", storageBaseUrl: a.url }),
    ]);
    const key = await s.newKey();
    const done = await waitForTask(s, key, await create(s, key, { ...BODY, size: "small", duration: 4 }));
    expect(done.status).toBe("failed");
    const message = String((done.error as { message: string }).message);
    expect(message).toContain("gone or unreadable in Cloud Storage");
    expect(message).toContain("404");
    expect(routes(a).filter((r) => r === "content")).toHaveLength(1);
  });

  it("cancels locally: Vertex documents no cancel for Veo operations, so nothing is sent upstream", async () => {
    const { a, s, key } = await pair({ coolOnFirst: false });
    a.core.nextTask({ outcome: "never" });
    const id = await create(s, key);
    await pollUntil(
      () => s.query(key, id),
      (q) => q.status === "processing" || q.status === "pending",
      { what: "task queued or running", timeoutMs: 10_000, intervalMs: 50 },
    );
    const res = await s.request(`/v1/video/cancel?id=${encodeURIComponent(id)}`, { key, method: "POST" });
    expect(res.status).toBe(200);
    expect((await s.query(key, id)).status).toBe("cancelled");
    expect(routes(a)).not.toContain("other");
  });
});
