/** Private videos, remix rights and lineage, and the public gallery (fake provider). */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestApp, type TestApp, waitForTask } from "../helpers/app.js";
import { FakeProvider } from "../helpers/fake-provider.js";

let app: TestApp;
let provider: FakeProvider;
let alice: string;
let bob: string;

beforeAll(async () => {
  provider = new FakeProvider();
  app = await startTestApp({ overrides: { provider } });
  alice = await app.newKey();
  bob = await app.newKey();
});
afterAll(() => app.close());

const base = { model: "sora-2", orientation: "portrait", size: "small", duration: 10 } as const;

async function make(key: string, body: object): Promise<string> {
  const res = await app.request("/v1/video/create", { key, body: { ...base, ...body } });
  expect(res.status).toBe(200);
  const { id } = (await res.json()) as { id: string };
  expect((await waitForTask(app, key, id)).status).toBe("completed");
  return id;
}

async function remix(key: string, id: string, prompt = "again") {
  const res = await app.request("/v1/video/remix", { key, body: { id, prompt } });
  return { res, body: (await res.json()) as { id: string; error?: { code: string; param: string | null } } };
}

async function gallery(query = "") {
  const res = await fetch(`${app.url}/v1/gallery${query}`);
  expect(res.status).toBe(200);
  return (await res.json()) as {
    data: {
      id: string;
      remixed_from: string | null;
      lineage: string[];
      thumbnail_url: string;
      prompt: string;
    }[];
    has_more: boolean;
    last_id: string | null;
  };
}

describe("private videos", () => {
  let priv: string;
  beforeAll(async () => {
    priv = await make(alice, { prompt: "secret", private: true });
  });

  it("are not in the gallery", async () => {
    expect((await gallery("?limit=100")).data.map((v) => v.id)).not.toContain(priv);
  });

  it("cannot be remixed, edited or extended, even by their owner (video_private)", async () => {
    const own = await remix(alice, priv);
    expect(own.res.status).toBe(403);
    expect(own.body.error?.code).toBe("video_private");
    for (const [path, body] of [
      [`/v1/videos/${encodeURIComponent(priv)}/remix`, { prompt: "x" }],
      ["/v1/videos/edits", { prompt: "x", video: { id: priv } }],
      ["/v1/videos/extensions", { prompt: "x", seconds: "4", video: { id: priv } }],
    ] as const) {
      const res = await app.request(path, { key: alice, body });
      expect(res.status).toBe(403);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe("video_private");
    }
  });

  it("are invisible to others: 404, not 403", async () => {
    const other = await remix(bob, priv);
    expect(other.res.status).toBe(404);
    expect(other.body.error?.code).toBe("task_not_found");
  });
});

describe("remix", () => {
  it("a key may remix a published video of someone else; a chain of two records its lineage", async () => {
    const a = await make(alice, { prompt: "a lighthouse" });
    const b = await remix(bob, a, "the lighthouse at night");
    expect(b.res.status).toBe(200);
    expect((await waitForTask(app, bob, b.body.id)).status).toBe("completed");
    const c = await remix(alice, b.body.id, "the lighthouse in a storm");
    expect(c.res.status).toBe(200);
    const done = await waitForTask(app, alice, c.body.id);
    expect(done.remixed_from).toBe(b.body.id);
    // The provider was given the source video to work from.
    expect(provider.requests.at(-1)?.source).toMatchObject({ kind: "remix", taskId: b.body.id });
    expect(provider.files.at(-1)?.sourceVideo).toEqual(expect.any(String));
    const g = await gallery("?limit=100");
    expect(g.data.find((v) => v.id === c.body.id)).toMatchObject({
      remixed_from: b.body.id,
      lineage: [b.body.id, a],
    });
    // The remix keeps the source's shape.
    expect(provider.requests.at(-1)).toMatchObject({
      width: 720,
      height: 1280,
      duration: 10,
      model: "sora-2",
    });
  });

  it("an unlisted (OpenAI-API) video of someone else cannot be remixed: 404", async () => {
    const res = await app.request("/v1/videos", { key: alice, body: { prompt: "unlisted" } });
    const { id } = (await res.json()) as { id: string };
    await waitForTask(app, alice, id);
    expect((await remix(bob, id)).res.status).toBe(404);
    expect((await remix(alice, id)).res.status).toBe(200);
    expect((await gallery("?limit=100")).data.map((v) => v.id)).not.toContain(id);
  });

  it("a chat-completions video is unlisted like an OpenAI-API one: its owner's to remix, in no gallery", async () => {
    const res = await app.request("/v1/chat/completions", {
      key: alice,
      body: { model: "sora-2", messages: [{ role: "user", content: "a chat-made clip" }] },
    });
    expect(res.status).toBe(200);
    const { id } = (await res.json()) as { id: string };
    expect((await waitForTask(app, alice, id)).status).toBe("completed");
    expect((await gallery("?limit=100")).data.map((v) => v.id)).not.toContain(id);
    expect((await remix(bob, id)).res.status).toBe(404);
    expect((await remix(alice, id)).res.status).toBe(200);
  });

  it("names what is wrong with a remix request", async () => {
    expect((await app.request("/v1/video/remix", { key: alice, body: { prompt: "x" } })).status).toBe(400);
    const res = await app.request("/v1/video/remix", { key: alice, body: { id: "x", prompt: "" } });
    expect(((await res.json()) as { error: { param: string } }).error.param).toBe("prompt");
  });
});

describe("gallery", () => {
  it("pages newest first with a cursor, needs no key, and links thumbnails", async () => {
    for (let i = 0; i < 3; i++) await make(bob, { prompt: `gallery ${i}` });
    const all = (await gallery("?limit=100")).data.map((v) => v.id);
    const seen: string[] = [];
    let q = "?limit=2";
    for (let page = 0; page < 50; page++) {
      const g = await gallery(q);
      seen.push(...g.data.map((v) => v.id));
      if (!g.has_more) break;
      q = `?limit=2&after=${encodeURIComponent(String(g.last_id))}`;
    }
    expect(seen).toEqual(all);
    expect([...all].sort().reverse()).toEqual(all);
    const first = (await gallery("?limit=1")).data[0];
    expect((await fetch(String(first?.thumbnail_url))).status).toBe(200);
  });
});
