/**
 * `GET /v1/video/list`: the caller's tasks in the unified view, newest first, a page at a time,
 * filtered by status; and `/v1/models` carrying each model's capabilities (what the web UI offers).
 */
import { afterAll, beforeAll, expect, it } from "vitest";
import { startTestApp, type TestApp, waitForTask } from "../helpers/app.js";
import { FakeProvider } from "../helpers/fake-provider.js";

let app: TestApp;
let key: string;
let other: string;
const ids: string[] = [];

const body = (prompt: string) => ({
  model: "sora-2",
  prompt,
  orientation: "portrait",
  size: "small",
  duration: 10,
});

interface Page {
  data: { id: string; status: string; detail: { input: { prompt: string } } }[];
  first_id: string | null;
  last_id: string | null;
  has_more: boolean;
}
const list = async (query: string, k = key) => {
  const res = await app.request(`/v1/video/list${query}`, { key: k });
  return {
    status: res.status,
    json: (await res.json()) as Page & { error?: { code: string; param: string } },
  };
};

beforeAll(async () => {
  app = await startTestApp({ overrides: { provider: new FakeProvider(["ok", "ok", "ok", "hang"]) } });
  [key, other] = await Promise.all([app.newKey(), app.newKey()]);
  // One after another, each finished first: creation times differ, so the order is defined.
  for (const p of ["one", "two", "three"]) {
    const res = await app.request("/v1/video/create", { key, body: body(p) });
    const { id } = (await res.json()) as { id: string };
    ids.push(id);
    await waitForTask(app, key, id);
  }
  // The fourth render never ends on its own: it is cancelled.
  const running = await app.request("/v1/video/create", { key, body: body("four") });
  const id = ((await running.json()) as { id: string }).id;
  ids.push(id);
  await app.request(`/v1/video/cancel?id=${encodeURIComponent(id)}`, { key, method: "POST" });
  await waitForTask(app, key, id);
});
afterAll(() => app.close());

it("pages through the caller's tasks, newest first, in the query view", async () => {
  const first = await list("?limit=2");
  expect(first.status).toBe(200);
  expect(first.json.data.map((t) => t.id)).toEqual([ids[3], ids[2]]);
  expect(first.json).toMatchObject({ has_more: true, first_id: ids[3], last_id: ids[2] });
  expect(first.json.data[1]?.detail.input.prompt).toBe("three");
  const second = await list(`?limit=2&after=${encodeURIComponent(first.json.last_id ?? "")}`);
  expect(second.json.data.map((t) => t.id)).toEqual([ids[1], ids[0]]);
  expect(second.json.has_more).toBe(false);
});

it("filters by status", async () => {
  const done = await list("?status=completed");
  expect(done.json.data.map((t) => [t.id, t.status])).toEqual(
    [ids[2], ids[1], ids[0]].map((id) => [id, "completed"]),
  );
  const cancelled = await list("?status=cancelled");
  expect(cancelled.json.data.map((t) => [t.id, t.status])).toEqual([[ids[3], "cancelled"]]);
  const failed = await list("?status=failed");
  expect(failed.json.data).toEqual([]);
  expect(failed.json).toMatchObject({ has_more: false, first_id: null, last_id: null });
});

it("shows nothing of another owner's, and refuses their cursor", async () => {
  expect((await list("", other)).json.data).toEqual([]);
  const res = await list(`?after=${encodeURIComponent(ids[0] ?? "")}`, other);
  expect(res.status).toBe(400);
  expect(res.json.error?.param).toBe("after");
});

it("names the field at fault for a bad status or limit", async () => {
  const bad = await list("?status=done");
  expect(bad.status).toBe(400);
  expect(bad.json.error?.param).toBe("status");
  const big = await list("?limit=101");
  expect(big.status).toBe(400);
  expect(big.json.error?.param).toBe("limit");
});

it("lists each model with the sizes, durations and image count the unified create accepts", async () => {
  const res = await app.request("/v1/models", { key });
  const models = (await res.json()) as {
    data: { id: string; capabilities: { sizes: string[]; durations: number[]; max_images: number } }[];
  };
  const pro = models.data.find((m) => m.id === "sora-2-pro");
  expect(pro?.capabilities).toMatchObject({
    orientations: ["portrait", "landscape"],
    sizes: ["small", "large"],
    durations: [10, 15, 25],
    max_images: 4,
  });
  expect(models.data.find((m) => m.id === "sora-2")?.capabilities.sizes).toEqual(["small"]);
});
