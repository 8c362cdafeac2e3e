/**
 * The official `openai` client, unchanged, pointed at Reelay: every `client.videos` method, the
 * models list, and chat completions in video mode. Real renders, read back with ffprobe.
 */
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import OpenAI, { toFile } from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestApp, type TestApp } from "../helpers/app.js";
import { ffprobe } from "../helpers/ffprobe.js";
import { startImageServer } from "../helpers/image-server.js";
import { waitFor } from "../helpers/wait.js";

let app: TestApp;
let key: string;
let client: OpenAI;
let scratch: string;
let images: Awaited<ReturnType<typeof startImageServer>>;

beforeAll(async () => {
  images = await startImageServer();
  app = await startTestApp({ env: { REELAY_IMAGE_ALLOW_HOSTS: images.host } });
  key = await app.newKey();
  // The three-line switch from OpenAI: base URL and key, nothing else.
  client = new OpenAI({ apiKey: key, baseURL: `${app.url}/v1` });
  scratch = await mkdtemp(join(tmpdir(), "reelay-openai-"));
});
afterAll(async () => {
  await app.close();
  await images.close();
  await rm(scratch, { recursive: true, force: true });
});

async function untilDone(id: string, c: OpenAI = client): Promise<OpenAI.Videos.Video> {
  return waitFor(
    () => c.videos.retrieve(id),
    (v) => v.status === "completed" || v.status === "failed",
    { what: `video ${id} to finish`, timeoutMs: 150_000, intervalMs: 250 },
  );
}

const imageBytes = async (name: string): Promise<Buffer> =>
  Buffer.from(await (await fetch(`${images.url}/${name}`)).arrayBuffer());

async function save(res: Response, name: string): Promise<string> {
  const file = join(scratch, name);
  await writeFile(file, Buffer.from(await res.arrayBuffer()));
  return file;
}

async function probeVideo(id: string, name: string) {
  const probe = await ffprobe(await save(await client.videos.downloadContent(id), name));
  return { probe, video: probe.streams.find((s) => s.codecType === "video") };
}

