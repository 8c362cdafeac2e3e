/**
 * Two attempts of one task, deterministically: the first one's process "pauses" mid-render (it
 * waits on a gate while the clock jumps past its lease), a second attempt takes the job over and
 * completes the task, then the first one resumes, stores its own render and finds the task
 * completed. It must discard only what it made itself: the completed task's links still serve
 * its video (read back with ffprobe), and only the winner's files are left in the task's folder.
 */
import { mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { createImageFetcher } from "../../src/adapters/net/safe-fetch.js";
import { createLocalRenderer } from "../../src/adapters/providers/local-renderer/index.js";
import { resolveMediaTools } from "../../src/adapters/providers/local-renderer/media-tools.js";
import { taskPrefixFor } from "../../src/core/media/blob_keys.js";
import type { GenerateContext, GeneratedVideo, VideoProvider } from "../../src/core/media/ports.js";
import type { VideoRequest } from "../../src/core/tasks/task.js";
import { startTestApp, type TestApp, waitForTask } from "../helpers/app.js";
import { ffprobe } from "../helpers/ffprobe.js";
import { waitUntil } from "../helpers/wait.js";

const LEASE_MS = 600_000;
let dir = "";
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "reelay-lost-lease-"));
});
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** The real renderer; its first call first "pauses": it reports progress, then waits on `paused`. */
class PausingRenderer implements VideoProvider {
  readonly name = "local";
  calls = 0;
  /** How the paused call ended: it must render for real, or there is no race to lose. */
  firstOutcome: string | null = null;
  constructor(
    private readonly inner: VideoProvider,
    private readonly pause: () => Promise<void>,
  ) {}
  async generate(request: VideoRequest, ctx: GenerateContext): Promise<GeneratedVideo> {
    if (this.calls++ > 0) return this.inner.generate(request, ctx);
    // Progress written while the task is still this attempt's (as a render's first report).
    ctx.onProgress(0.1);
    await this.pause();
    try {
      const video = await this.inner.generate(request, ctx);
      this.firstOutcome = "rendered";
      return video;
    } catch (e) {
      this.firstOutcome = String(e);
      throw e;
    }
  }
}

it("an attempt that lost its lease and finishes last never deletes the winner's result", async () => {
  const tools = await resolveMediaTools({
    ffmpegPath: process.env.FFMPEG_PATH,
    ffprobePath: process.env.FFPROBE_PATH,
  });
  const real = createLocalRenderer({
    tools,
    fetcher: createImageFetcher({ allowHosts: [], maxBytes: 1e6, timeoutMs: 1000, maxRedirects: 0 }),
  });
  let offsetMs = 0;
  let resume = () => {};
  const resumed = new Promise<void>((r) => {
    resume = r;
  });
  let app: TestApp | undefined;
  const renderer = new PausingRenderer(real, async () => {
    // The pause outlasts the lease: another attempt may claim the job now.
    offsetMs += LEASE_MS + 1000;
    app?.container.worker.wake();
    await resumed;
  });
  app = await startTestApp({
    overrides: { clock: { now: () => Date.now() + offsetMs }, provider: renderer },
    // Two render slots (the paused attempt holds one); no progress write from the paused attempt
    // after it resumes (a real one finishing its upload writes none either).
    engine: { concurrency: 2, leaseMs: LEASE_MS, taskTimeoutS: 7200, progressWriteMs: 3_600_000 },
  });
  try {
    const key = await app.newKey();
    const created = await app.request("/v1/video/create", {
      key,
      body: { model: "sora-2", prompt: "two attempts", orientation: "portrait", size: "small", duration: 10 },
    });
    expect(created.status).toBe(200);
    const { id } = (await created.json()) as { id: string };

    // The second attempt completes the task while the first is paused.
    const done = await waitForTask(app, key, id);
    expect(done.status).toBe("completed");
    expect(renderer.calls).toBe(2);
    const url = String(done.video_url);

    // The first attempt resumes, renders, stores, and loses the race to commit.
    resume();
    // Its end: the render returned, and the attempt's scratch dir is gone (removed last, after
    // its commit failed and it cleaned up).
    const scratch = join(app.config.dataDir, "tmp");
    const ended = async () => renderer.firstOutcome !== null && (await readdir(scratch)).length === 0;
    await waitUntil(ended, { what: "the paused attempt to end", timeoutMs: 120_000 });

    expect(renderer.firstOutcome).toBe("rendered");
    const again = (await (
      await app.request(`/v1/video/query?id=${encodeURIComponent(id)}`, { key })
    ).json()) as Record<string, unknown>;
    expect(again.status).toBe("completed");
    const video = await fetch(url);
    expect(video.status).toBe(200);
    const file = join(dir, "winner.mp4");
    await writeFile(file, Buffer.from(await video.arrayBuffer()));
    const info = await ffprobe(file);
    expect(info.streams.find((s) => s.codecType === "video")).toMatchObject({ width: 720, height: 1280 });
    expect((await fetch(String(again.thumbnail_url ?? done.thumbnail_url))).status).toBe(200);
    // The loser removed its own files; the winner's are the only ones left.
    const attemptOf = (name: string) => name.slice(0, name.lastIndexOf("-"));
    const left = await readdir(join(app.config.dataDir, "blobs", taskPrefixFor(id)));
    expect(left.length).toBeGreaterThan(0);
    expect(new Set(left.map(attemptOf)).size).toBe(1);
  } finally {
    await app.close();
  }
}, 240_000);
