/** Characters (cameos): made from a task or an upload, mentioned as @username, visible by the owner rules. */
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import OpenAI, { toFile } from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { resolveMediaTools } from "../../src/adapters/providers/local-renderer/media-tools.js";
import { startTestApp, type TestApp, waitForTask } from "../helpers/app.js";
import { FakeProvider } from "../helpers/fake-provider.js";

let app: TestApp;
let provider: FakeProvider;
let alice: string;
let bob: string;
let dir: string;

beforeAll(async () => {
  provider = new FakeProvider();
  app = await startTestApp({ overrides: { provider } });
  alice = await app.newKey();
  bob = await app.newKey();
  dir = await mkdtemp(join(tmpdir(), "reelay-chars-"));
});
afterAll(async () => {
  await app.close();
  await rm(dir, { recursive: true, force: true });
});

async function task(key: string, body: object): Promise<string> {
  const res = await app.request("/v1/video/create", {
    key,
    body: {
      model: "sora-2",
      orientation: "portrait",
      size: "small",
      duration: 10,
      prompt: "source",
      ...body,
    },
  });
  const { id } = (await res.json()) as { id: string };
  expect((await waitForTask(app, key, id)).status).toBe("completed");
  return id;
}

async function character(key: string, body: object) {
  const res = await app.request("/sora/v1/characters", { key, body });
  return {
    res,
    body: (await res.json()) as {
      id: string;
      username: string;
      permalink: string;
      profile_picture_url: string | null;
      error?: { code: string; param: string };
    },
  };
}

describe("POST /sora/v1/characters", () => {
  it("from a task: a username that a later prompt mentions, handing the provider the clip", async () => {
    const src = await task(alice, { prompt: "a dancer" });
    const { res, body } = await character(alice, { from_task: src, timestamps: "1,3", name: "Dancer One" });
    expect(res.status).toBe(200);
    expect(body.username).toMatch(/^dancer\.one\.\d{4}$/);
    expect(body.permalink).toContain(encodeURIComponent(body.id));
    expect((await fetch(String(body.profile_picture_url))).status).toBe(200);

    await task(alice, { prompt: `@${body.username} dances in the rain` });
    expect(provider.requests.at(-1)?.characters).toEqual([
      { username: body.username, videoKey: expect.any(String), startS: 1, endS: 3 },
    ]);
    expect(provider.files.at(-1)?.characterVideos).toHaveLength(1);
    const got = await app.request(`/sora/v1/characters/${encodeURIComponent(body.id)}`, { key: alice });
    expect(((await got.json()) as { username: string }).username).toBe(body.username);
  });

  it.each([
    ["a span under 1 s", "1,1.5", "timestamps"],
    ["a span over 3 s", "0,4", "timestamps"],
    ["a span past the end", "9,11", "timestamps"],
    ["not start,end", "abc", "timestamps"],
  ])("%s → 400 naming timestamps", async (_n, timestamps, param) => {
    const src = await task(alice, {});
    const { res, body } = await character(alice, { from_task: src, timestamps });
    expect(res.status).toBe(400);
    expect(body.error?.param).toBe(param);
  });

  it("url is refused as unsupported; from_task is required", async () => {
    expect(
      (await character(alice, { url: "https://example.com/v.mp4", timestamps: "0,2" })).body.error?.code,
    ).toBe("unsupported_parameter");
    expect((await character(alice, { timestamps: "0,2" })).body.error?.param).toBe("from_task");
  });

  it("a private video cannot give a character; another owner's unlisted one is invisible", async () => {
    const priv = await task(alice, { private: true });
    expect((await character(alice, { from_task: priv, timestamps: "0,2" })).res.status).toBe(403);
    const res = await app.request("/v1/videos", { key: alice, body: { prompt: "unlisted" } });
    const { id } = (await res.json()) as { id: string };
    await waitForTask(app, alice, id);
    expect((await character(bob, { from_task: id, timestamps: "0,2" })).res.status).toBe(404);
  });

  it("a character from a published video is usable by anyone; one from an unlisted video stays its owner's", async () => {
    const pub = await task(alice, { prompt: "public" });
    const shared = (await character(alice, { from_task: pub, timestamps: "0,2" })).body;
    const res = await app.request("/v1/videos", { key: alice, body: { prompt: "unlisted" } });
    const { id: unlistedId } = (await res.json()) as { id: string };
    await waitForTask(app, alice, unlistedId);
    const own = (await character(alice, { from_task: unlistedId, timestamps: "0,2" })).body;

    await task(bob, { prompt: `@${shared.username} meets @${own.username}` });
    expect(provider.requests.at(-1)?.characters?.map((c) => c.username)).toEqual([shared.username]);
    expect(
      (await app.request(`/sora/v1/characters/${encodeURIComponent(own.id)}`, { key: bob })).status,
    ).toBe(404);
    expect(
      (await app.request(`/sora/v1/characters/${encodeURIComponent(shared.id)}`, { key: bob })).status,
    ).toBe(200);
  });
});

describe("client.videos.createCharacter / getCharacter", () => {
  it("uploads a video and makes a character of its first seconds", async () => {
    const tools = await resolveMediaTools({});
    const clip = join(dir, "clip.mp4");
    await promisify(execFile)(tools.ffmpegPath, [
      "-v",
      "error",
      "-f",
      "lavfi",
      "-i",
      "color=c=green:s=320x240:d=4",
      "-c:v",
      "libx264",
      "-pix_fmt",
      "yuv420p",
      clip,
    ]);
    const client = new OpenAI({ apiKey: alice, baseURL: `${app.url}/v1` });
    const made = (await client.videos.createCharacter({
      name: "Green Screen",
      video: await toFile(await readFile(clip), "clip.mp4", { type: "video/mp4" }),
    })) as OpenAI.Videos.VideoCreateCharacterResponse & { username: string };
    expect(made).toMatchObject({ name: "Green Screen", id: expect.stringMatching(/^char_/) });
    expect(await client.videos.getCharacter(String(made.id))).toMatchObject({
      id: made.id,
      name: "Green Screen",
    });
    await task(alice, { prompt: `with @${made.username}` });
    expect(provider.requests.at(-1)?.characters).toEqual([
      { username: made.username, videoKey: expect.any(String), startS: 0, endS: 3 },
    ]);
    const other = new OpenAI({ apiKey: bob, baseURL: `${app.url}/v1`, maxRetries: 0 });
    await expect(other.videos.getCharacter(String(made.id))).rejects.toBeInstanceOf(OpenAI.NotFoundError);
  });
});
