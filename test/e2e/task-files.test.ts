/**
 * What a task leaves on disk: its uploads are kept only while a retry can use them (gone once it
 * fails or is cancelled for good, while another task's video used as a remix source stays), and
 * deleting a task removes its folder, not only the files in it.
 */
import { existsSync } from "node:fs";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { resolveMediaTools } from "../../src/adapters/providers/local-renderer/media-tools.js";
import { errors } from "../../src/core/errors.js";
import { taskPrefixFor } from "../../src/core/media/blob_keys.js";
import type { VideoProvider } from "../../src/core/media/ports.js";
import { startTestApp, type TestApp, waitForTask } from "../helpers/app.js";
import { FakeProvider } from "../helpers/fake-provider.js";
import { makePng } from "../helpers/image-server.js";
import { waitUntil } from "../helpers/wait.js";

/** Renders at once; a prompt with "please fail" fails for good, one with "please hang" runs until cancelled. */
const ok = new FakeProvider();
const hang = new FakeProvider([], "hang");
const provider: VideoProvider = {
  name: "fake",
  generate(request, ctx) {
    if (request.prompt.includes("please fail"))
      return Promise.reject(errors.renderFailed("the render broke", { retryable: false }));
    return (request.prompt.includes("please hang") ? hang : ok).generate(request, ctx);
  },
};

let app: TestApp;
let key = "";
let dir = "";
let png = "";
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "reelay-task-files-"));
  const tools = await resolveMediaTools({
    ffmpegPath: process.env.FFMPEG_PATH,
    ffprobePath: process.env.FFPROBE_PATH,
  });
  png = (await makePng(tools.ffmpegPath, join(dir, "a.png"), "testsrc=size=320x240")).toString("base64");
  app = await startTestApp({ overrides: { provider } });
  key = await app.newKey();
});
afterAll(async () => {
  await app?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const uploads = async () => readdir(join(app.config.dataDir, "blobs", "uploads")).catch(() => []);

async function create(prompt: string, images: string[] = []): Promise<string> {
  const res = await app.request("/v1/video/create", {
    key,
    body: { model: "sora-2", prompt, orientation: "portrait", size: "small", duration: 10, images },
  });
  expect(res.status).toBe(200);
  return ((await res.json()) as { id: string }).id;
}

it("a task that fails for good drops its uploads", async () => {
  const before = await uploads();
  const id = await create("please fail with a picture", [`data:image/png;base64,${png}`]);
  expect(await uploads()).toHaveLength(before.length + 1);
  expect((await waitForTask(app, key, id)).status).toBe("failed");
  expect(await uploads()).toEqual(before);
});

it("a cancelled task drops its uploads", async () => {
  const before = await uploads();
  const id = await create("please hang with a picture", [`data:image/png;base64,${png}`]);
  await waitUntil(() => hang.calls > 0, { what: "the render to start", intervalMs: 50 });
  const res = await app.request(`/v1/videos/${encodeURIComponent(id)}/cancel`, { key, method: "POST" });
  expect(res.status).toBe(200);
  expect(await uploads()).toEqual(before);
});

it("a failed remix leaves its source's video alone", async () => {
  const source = await waitForTask(app, key, await create("a source"));
  expect(source.status).toBe("completed");
  const remix = await app.request("/v1/video/remix", { key, body: { id: source.id, prompt: "please fail" } });
  expect(remix.status).toBe(200);
  const failed = await waitForTask(app, key, ((await remix.json()) as { id: string }).id);
  expect(failed.status).toBe("failed");
  expect((await fetch(String(source.video_url))).status).toBe(200);
});

it("deleting a task removes its folder", async () => {
  const done = await waitForTask(app, key, await create("to be deleted"));
  expect(done.status).toBe("completed");
  const folder = join(app.config.dataDir, "blobs", taskPrefixFor(String(done.id)));
  expect(existsSync(folder)).toBe(true);
  const res = await app.request(`/v1/videos/${encodeURIComponent(String(done.id))}`, {
    key,
    method: "DELETE",
  });
  expect(res.status).toBe(200);
  expect(existsSync(folder)).toBe(false);
  expect((await fetch(String(done.video_url))).status).toBe(404);
});