describe("client.videos", () => {
  let first: OpenAI.Videos.Video;

  it("create (no file) → retrieve until completed → downloadContent of each variant", async () => {
    const created = await client.videos.create({
      prompt: "a paper boat on a pond",
      model: "sora-2",
      seconds: "4",
      size: "720x1280",
    });
    expect(created).toMatchObject({
      object: "video",
      model: "sora-2",
      status: "queued",
      seconds: "4",
      size: "720x1280",
      prompt: "a paper boat on a pond",
      remixed_from_video_id: null,
      error: null,
      completed_at: null,
    });
    expect(created.id).toMatch(/^sora-2:task_[0-9a-z]{26}$/);
    first = await untilDone(created.id);
    expect(first).toMatchObject({
      status: "completed",
      progress: 100,
      seconds: "4",
      size: "720x1280",
      error: null,
    });
    expect(first.completed_at).toBeGreaterThanOrEqual(first.created_at);

    const { probe, video } = await probeVideo(first.id, "first.mp4");
    expect(video).toMatchObject({ codecName: "h264", width: 720, height: 1280 });
    expect(Math.abs(probe.durationS - 4)).toBeLessThanOrEqual(0.2);

    const thumb = await client.videos.downloadContent(first.id, { variant: "thumbnail" });
    expect(thumb.headers.get("content-type")).toBe("image/jpeg");
    expect((await ffprobe(await save(thumb, "thumb.jpg"))).streams[0]?.codecName).toBe("mjpeg");
    const sprites = await client.videos.downloadContent(first.id, { variant: "spritesheet" });
    expect(sprites.headers.get("content-type")).toBe("image/jpeg");
    expect((await ffprobe(await save(sprites, "sprites.jpg"))).streams[0]?.codecName).toBe("mjpeg");
  });

  it("create with an uploaded image (multipart file)", async () => {
    const png = await imageBytes("a.png");
    const v = await client.videos.create({
      prompt: "from a picture",
      model: "sora-2-pro",
      seconds: "4",
      size: "1280x720",
      input_reference: await toFile(png, "a.png", { type: "image/png" }),
    });
    const done = await untilDone(v.id);
    expect(done.status).toBe("completed");
    const { video } = await probeVideo(v.id, "upload.mp4");
    expect(video).toMatchObject({ width: 1280, height: 720 });
  });

  it("create with input_reference[image_url] (a link and a data URL)", async () => {
    const link = await client.videos.create({
      prompt: "from a link",
      seconds: "4",
      input_reference: { image_url: `${images.url}/b.png` },
    });
    const png = await imageBytes("b.png");
    const data = await client.videos.create({
      prompt: "from a data URL",
      seconds: "4",
      input_reference: { image_url: `data:image/png;base64,${png.toString("base64")}` },
    });
    expect((await untilDone(link.id)).status).toBe("completed");
    expect((await untilDone(data.id)).status).toBe("completed");
  });

  it("remix sets remixed_from_video_id and makes a new video", async () => {
    const r = await client.videos.remix(first.id, { prompt: "the same boat, at night" });
    expect(r.remixed_from_video_id).toBe(first.id);
    expect(r.id).not.toBe(first.id);
    const done = await untilDone(r.id);
    expect(done).toMatchObject({ status: "completed", remixed_from_video_id: first.id, size: "720x1280" });
  });

  it("extend adds `seconds` to the source: ffprobe shows the longer video", async () => {
    const e = await client.videos.extend({
      prompt: "the boat sails on",
      seconds: "4",
      video: { id: first.id },
    });
    const done = await untilDone(e.id);
    expect(done.status).toBe("completed");
    expect(done.seconds).toBe("8");
    const { probe, video } = await probeVideo(e.id, "extended.mp4");
    expect(video).toMatchObject({ width: 720, height: 1280 });
    expect(Math.abs(probe.durationS - 8)).toBeLessThanOrEqual(0.2);
  });

  it("edit makes a new video from the source, by id and by upload", async () => {
    const byId = await client.videos.edit({ prompt: "make it autumn", video: { id: first.id } });
    const done = await untilDone(byId.id);
    expect(done).toMatchObject({ status: "completed", size: "720x1280", seconds: "4" });

    const mp4 = await readFile(join(scratch, "first.mp4"));
    const byUpload = await client.videos.edit({
      prompt: "make it winter",
      video: await toFile(mp4, "source.mp4", { type: "video/mp4" }),
    });
    expect((await untilDone(byUpload.id)).status).toBe("completed");
  });

  it("delete removes the video; retrieve is then NotFoundError", async () => {
    const v = await client.videos.create({ prompt: "short-lived", seconds: "4" });
    await untilDone(v.id);
    expect(await client.videos.delete(v.id)).toEqual({ id: v.id, object: "video.deleted", deleted: true });
    await expect(client.videos.retrieve(v.id)).rejects.toBeInstanceOf(OpenAI.NotFoundError);
    await expect(client.videos.delete(v.id)).rejects.toBeInstanceOf(OpenAI.NotFoundError);
  });

  it("list auto-paginates across pages in both orders", async () => {
    // A fresh owner, so the listing holds exactly these.
    const own = new OpenAI({ apiKey: await app.newKey(), baseURL: `${app.url}/v1` });
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await own.videos.create({ prompt: `clip ${i}`, seconds: "4" })).id);
    const asc: string[] = [];
    for await (const v of own.videos.list({ limit: 2, order: "asc" })) asc.push(v.id);
    expect(asc).toEqual(ids);
    const desc: string[] = [];
    for await (const v of own.videos.list({ limit: 2, order: "desc" })) desc.push(v.id);
    expect(desc).toEqual([...ids].reverse());
    const page = await own.videos.list({ limit: 2 });
    expect(page.data).toHaveLength(2);
    expect(page.has_more).toBe(true);
  });

  it("a wrong key is AuthenticationError; a bad size is BadRequestError naming it", async () => {
    const bad = new OpenAI({ apiKey: "rl-wrong", baseURL: `${app.url}/v1`, maxRetries: 0 });
    await expect(bad.videos.list()).rejects.toBeInstanceOf(OpenAI.AuthenticationError);
    const err = await client.videos
      .create({ prompt: "x", model: "sora-2", size: "1792x1024", seconds: "4" })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    expect((err as InstanceType<typeof OpenAI.BadRequestError>).param).toBe("size");
    expect((err as Error).message).toContain("720x1280");
    const secs = await client.videos.create({ prompt: "x", seconds: "5" as "4" }).catch((e: unknown) => e);
    expect(secs).toBeInstanceOf(OpenAI.BadRequestError);
  });
});

describe("a video that is not finished", () => {
  it("content is a 409 that tells the client not to retry; remix of it too", async () => {
    // Concurrency 0: tasks are accepted and stay queued.
    const idle = await startTestApp({ engine: { concurrency: 0 } });
    try {
      const k = await idle.newKey();
      const c = new OpenAI({ apiKey: k, baseURL: `${idle.url}/v1` });
      const v = await c.videos.create({ prompt: "not yet", seconds: "4" });
      expect(v.status).toBe("queued");
      const res = await fetch(`${idle.url}/v1/videos/${encodeURIComponent(v.id)}/content`, {
        headers: { authorization: `Bearer ${k}` },
      });
      expect(res.status).toBe(409);
      expect(res.headers.get("x-should-retry")).toBe("false");
      expect(res.headers.get("content-type")).toMatch(/^application\/json/);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe("video_not_ready");
      await expect(c.videos.downloadContent(v.id)).rejects.toBeInstanceOf(OpenAI.ConflictError);
      await expect(c.videos.remix(v.id, { prompt: "again" })).rejects.toBeInstanceOf(OpenAI.ConflictError);
    } finally {
      await idle.close();
    }
  });
});

