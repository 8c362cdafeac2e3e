/** The OpenAI routes refuse what they do not understand, with errors naming the field (fake provider). */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestApp, type TestApp, waitForTask } from "../helpers/app.js";
import { FakeProvider } from "../helpers/fake-provider.js";
import { dataUrl, TINY_PNG } from "../helpers/images.js";
import { pollUntil } from "../helpers/wait.js";

let app: TestApp;
let key: string;
let provider: FakeProvider;

beforeAll(async () => {
  provider = new FakeProvider();
  app = await startTestApp({ overrides: { provider } });
  key = await app.newKey();
});
afterAll(() => app.close());

type ErrorBody = { error: { message: string; code: string; param: string | null; type: string } };

async function post(path: string, body: FormData | object) {
  const res = await fetch(`${app.url}${path}`, {
    method: "POST",
    headers: {
      authorization: `Bearer ${key}`,
      ...(body instanceof FormData ? {} : { "content-type": "application/json" }),
    },
    body: body instanceof FormData ? body : JSON.stringify(body),
  });
  return { res, json: (await res.json()) as ErrorBody & Record<string, unknown> };
}

const form = (entries: Record<string, string | Blob>) => {
  const f = new FormData();
  for (const [k, v] of Object.entries(entries)) f.append(k, v);
  return f;
};

describe("POST /v1/videos", () => {
  it.each([
    ["an unknown field", { prompt: "x", duration: 4 }, "duration"],
    ["no prompt", { seconds: "4" }, "prompt"],
    ["an empty prompt", { prompt: " " }, "prompt"],
    ["an unknown model", { prompt: "x", model: "veo-3" }, "model"],
    ["seconds not offered", { prompt: "x", seconds: "10" }, "seconds"],
    ["seconds not a number", { prompt: "x", seconds: "four" }, "seconds"],
    ["a size that is not WxH", { prompt: "x", size: "big" }, "size"],
    [
      "file_id (not supported)",
      { prompt: "x", input_reference: { file_id: "file_1" } },
      "input_reference[file_id]",
    ],
    [
      "a bad data URL",
      { prompt: "x", input_reference: { image_url: "data:text/plain;base64,aGk=" } },
      "input_reference[image_url]",
    ],
    [
      "an ftp image link",
      { prompt: "x", input_reference: { image_url: "ftp://example.com/a.png" } },
      "input_reference[image_url]",
    ],
    [
      "an unknown key inside input_reference",
      { prompt: "x", input_reference: { url: "https://example.com/a.png" } },
      "input_reference.url",
    ],
  ])("JSON with %s → 400 naming it", async (_n, body, param) => {
    const { res, json } = await post("/v1/videos", body);
    expect(res.status).toBe(400);
    expect(json.error.param).toBe(param);
  });

  it("multipart: bracketed names are read as nested fields", async () => {
    const { res, json } = await post(
      "/v1/videos",
      form({ prompt: "x", seconds: "8", "input_reference[image_url]": "https://example.com/a.png" }),
    );
    expect(res.status).toBe(200);
    expect(json).toMatchObject({ seconds: "8", status: "queued" });
  });

  it("multipart: an unknown field, a non-image file and a repeated field are refused", async () => {
    expect((await post("/v1/videos", form({ prompt: "x", quality: "hd" }))).json.error.param).toBe("quality");
    const text = new Blob(["hello"], { type: "text/plain" });
    const notImage = await post("/v1/videos", form({ prompt: "x", input_reference: text }));
    expect(notImage.res.status).toBe(400);
    expect(notImage.json.error.param).toBe("input_reference");
    const f = form({ prompt: "x" });
    f.append("prompt", "y");
    expect((await post("/v1/videos", f)).json.error.param).toBe("prompt");
    const other = await post(
      "/v1/videos",
      form({ prompt: "x", video: new Blob(["v"], { type: "video/mp4" }) }),
    );
    expect(other.json.error.param).toBe("video");
  });

  it("an uploaded image reaches the provider as a local file", async () => {
    const before = provider.calls;
    const png = new Blob([TINY_PNG], { type: "image/png" });
    const { json } = await post("/v1/videos", form({ prompt: "x", input_reference: png }));
    await waitForTask(app, key, String(json.id));
    expect(provider.calls).toBe(before + 1);
    expect(provider.files.at(-1)?.imageFiles).toHaveLength(1);
    expect(provider.requests.at(-1)?.imageKeys).toHaveLength(1);
  });
});

