/** Per-key request rate and active-task limits: 429 with Retry-After, held in the shared store. */
import OpenAI from "openai";
import { afterAll, beforeAll, expect, it } from "vitest";
import { startTestApp, type TestApp } from "../helpers/app.js";
import { FakeProvider, SEED_BODY } from "../helpers/fake-provider.js";

let app: TestApp;
beforeAll(async () => {
  // Concurrency 0: tasks stay pending, so "active" counts are stable.
  app = await startTestApp({ overrides: { provider: new FakeProvider() }, engine: { concurrency: 0 } });
});
afterAll(() => app.close());

async function mint(body: object): Promise<string> {
  const res = await app.request("/admin/keys", { key: app.adminToken, body });
  return ((await res.json()) as { key: string }).key;
}

it("a key over its request rate gets 429 with Retry-After; others are unaffected", async () => {
  const slow = await mint({ rate_limit_per_min: 3 });
  const other = await mint({});
  const statuses: number[] = [];
  let retryAfter: string | null = null;
  for (let i = 0; i < 5; i++) {
    const res = await app.request("/v1/models", { key: slow });
    statuses.push(res.status);
    if (res.status === 429) {
      retryAfter = res.headers.get("retry-after");
      expect(((await res.json()) as { error: { code: string; type: string } }).error).toMatchObject({
        code: "rate_limited",
        type: "rate_limit_error",
      });
    } else await res.arrayBuffer();
  }
  expect(statuses).toEqual([200, 200, 200, 429, 429]);
  expect(Number(retryAfter)).toBeGreaterThanOrEqual(1);
  expect((await app.request("/v1/models", { key: other })).status).toBe(200);
  // The official client maps it to RateLimitError (retries off, to see it).
  const client = new OpenAI({ apiKey: slow, baseURL: `${app.url}/v1`, maxRetries: 0 });
  await expect(client.models.list()).rejects.toBeInstanceOf(OpenAI.RateLimitError);
});

it("an owner at its active-task limit gets 429; concurrent creates never pass the limit", async () => {
  const k = await mint({ max_active_tasks: 2 });
  const results = await Promise.all(
    Array.from({ length: 6 }, () => app.request("/v1/video/create", { key: k, body: SEED_BODY })),
  );
  const statuses = results.map((r) => r.status).sort();
  expect(statuses).toEqual([200, 200, 429, 429, 429, 429]);
  const refused = results.find((r) => r.status === 429);
  if (!refused) throw new Error("no refused create");
  expect(refused.headers.get("retry-after")).toBe("5");
  expect(((await refused.json()) as { error: { code: string } }).error.code).toBe("too_many_active_tasks");
  // Cancelling one frees a slot.
  const ok = (await results.find((r) => r.status === 200)?.json()) as { id: string };
  await app.request(`/v1/video/cancel?id=${encodeURIComponent(ok.id)}`, { key: k, method: "POST" });
  expect((await app.request("/v1/video/create", { key: k, body: SEED_BODY })).status).toBe(200);
});
