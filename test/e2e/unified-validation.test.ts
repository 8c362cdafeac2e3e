import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestApp, type TestApp, waitForTask } from "../helpers/app.js";
import { FakeProvider, SEED_BODY } from "../helpers/fake-provider.js";
import { TINY_PNG } from "../helpers/images.js";

let app: TestApp;
let key: string;
let provider: FakeProvider;

beforeAll(async () => {
  provider = new FakeProvider();
  app = await startTestApp({ overrides: { provider } });
  key = await app.newKey();
});
afterAll(() => app.close());

type ErrorBody = { error: { message: string; type: string; code: string; param: string | null } };

async function create(body: unknown, k: string | null = key) {
  const res = await app.request("/v1/video/create", { key: k, body });
  return { res, json: (await res.json()) as ErrorBody & Record<string, unknown> };
}

const without = (field: string) => Object.fromEntries(Object.entries(SEED_BODY).filter(([k]) => k !== field));

// [case, body, field named, words the message must contain]
const cases: [string, unknown, string, string[]][] = [
  ["images not an array", { ...SEED_BODY, images: "http://x/a.png" }, "images", ["array"]],
  ["an image that is not a string", { ...SEED_BODY, images: [5] }, "images[0]", ["string"]],
  [
    "an image that is not http(s)",
    { ...SEED_BODY, images: ["ftp://example.com/a.png"] },
    "images[0]",
    ["http"],
  ],
  ["an image that is not a URL", { ...SEED_BODY, images: ["not a url"] }, "images[0]", ["URL"]],
  [
    "too many images",
    { ...SEED_BODY, images: Array(5).fill("https://example.com/a.png") },
    "images",
    ["at most 4"],
  ],
  ["model missing", without("model"), "model", ["required"]],
  ["model not a string", { ...SEED_BODY, model: 2 }, "model", ["string"]],
  ["unknown model", { ...SEED_BODY, model: "sora-3" }, "model", ["sora-2-pro", "sora-2"]],
  ["orientation missing", without("orientation"), "orientation", ["required"]],
  ["orientation unknown", { ...SEED_BODY, orientation: "square" }, "orientation", ["portrait", "landscape"]],
  ["prompt missing", without("prompt"), "prompt", ["required"]],
  ["prompt empty", { ...SEED_BODY, prompt: "" }, "prompt", ["empty"]],
  ["prompt only spaces", { ...SEED_BODY, prompt: "   " }, "prompt", ["empty"]],
  ["prompt too long", { ...SEED_BODY, prompt: "a".repeat(4001) }, "prompt", ["4000"]],
  ["prompt not a string", { ...SEED_BODY, prompt: ["a"] }, "prompt", ["string"]],
  ["size missing", without("size"), "size", ["required"]],
  ["size unknown", { ...SEED_BODY, size: "medium" }, "size", ["small", "large"]],
  ["size the model lacks", { ...SEED_BODY, model: "sora-2" }, "size", ["small"]],
  ["duration missing", without("duration"), "duration", ["required"]],
  ["duration as a string", { ...SEED_BODY, duration: "15" }, "duration", ["integer"]],
  ["duration not whole", { ...SEED_BODY, duration: 15.5 }, "duration", ["integer"]],
  ["duration not offered", { ...SEED_BODY, duration: 12 }, "duration", ["10, 15, 25"]],
  [
    "duration the model lacks",
    { ...SEED_BODY, model: "sora-2", size: "small", duration: 25 },
    "duration",
    ["10, 15"],
  ],
  ["watermark not a boolean", { ...SEED_BODY, watermark: "false" }, "watermark", ["boolean"]],
  ["private not a boolean", { ...SEED_BODY, private: 1 }, "private", ["boolean"]],
  ["an unknown field", { ...SEED_BODY, seconds: "8" }, "seconds", ["Unknown field"]],
];

