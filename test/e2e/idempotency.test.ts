/** Idempotency-Key on create: retries return the same task, a different body under the key is 409. */
import OpenAI from "openai";
import { afterAll, beforeAll, expect, it } from "vitest";
import { startTestApp, type TestApp } from "../helpers/app.js";
import { FakeProvider, SEED_BODY } from "../helpers/fake-provider.js";

let app: TestApp;
let key: string;

beforeAll(async () => {
  app = await startTestApp({ overrides: { provider: new FakeProvider() } });
  key = await app.newKey();
});
afterAll(() => app.close());

const create = (body: object, idem: string, k = key) =>
  app.request("/v1/video/create", { key: k, body, headers: { "idempotency-key": idem } });

it("20 concurrent identical creates under one key make one task", async () => {
  const before = (await app.container.services.queue.depth(Date.now())).queued;
  const responses = await Promise.all(Array.from({ length: 20 }, () => create(SEED_BODY, "retry-1")));
  const bodies = await Promise.all(
    responses.map((r) => r.json() as Promise<{ id: string; status_update_time: number }>),
  );
  expect(responses.every((r) => r.status === 200)).toBe(true);
  expect(new Set(bodies.map((b) => b.id)).size).toBe(1);
  // The same response each time, as the first one gave it.
  expect(new Set(bodies.map((b) => b.status_update_time)).size).toBe(1);
  const all = await app.request("/v1/videos?limit=100", { key });
  const ids = ((await all.json()) as { data: { id: string }[] }).data.map((v) => v.id);
  expect(ids.filter((id) => id === bodies[0]?.id)).toHaveLength(1);
  expect(ids).toHaveLength(1);
  expect((await app.container.services.queue.depth(Date.now())).queued).toBeLessThanOrEqual(before + 1);
});

it("the same key with a different body is 409 idempotency_conflict, not retried by clients", async () => {
  await create(SEED_BODY, "retry-2");
  const res = await create({ ...SEED_BODY, prompt: "something else" }, "retry-2");
  expect(res.status).toBe(409);
  expect(res.headers.get("x-should-retry")).toBe("false");
  expect(((await res.json()) as { error: { code: string; param: string } }).error).toMatchObject({
    code: "idempotency_conflict",
    param: "Idempotency-Key",
  });
});

it("keys are per owner, and a bad key value is 400", async () => {
  const other = await app.newKey();
  const a = (await (await create(SEED_BODY, "shared")).json()) as { id: string };
  const b = (await (await create(SEED_BODY, "shared", other)).json()) as { id: string };
  expect(a.id).not.toBe(b.id);
  const bad = await create(SEED_BODY, "x".repeat(300));
  expect(bad.status).toBe(400);
});

it("the official client with an Idempotency-Key header: a retried create returns the same video", async () => {
  const client = new OpenAI({ apiKey: key, baseURL: `${app.url}/v1` });
  const first = await client.videos.create({ prompt: "once" }, { headers: { "Idempotency-Key": "sdk-1" } });
  const again = await client.videos.create({ prompt: "once" }, { headers: { "Idempotency-Key": "sdk-1" } });
  expect(again.id).toBe(first.id);
  await expect(
    client.videos.create({ prompt: "twice" }, { headers: { "Idempotency-Key": "sdk-1" } }),
  ).rejects.toBeInstanceOf(OpenAI.ConflictError);
});
