/** API key lifecycle: expiry, allowed models, listing without secrets, revocation effective at once. */
import { afterAll, beforeAll, expect, it } from "vitest";
import { startTestApp, type TestApp } from "../helpers/app.js";
import { FakeProvider, SEED_BODY } from "../helpers/fake-provider.js";

let app: TestApp;
let offsetMs = 0;
beforeAll(async () => {
  app = await startTestApp({
    overrides: { provider: new FakeProvider(), clock: { now: () => Date.now() + offsetMs } },
  });
});
afterAll(() => app.close());

const admin = (path: string, init: { method?: string; body?: unknown } = {}) =>
  app.request(path, { key: app.adminToken, ...init });

async function mint(body: object) {
  const res = await admin("/admin/keys", { body });
  expect(res.status).toBe(201);
  return (await res.json()) as {
    id: string;
    key: string;
    allowed_models: string[] | null;
    expires_at: number | null;
  };
}

it("a revoked key is refused on its very next request; the listing never shows secrets", async () => {
  const k = await mint({ name: "ci", owner_id: "team-r" });
  expect((await app.request("/v1/videos", { key: k.key })).status).toBe(200);
  const revoked = await admin(`/admin/keys/${k.id}`, { method: "DELETE" });
  expect(await revoked.json()).toMatchObject({ id: k.id, revoked_at: expect.any(Number) });
  const res = await app.request("/v1/videos", { key: k.key });
  expect(res.status).toBe(401);
  expect(((await res.json()) as { error: { message: string } }).error.message).toContain("revoked");

  const list = (await (await admin("/admin/keys?owner_id=team-r")).json()) as {
    data: { id: string; revoked_at: number | null }[];
  };
  expect(list.data.map((x) => x.id)).toEqual([k.id]);
  expect(JSON.stringify(list)).not.toContain(k.key);
  expect((await admin("/admin/keys/key_missing", { method: "DELETE" })).status).toBe(404);
});

it("an expired key is refused", async () => {
  const k = await mint({ expires_at: Math.floor(Date.now() / 1000) + 60 });
  expect((await app.request("/v1/videos", { key: k.key })).status).toBe(200);
  offsetMs = 120_000;
  try {
    const res = await app.request("/v1/videos", { key: k.key });
    expect(res.status).toBe(401);
    expect(((await res.json()) as { error: { message: string } }).error.message).toContain("expired");
  } finally {
    offsetMs = 0;
  }
  const past = await admin("/admin/keys", { body: { expires_at: 1 } });
  expect(past.status).toBe(400);
  expect(((await past.json()) as { error: { param: string } }).error.param).toBe("expires_at");
});

it("a key limited to some models gets 403 model_not_allowed for others, with nothing stored", async () => {
  const k = await mint({ allowed_models: ["sora-2"] });
  const ok = await app.request("/v1/video/create", {
    key: k.key,
    body: { ...SEED_BODY, model: "sora-2", size: "small" },
  });
  expect(ok.status).toBe(200);
  const no = await app.request("/v1/video/create", { key: k.key, body: SEED_BODY });
  expect(no.status).toBe(403);
  expect(((await no.json()) as { error: { code: string; param: string } }).error).toMatchObject({
    code: "model_not_allowed",
    param: "model",
  });
  const unknown = await admin("/admin/keys", { body: { allowed_models: ["veo-9"] } });
  expect(unknown.status).toBe(400);
});

it("GET /v1/me names the calling key and its owner, never the secret", async () => {
  const k = await mint({ name: "studio laptop", owner_id: "team-me", allowed_models: ["sora-2"] });
  const other = await mint({ name: "phone", owner_id: "team-me" });
  const res = await app.request("/v1/me", { key: k.key });
  expect(res.status).toBe(200);
  const me = await res.json();
  expect(me).toMatchObject({
    object: "me",
    owner_id: "team-me",
    key: {
      id: k.id,
      name: "studio laptop",
      owner_id: "team-me",
      allowed_models: ["sora-2"],
      revoked_at: null,
    },
  });
  expect(JSON.stringify(me)).not.toContain(k.key);
  expect(
    ((await (await app.request("/v1/me", { key: other.key })).json()) as { key: { id: string } }).key.id,
  ).toBe(other.id);
  const bad = await app.request("/v1/me?x=1", { key: k.key });
  expect(bad.status).toBe(400);
  expect(((await bad.json()) as { error: { param: string } }).error.param).toBe("x");
});