describe("POST /v1/video/create refuses bad input with a 400 naming the field", () => {
  it.each(cases)("%s", async (_name, body, param, words) => {
    const { res, json } = await create(body);
    expect(res.status).toBe(400);
    expect(res.headers.get("content-type")).toMatch(/^application\/json/);
    expect(json.error.param).toBe(param);
    expect(json.error.type).toBe("invalid_request_error");
    expect(json.error.code).toBe("invalid_request");
    for (const w of words) expect(json.error.message).toContain(w);
  });

  it("a body that is not JSON", async () => {
    const { res, json } = await create("{not json");
    expect(res.status).toBe(400);
    expect(json.error.code).toBe("invalid_json");
  });

  it("an empty body", async () => {
    const res = await app.request("/v1/video/create", { key, method: "POST" });
    const json = (await res.json()) as ErrorBody;
    expect(res.status).toBe(400);
    expect(json.error.message).toContain("JSON object");
  });

  it("a JSON array instead of an object", async () => {
    const { res, json } = await create([SEED_BODY]);
    expect(res.status).toBe(400);
    expect(json.error.message).toContain("JSON object");
  });

  it("a body over the size limit is refused with 413", async () => {
    const res0 = await app.request("/v1/video/remix", {
      key,
      body: { id: "x", prompt: "a".repeat(2 * 1024 * 1024) },
    });
    expect(res0.status).toBe(413);
    const { res, json } = await create({ ...SEED_BODY, prompt: "a".repeat(33 * 1024 * 1024) });
    expect(res.status).toBe(413);
    expect(json.error.code).toBe("payload_too_large");
  });

  it("inline data-URL images are stored for the provider; a bad one is 400 naming it and stores nothing", async () => {
    const png = TINY_PNG.toString("base64");
    const body = { ...SEED_BODY, images: ["https://example.com/a.png", `data:image/png;base64,${png}`] };
    const { res, json } = await create(body);
    expect(res.status).toBe(200);
    const task = await waitForTask(app, key, String(json.id));
    expect((task.detail as { input: { images: string[] } }).input.images).toEqual([
      "https://example.com/a.png",
    ]);
    expect(provider.requests.at(-1)?.imageKeys).toHaveLength(1);
    expect(provider.files.at(-1)?.imageFiles).toHaveLength(1);
    const bad = await create({
      ...SEED_BODY,
      images: [`data:image/png;base64,${png}`, "data:text/plain;base64,aGk="],
    });
    expect(bad.res.status).toBe(400);
    expect(bad.json.error.param).toBe("images[1]");
  });

  it("JSON sent without a JSON content type still parses (curl -d)", async () => {
    const res = await app.request("/v1/video/create", {
      key,
      body: JSON.stringify(SEED_BODY),
      headers: { "content-type": "application/x-www-form-urlencoded" },
    });
    expect(res.status).toBe(200);
  });

  it("nothing is stored for a refused request", async () => {
    const before = await app.container.services.queue.depth(Date.now());
    await create({ ...SEED_BODY, duration: 12 });
    const after = await app.container.services.queue.depth(Date.now());
    expect(after.queued + after.running).toBe(before.queued + before.running);
  });
});