describe("client.models", () => {
  it("lists the capability table", async () => {
    const ids: string[] = [];
    for await (const m of client.models.list()) ids.push(m.id);
    expect(ids).toEqual(expect.arrayContaining(["sora-2", "sora-2-pro", "sora-2-all", "sora-2-pro-all"]));
  });
});

describe("one task, two views", () => {
  it("a unified-API task reads through /v1/videos, and an OpenAI-API task through /v1/video/query", async () => {
    const res = await app.request("/v1/video/create", {
      key,
      body: { model: "sora-2", prompt: "two views", orientation: "landscape", size: "small", duration: 10 },
    });
    const { id } = (await res.json()) as { id: string };
    const asVideo = await client.videos.retrieve(id);
    expect(asVideo).toMatchObject({ id, object: "video", model: "sora-2", seconds: "10", size: "1280x720" });
    expect(["queued", "in_progress", "completed"]).toContain(asVideo.status);
    const done = await untilDone(id);
    expect(done.status).toBe("completed");

    const v = await client.videos.create({ prompt: "the other way", seconds: "4", size: "1280x720" });
    await untilDone(v.id);
    const q = await app.request(`/v1/video/query?id=${encodeURIComponent(v.id)}`, { key });
    const body = (await q.json()) as Record<string, unknown>;
    expect(body).toMatchObject({ id: v.id, status: "completed", width: 1280, height: 720, progress: 100 });
    expect((await fetch(String(body.video_url))).status).toBe(200);
  });
});

describe("chat completions, video mode", () => {
  it("non-streaming: waits and answers with the link", async () => {
    const c = await client.chat.completions.create({
      model: "sora-2",
      messages: [{ role: "user", content: "a kite over the sea" }],
    });
    expect(c.object).toBe("chat.completion");
    expect(c.id).toMatch(/^sora-2:task_/);
    const content = c.choices[0]?.message.content ?? "";
    const url = /\((http[^)]+)\)/.exec(content)?.[1];
    expect(url).toBeDefined();
    const file = await save(await fetch(String(url)), "chat.mp4");
    const probe = await ffprobe(file);
    expect(probe.streams.find((s) => s.codecType === "video")).toMatchObject({ width: 720, height: 1280 });
    expect(c.usage?.total_tokens).toBeGreaterThan(0);
  });

  it("streaming: the task id first, progress in reasoning_content, the link last, then [DONE]", async () => {
    const stream = await client.chat.completions.create({
      model: "sora-2",
      stream: true,
      messages: [
        {
          role: "user",
          content: [
            { type: "text", text: "lanterns rising" },
            { type: "image_url", image_url: { url: `${images.url}/a.png` } },
          ],
        },
      ],
    });
    const chunks: OpenAI.Chat.Completions.ChatCompletionChunk[] = [];
    for await (const chunk of stream) chunks.push(chunk);
    const firstChunk = chunks[0];
    expect(firstChunk?.id).toMatch(/^sora-2:task_/);
    const reasoning = chunks
      .map(
        (c) => (c.choices[0]?.delta as { reasoning_content?: string } | undefined)?.reasoning_content ?? "",
      )
      .join("");
    expect(reasoning).toContain(String(firstChunk?.id));
    // Each change of the task's feed, in order, down to its end.
    expect(reasoning).toMatch(/processing: \d+%\n[\s\S]*completed: 100%\n$/);
    const content = chunks.map((c) => c.choices[0]?.delta.content ?? "").join("");
    expect(content).toMatch(/\[video\]\(http/);
    expect(chunks[chunks.length - 1]?.choices[0]?.finish_reason).toBe("stop");
    const task = await client.videos.retrieve(String(firstChunk?.id));
    expect(task.status).toBe("completed");
  });

  it("a client that goes away does not cancel the task", async () => {
    const controller = new AbortController();
    const stream = await client.chat.completions.create(
      { model: "sora-2", stream: true, messages: [{ role: "user", content: "leave early" }] },
      { signal: controller.signal },
    );
    let id = "";
    try {
      for await (const chunk of stream) {
        id = chunk.id;
        controller.abort();
      }
    } catch {
      // aborted on purpose
    }
    expect(id).toMatch(/^sora-2:task_/);
    expect((await untilDone(id)).status).toBe("completed");
  });

  it("a model that is not a video model is BadRequestError naming model", async () => {
    const err = await client.chat.completions
      .create({ model: "gpt-4o", messages: [{ role: "user", content: "hi" }] })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    expect((err as InstanceType<typeof OpenAI.BadRequestError>).param).toBe("model");
  });
});