describe("edits and extensions", () => {
  it.each([
    [
      "/v1/videos/extensions",
      { prompt: "x", video: { id: "sora-2:task_01k9009g8ef1esae6388chgcpx" } },
      400,
      "seconds",
    ],
    ["/v1/videos/extensions", { prompt: "x", seconds: "4" }, 400, "video"],
    ["/v1/videos/edits", { prompt: "x", seconds: "4", video: { id: "x" } }, 400, "seconds"],
    ["/v1/videos/edits", { prompt: "x", video: { id: "sora-2:task_01k9009g8ef1esae6388chgcpx" } }, 404, "id"],
  ])("%s %o → %d naming %s", async (path, body, status, param) => {
    const { res, json } = await post(path, body);
    expect(res.status).toBe(status);
    expect(json.error.param).toBe(param);
  });

  it("an upload that is not a readable video → 400 naming video", async () => {
    const { res, json } = await post(
      "/v1/videos/edits",
      form({ prompt: "x", video: new Blob(["not a video"], { type: "video/mp4" }) }),
    );
    expect(res.status).toBe(400);
    expect(json.error.param).toBe("video");
  });
});

describe("GET /v1/videos", () => {
  it.each([
    ["limit=0", "limit"],
    ["limit=101", "limit"],
    ["limit=abc", "limit"],
    ["order=up", "order"],
    ["after=sora-2:task_01k9009g8ef1esae6388chgcpx", "after"],
    ["page=2", "page"],
  ])("?%s → 400 naming %s", async (q, param) => {
    const res = await fetch(`${app.url}/v1/videos?${q}`, { headers: { authorization: `Bearer ${key}` } });
    expect(res.status).toBe(400);
    expect(((await res.json()) as ErrorBody).error.param).toBe(param);
  });

  it("content with an unknown variant → 400", async () => {
    const { json } = await post("/v1/videos", { prompt: "x" });
    const res = await fetch(
      `${app.url}/v1/videos/${encodeURIComponent(String(json.id))}/content?variant=gif`,
      {
        headers: { authorization: `Bearer ${key}` },
      },
    );
    expect(res.status).toBe(400);
  });
});

describe("deleting a task", () => {
  it("while it renders: the render stops and nothing of it is kept", async () => {
    let open: () => void = () => undefined;
    const gate = new Promise<void>((r) => {
      open = r;
    });
    const slow = new FakeProvider([], { gate });
    const other = await startTestApp({ overrides: { provider: slow }, engine: { progressWriteMs: 0 } });
    try {
      const k = await other.newKey();
      const res = await other.request("/v1/videos", { key: k, body: { prompt: "going away" } });
      const { id } = (await res.json()) as { id: string };
      await pollUntil(
        () => slow.active,
        (n) => n > 0,
        { what: "the render to start", timeoutMs: 2000, intervalMs: 20 },
      );
      const del = await other.request(`/v1/videos/${encodeURIComponent(id)}`, { key: k, method: "DELETE" });
      expect(await del.json()).toEqual({ id, object: "video.deleted", deleted: true });
      open();
      const gone = await other.request(`/v1/videos/${encodeURIComponent(id)}`, { key: k });
      expect(gone.status).toBe(404);
      // The worker finishes the attempt, finds the task gone, and removes what it stored (bounded wait).
      const key = `tasks/${id.replace(/[^a-zA-Z0-9_-]/g, "_")}/video.mp4`;
      const blobs = other.container.services.blobs;
      const queue = other.container.services.queue;
      await pollUntil(
        async () =>
          slow.calls === 1 &&
          slow.active === 0 &&
          (await queue.depth(Date.now())).running === 0 &&
          !(await blobs.stat(key)),
        (settled) => settled,
        { what: "the deleted task's attempt to end and clean up", timeoutMs: 4000, intervalMs: 20 },
      );
      expect(await blobs.stat(key)).toBeUndefined();
      expect(await queue.depth(Date.now())).toEqual({ queued: 0, running: 0, dead: 0 });
    } finally {
      await other.close();
    }
  });
});

it("a data-URL image in a JSON body (no multipart seen before) is stored for the provider", async () => {
  const fresh = new FakeProvider();
  const other = await startTestApp({ overrides: { provider: fresh } });
  try {
    const k = await other.newKey();
    const res = await other.request("/v1/videos", {
      key: k,
      body: { prompt: "x", input_reference: { image_url: dataUrl(TINY_PNG) } },
    });
    expect(res.status).toBe(200);
    await waitForTask(other, k, String(((await res.json()) as { id: string }).id));
    expect(fresh.files[0]?.imageFiles).toHaveLength(1);
  } finally {
    await other.close();
  }
});