describe("authentication and ownership", () => {
  it.each([
    ["no Authorization header", null, "missing_api_key"],
    ["an unknown key", "rl-not-a-real-key", "invalid_api_key"],
  ])("create with %s → 401", async (_n, k, code) => {
    const { res, json } = await create(SEED_BODY, k);
    expect(res.status).toBe(401);
    expect(res.headers.get("content-type")).toMatch(/^application\/json/);
    expect(json.error.code).toBe(code);
    expect(json.error.type).toBe("authentication_error");
  });

  it("a non-Bearer scheme → 401", async () => {
    const res = await app.request("/v1/video/create", {
      body: SEED_BODY,
      headers: { authorization: `Basic ${key}` },
    });
    expect(res.status).toBe(401);
  });

  it("auth is checked before the body: a bad key with a bad body is 401", async () => {
    const { res } = await create("{nope", "rl-wrong");
    expect(res.status).toBe(401);
  });

  it("query with no key or a bad key → 401", async () => {
    const { json } = await create(SEED_BODY);
    const id = encodeURIComponent(String(json.id));
    expect((await app.request(`/v1/video/query?id=${id}`)).status).toBe(401);
    expect((await app.request(`/v1/video/query?id=${id}`, { key: "rl-nope" })).status).toBe(401);
  });

  it("another owner's task is 404, exactly like a task that does not exist", async () => {
    const { json } = await create(SEED_BODY);
    const other = await app.newKey();
    const mine = await app.request(`/v1/video/query?id=${encodeURIComponent(String(json.id))}`, { key });
    expect(mine.status).toBe(200);
    const theirs = await app.request(`/v1/video/query?id=${encodeURIComponent(String(json.id))}`, {
      key: other,
    });
    expect(theirs.status).toBe(404);
    const missing = await app.request("/v1/video/query?id=sora-2:task_01k9009g8ef1esae6388chgcpx", { key });
    expect(missing.status).toBe(404);
    const a = (await theirs.json()) as ErrorBody;
    const b = (await missing.json()) as ErrorBody;
    expect(a.error.code).toBe("task_not_found");
    expect(b.error.code).toBe("task_not_found");
  });

  it("a second key of the same owner sees the owner's tasks", async () => {
    const k1 = await app.newKey("team-a");
    const k2 = await app.newKey("team-a");
    const { json } = await create(SEED_BODY, k1);
    const res = await app.request(`/v1/video/query?id=${encodeURIComponent(String(json.id))}`, { key: k2 });
    expect(res.status).toBe(200);
  });

  it("query needs an id that looks like one", async () => {
    const missing = await app.request("/v1/video/query", { key });
    expect(missing.status).toBe(400);
    expect(((await missing.json()) as ErrorBody).error.param).toBe("id");
    const bad = await app.request("/v1/video/query?id=12345", { key });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as ErrorBody).error.param).toBe("id");
    const extra = await app.request("/v1/video/query?id=sora-2:task_01k9009g8ef1esae6388chgcpx&x=1", { key });
    expect(((await extra.json()) as ErrorBody).error.param).toBe("x");
  });
});

describe("POST /admin/keys", () => {
  it("needs the admin token: none or wrong → 401, a user key → 403", async () => {
    for (const k of [null, "wrong-token-wrong-token"]) {
      const res = await app.request("/admin/keys", { key: k, body: {} });
      expect(res.status).toBe(401);
      expect(((await res.json()) as ErrorBody).error.code).toBe("invalid_admin_token");
    }
    const res = await app.request("/admin/keys", { key, body: {} });
    expect(res.status).toBe(403);
    expect(((await res.json()) as ErrorBody).error.code).toBe("admin_only");
  });

  it("returns the key once; a listing field shows only its prefix", async () => {
    const res = await app.request("/admin/keys", { key: app.adminToken, body: { name: "ci" } });
    expect(res.status).toBe(201);
    const body = (await res.json()) as { key: string; prefix: string; name: string; id: string };
    expect(body.key).toMatch(/^rl-[A-Za-z0-9_-]{43}$/);
    expect(body.key.startsWith(body.prefix)).toBe(true);
    expect(body.prefix.length).toBeLessThan(12);
    expect(body.name).toBe("ci");
  });

  it("refuses unknown fields", async () => {
    const res = await app.request("/admin/keys", { key: app.adminToken, body: { nmae: "x" } });
    expect(res.status).toBe(400);
    expect(((await res.json()) as ErrorBody).error.param).toBe("nmae");
  });
});

it("an unknown route is a JSON 404", async () => {
  const res = await app.request("/v1/nope", { key });
  expect(res.status).toBe(404);
  expect(res.headers.get("content-type")).toMatch(/^application\/json/);
});

it("/healthz and /readyz answer without a key", async () => {
  const h = await app.request("/healthz");
  expect(h.status).toBe(200);
  expect(await h.json()).toEqual({ status: "ok" });
  const r = await app.request("/readyz");
  expect(r.status).toBe(200);
  expect(await r.json()).toMatchObject({ status: "ready", queue: { dead: 0 } });
});
